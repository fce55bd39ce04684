"""Pictures for ``zoo test --show-dir``: truth and prediction marked, the error drawn, names legible."""
from __future__ import annotations

from pathlib import Path

import numpy as np

TRUTH = (80, 220, 80)  # BGR green
PRED = (60, 60, 255)  # BGR red
ERROR = (0, 220, 255)  # BGR yellow


def draw_comparison(image: np.ndarray, truth, pred, symbols, visible=None) -> np.ndarray:
    """Draw on a copy of ``image`` (BGR or gray); sizes scale with the image so labels stay readable."""
    import cv2

    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    scale = max(canvas.shape[:2]) / 1000.0
    radius, thick = max(2, int(round(4 * scale))), max(1, int(round(2 * scale)))
    font = 0.45 * scale
    for k, symbol in enumerate(symbols):
        p = tuple(int(round(v)) for v in pred[k])
        if truth is not None and (visible is None or visible[k] > 0):
            t = tuple(int(round(v)) for v in truth[k])
            cv2.line(canvas, t, p, ERROR, thick, cv2.LINE_AA)
            cv2.circle(canvas, t, radius, TRUTH, -1, cv2.LINE_AA)
        cv2.circle(canvas, p, radius, PRED, thick, cv2.LINE_AA)
        org = (p[0] + radius + 2, p[1] - radius - 2)
        cv2.putText(canvas, symbol, org, cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(canvas, symbol, org, cv2.FONT_HERSHEY_SIMPLEX, font, (255, 255, 255), thick, cv2.LINE_AA)
    return canvas


def draw_comparisons(results: list[dict], symbols: list[str], out_dir) -> list[Path]:
    """One PNG per evaluated image (``results`` as kept by ``LandmarkMetric.last_predictions``)."""
    import cv2

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, r in enumerate(results):
        src = Path(r["img_path"])
        image = cv2.imdecode(np.fromfile(str(src), dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            continue
        canvas = draw_comparison(image, r["truth"], r["pred"], symbols, r.get("visible"))
        target = out_dir / f"{i:04d}_{src.stem}.png"
        cv2.imencode(".png", canvas)[1].tofile(str(target))
        written.append(target)
    return written
