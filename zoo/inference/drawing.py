"""Landmarks drawn on their image, for a person to check at a glance: the shared drawing of ``zoo predict
--show-dir`` and ``Prediction.plot()``. Low-confidence landmarks are yellow with a '?', never hidden; each
landmark's uncertainty radius is a thin circle; a suspect or rejected image says so across its top."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def draw_landmarks(raw: np.ndarray, entry: dict) -> np.ndarray:
    """A BGR uint8 copy of ``raw`` (any bit depth, gray or colour) with each landmark of a predictions-file entry
    marked and named; sizes follow the image so a 2400 px radiograph and a 500 px thumbnail both read."""
    import cv2

    from zoo.data.transforms.loading import to_uint8

    img = to_uint8(raw)
    canvas = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 or img.shape[2] == 1 else img[:, :, :3].copy()
    canvas = np.ascontiguousarray(canvas)
    scale = max(canvas.shape[:2]) / 1000.0
    radius, thick, font = max(2, round(4 * scale)), max(1, round(2 * scale)), 0.45 * scale
    for symbol, lm in entry["landmarks"].items():
        p = (int(round(lm["x"])), int(round(lm["y"])))
        colour = (0, 220, 255) if lm["low_confidence"] else (60, 60, 255)
        label = symbol + ("?" if lm["low_confidence"] else "")
        cv2.circle(canvas, p, radius, colour, thick, cv2.LINE_AA)
        if lm.get("uncertainty_px"):
            cv2.circle(canvas, p, max(radius, int(round(lm["uncertainty_px"]))), colour, 1, cv2.LINE_AA)
        org = (p[0] + radius + 2, p[1] - radius - 2)
        cv2.putText(canvas, label, org, cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(canvas, label, org, cv2.FONT_HERSHEY_SIMPLEX, font, colour, thick, cv2.LINE_AA)
    status = (entry.get("quality") or {}).get("status")
    if status in ("suspect", "reject"):
        banner = "REJECTED: not read as a cephalogram the model knows" if status == "reject" else "SUSPECT"
        org = (int(10 * scale) + 4, int(40 * scale) + 8)
        cv2.putText(canvas, banner, org, cv2.FONT_HERSHEY_SIMPLEX, 2 * font, (0, 0, 0), 2 * thick + 2, cv2.LINE_AA)
        cv2.putText(canvas, banner, org, cv2.FONT_HERSHEY_SIMPLEX, 2 * font, (0, 0, 255), 2 * thick, cv2.LINE_AA)
    return canvas


def write_png(canvas: np.ndarray, path) -> Path:
    """Encode with OpenCV and write bytes through pathlib (``cv2.imwrite`` cannot open non-ASCII paths on
    Windows); a failed encode raises rather than leave a file that looks like a drawing and is not one."""
    import cv2

    path = Path(path)
    ok, buf = cv2.imencode(".png", canvas)
    if not ok:
        raise OSError(f"OpenCV could not encode the drawing for {path} as PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return path
