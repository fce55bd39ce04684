"""Fixture data written into tmp folders (paths with spaces on purpose), and the real ISBI copy when present."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def isbi_root() -> Path:
    env = os.environ.get("ZOO_ISBI_ROOT")
    return Path(env) if env else (REPO / ".." / "shared" / "data" / "isbi2015").resolve()


@pytest.fixture
def real_isbi() -> Path:
    root = isbi_root()
    if not (root / "RawImage" / "TrainingData").is_dir():
        pytest.skip(f"ISBI 2015 data not found at {root} (set ZOO_ISBI_ROOT)")
    return root


def write_image(path: Path, hw=(60, 50), value=None, dot=None, ext=None) -> Path:
    """A small gray image; ``dot=(x, y)`` draws a bright Gaussian blob centred there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = hw
    img = np.full((h, w), 40 if value is None else value, np.uint8)
    if dot is not None:
        yy, xx = np.mgrid[0:h, 0:w]
        blob = 200 * np.exp(-((xx - dot[0]) ** 2 + (yy - dot[1]) ** 2) / (2 * 2.0 ** 2))
        img = np.clip(img + blob, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(ext or path.suffix, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def points(k: int, hw=(60, 50), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h, w = hw
    return np.column_stack([rng.integers(2, w - 2, k), rng.integers(2, h - 2, k)]).astype(float)


@pytest.fixture
def isbi_tree(tmp_path) -> Path:
    """ISBI layout with 3 train + 2 test1 images, senior and junior (junior = senior + 2 px in x)."""
    root = tmp_path / "isbi copy"
    for split, ids in (("TrainingData", (1, 2, 3)), ("Test1Data", (151, 152))):
        for i in ids:
            write_image(root / "RawImage" / split / f"{i:03d}.bmp")
            pts = points(19, seed=i)
            for who, dx in (("senior", 0), ("junior", 2)):
                lines = [f"{int(x + dx)},{int(y)}" for x, y in pts] + ["1", "3", "2", "1", "1", "2", "3", "1"]
                d = root / "AnnotationsByMD" / f"400_{who}"
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
    return root


AARIZ = ["A", "ANS", "B", "Me", "N", "Or", "Pog", "PNS", "Pn", "R", "S", "Ar", "Co", "Gn", "Go", "Po", "LPM",
         "LIT", "LMT", "UPM", "UIA", "UIT", "UMT", "LIA", "Li", "Ls", "N'", "Pog'", "Sn"]


def aariz_json(pts: np.ndarray, symbols=AARIZ) -> dict:
    return {"ceph_id": "x", "landmarks": [
        {"landmark_id": i + 1, "title": s, "symbol": s, "value": {"x": float(p[0]), "y": float(p[1])}}
        for i, (s, p) in enumerate(zip(symbols, pts))], "dataset_name": "Aariz"}


def ls_task(task_id, image_ref, labels: dict, hw=(60, 50)) -> dict:
    h, w = hw
    result = [{"original_width": w, "original_height": h, "type": "keypointlabels", "from_name": "kp",
               "to_name": "image", "value": {"x": x / w * 100, "y": y / h * 100, "width": 0.5,
                                              "keypointlabels": [label]}}
              for label, (x, y) in labels]
    return {"id": task_id, "data": {"image": image_ref}, "annotations": [{"id": 1, "result": result}]}


@pytest.fixture
def aariz_tree(tmp_path) -> Path:
    """Aariz layout: Train split, 3 images, senior + junior JSON, BOM mappings CSV."""
    root = tmp_path / "my data" / "Aariz"
    ann = root / "Train" / "Annotations" / "Cephalometric Landmarks"
    for i, name in enumerate(("case 1", "case2", "case3")):
        write_image(root / "Train" / "Cephalograms" / f"{name}.png")
        pts = points(29, seed=10 + i)
        for who, dy in (("Senior Orthodontists", 0.0), ("Junior Orthodontists", 1.0)):
            (ann / who).mkdir(parents=True, exist_ok=True)
            (ann / who / f"{name}.json").write_text(json.dumps(aariz_json(pts + [0, dy])))
    rows = ["cephalogram_id,machine,pixel_size,image_format,mode", "case 1,A,0.1,png,x", "case2,B,0.127,png,x",
            "case3,B,0.127,png,x"]
    (root / "cephalogram_machine_mappings.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    return root


def run_zoo(args, capsys):
    """Run the real ``zoo`` entry point (errors become 'error: ...' and exit 2 there); (code, stdout, stderr)."""
    from zoo.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err
