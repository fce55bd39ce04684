"""`zoo predict` says the verdict on every image, `ok` too, and with `--out` (the file holds the data) it still tells
the person running it, on stderr: silence read as "not checked" to the first users."""
from __future__ import annotations

import json

import pytest

from zoo.commands.predict import format_entry, quality_line


def _entry(status, reasons=()):
    entry = {"image": "a.jpg", "width": 10, "height": 10, "mm_per_pixel": None, "mm_per_pixel_source": None,
             "landmarks": {"S": {"x": 1.0, "y": 2.0, "confidence": 0.9, "low_confidence": False}}}
    if status is not None:
        entry["quality"] = {"status": status, "reasons": list(reasons)}
    return entry


@pytest.mark.parametrize("status, words", [
    ("ok", "quality: OK (the model reads it as a cephalogram like those it was calibrated on)"),
    ("suspect", "quality: SUSPECT (measure with care)"),
    ("reject", "quality: REJECT (nothing is measured from it)"),
    (None, "quality: UNCHECKED (the model carries no quality calibration)"),
])
def test_every_verdict_is_said_in_words(status, words):
    assert quality_line(_entry(status)) == words
    assert f"\n  {words}" in format_entry(_entry(status))


def test_isbi19_says_ok_on_a_clean_image_in_text_and_beside_out(isbi_data, tmp_path, zoo_cli, one_torch_thread):
    image = isbi_data / "RawImage" / "Test1Data" / "151.jpg"
    code, out, err = zoo_cli(["predict", "isbi19", image, "--threads", "1"])
    assert code == 0 and "\n  quality: OK (" in out, err
    target = tmp_path / "my preds.json"
    code, out, err = zoo_cli(["predict", "isbi19", image, "--threads", "1", "--out", target])
    assert code == 0 and f"{image}: quality: OK (" in err and out == ""
    assert json.loads(target.read_text())["predictions"][0]["quality"]["status"] == "ok"
