"""``zoo predict``: the same landmarks from a checkpoint and its exports; bad files reported, the batch goes on."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest


def _predict(argv, capsys):
    from zoo.cli import main

    code = 0
    try:
        main(["predict", *map(str, argv)])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _coords(path) -> dict:
    data = json.loads(path.read_text())
    return {e["image"]: np.array([[v["x"], v["y"]] for v in e["landmarks"].values()]) for e in data["predictions"]}


def test_checkpoint_and_exports_agree(hrnet_ckpt, ruler_ckpt, exports, good_images, workdir, capsys):
    runs = {"ckpt": hrnet_ckpt, "onnx": exports["onnx"].path, "torchscript": exports["torchscript"].path}
    preds = {}
    for name, model in runs.items():
        out = workdir / f"preds {name}.json"
        trust = ["--trust"] if name == "torchscript" else []  # the test's own export: a program it trusts
        code, _, err = _predict([model, *good_images, "--out", out, *trust], capsys)
        assert code == 0, err
        preds[name] = _coords(out)
        data = json.loads(out.read_text())
        assert data["model"]["landmark_set"] == "isbi2015" and len(data["predictions"]) == 3
        entry = data["predictions"][0]
        assert entry["width"] == 200 and entry["height"] == 240 and entry["mm_per_pixel"] is None
        assert set(entry["landmarks"]["S"]) == {"x", "y", "confidence", "low_confidence"}
    # fp32 tolerance is 0.1 input px; these images are letterboxed 240 -> 64 px, so 0.375 original px
    scale = 240 / 64
    for name in ("onnx", "torchscript"):
        for image, xy in preds["ckpt"].items():
            assert np.abs(preds[name][image] - xy).max() < 0.1 * scale
    # int8: the ruler model, checkpoint vs its int8 file, within int8's tolerance (2 input px)
    ints = {}
    for name, model in (("ckpt", ruler_ckpt), ("int8", exports["onnx-int8"].path)):
        out = workdir / f"ruler {name}.json"
        assert _predict([model, *good_images, "--out", out], capsys)[0] == 0
        ints[name] = _coords(out)
    for image, xy in ints["ckpt"].items():
        assert np.hypot(*(ints["int8"][image] - xy).T).max() < 2.0 * scale


def test_bad_files_are_reported_and_the_batch_goes_on(exports, images, workdir, capsys):
    out = workdir / "mixed.json"
    order = ["notimage", "rgb0", "huge", "gray", "truncated", "deep16"]
    code, _, err = _predict([exports["onnx"].path, *[images[k] for k in order], workdir / "missing.jpg",
                             "--out", out], capsys)
    assert code == 1
    data = json.loads(out.read_text())
    done = [e["image"] for e in data["predictions"]]
    assert done == [str(images[k]) for k in ("rgb0", "gray", "deep16")]
    failed = {f["image"]: f["error"] for f in data["failed"]}
    assert "not a JPEG/PNG/BMP/TIFF image (it looks like JSON)" in failed[str(images["notimage"])]
    assert "50000x50000 = 2500 megapixels exceeds the cap" in failed[str(images["huge"])]
    assert "truncated JPEG" in failed[str(images["truncated"])]
    assert "image file not found" in failed[str(workdir / "missing.jpg")]
    for f, message in failed.items():
        assert message.startswith(f) and f"error: {message}" in err  # one line each, naming the file
    assert f"note: {images['gray']}: grayscale, replicated" in err
    assert f"note: {images['deep16']}: uint16 pixels (16-bit), rescaled to 8 bit" in err
    assert "4 of 7 image(s) failed" in err
    coords = _coords(out)
    assert all(xy.shape == (19, 2) and np.isfinite(xy).all() for xy in coords.values())


def test_oversized_against_a_lower_cap(exports, images, capsys):
    code, _, err = _predict([exports["onnx"].path, images["rgb0"], "--max-pixels", 10_000], capsys)
    assert code == 1 and "200x240 = 0 megapixels exceeds the cap" in err


def test_csv_ruler_mm_show_dir_and_analysis(ruler_ckpt, hrnet_ckpt, images, workdir, capsys):
    out = workdir / "ruler.csv"
    show = workdir / "show dir"
    code, _, err = _predict([ruler_ckpt, workdir / "imgs" / "case *.jpg", "--out", out, "--ruler-mm", 20,
                             "--show-dir", show, "--min-confidence", 0.0], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 and {r["landmark"] for r in rows} == {"p1", "p2"}
    p1, p2 = rows[0], rows[1]
    length_px = np.hypot(float(p1["x"]) - float(p2["x"]), float(p1["y"]) - float(p2["y"]))
    # the untrained ruler model puts p1 and p2 about a pixel apart: 20 mm over that is no cephalogram's scale,
    # so the ruler is named on stderr and not used (it once gave ~18 mm/px and mm columns to match)
    assert length_px < 2 and p1["mm_per_pixel_source"] == "" and p1["mm_per_pixel"] == p1["x_mm"] == ""
    assert f"warning: {workdir / 'imgs' / 'case 0.jpg'}: the ruler p1/p2 is not used (at its " in err
    assert err.count("the ruler p1/p2 is not used") == 3
    assert sorted(p.name for p in show.iterdir()) == ["case 0.png", "case 1.png", "case 2.png"]
    # a given spacing wins over the ruler; the entry keeps both pixel sizes and why the ruler was not used
    given = workdir / "given.json"
    code, _, err = _predict([ruler_ckpt, images["rgb0"], "--out", given, "--ruler-mm", 20,
                             "--spacing-mm", 1.0, "--min-confidence", 0.0], capsys)
    assert code == 0, err
    entry = json.loads(given.read_text())["predictions"][0]
    assert entry["mm_per_pixel"] == 1.0 and entry["mm_per_pixel_source"] == "given"
    ruler = entry["ruler"]
    assert ruler["used"] is False and ruler["mm_per_pixel"] == pytest.approx(20 / ruler["length_px"])
    assert entry["calibration"] == {"given": 1.0, "ruler": ruler["mm_per_pixel"], "used": "given",
                                    "disagreement": pytest.approx(ruler["mm_per_pixel"] - 1.0)}
    assert entry["landmarks"]["p1"]["x_mm"] == pytest.approx(entry["landmarks"]["p1"]["x"])
    assert f"warning: {images['rgb0']}: the given pixel size 1 mm/px and the ruler's" in err
    json_out = workdir / "analysis.json"
    code, _, err = _predict([hrnet_ckpt, images["rgb0"], "--spacing-mm", 0.1, "--analyze", "--out", json_out],
                            capsys)
    assert code == 0, err
    entry = json.loads(json_out.read_text())["predictions"][0]
    assert entry["mm_per_pixel"] == 0.1 and entry["mm_per_pixel_source"] == "given"
    rows = {r["key"]: r for r in entry["analysis"]["measurements"]}
    assert "SNA" in rows and (rows["SNA"]["value"] is not None or rows["SNA"]["reason"])


def test_onnx_sessions_let_their_workers_sleep_between_runs():
    """Spinning ORT workers hold a core after each run; on a 2-core machine they slowed the patch cutting
    between a two-stage model's graphs (projects/two_stage_isbi/scripts/two_stage_latency.py), so the zoo
    turns them off."""
    from zoo.inference.backends import ort_session_options

    assert ort_session_options(2).get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert ort_session_options(2, spinning=True).get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert ort_session_options(3).intra_op_num_threads == 3
