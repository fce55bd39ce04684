"""``zoo analyze`` reads a batch run's JSONL results as it reads a predictions file."""
from __future__ import annotations

import json

import pytest

from zoo.clinical import ClinicalError, read_predictions


def entry(name: str, x: float) -> dict:
    return {"image": name, "landmark_set": "isbi2015", "landmarks": {"S": {"x": x, "y": 2.0}}}


def write_batch(path, records, tail: str = "") -> None:
    lines = [json.dumps({"kind": "batch", "version": 1, "key": "00", "model": {}})]
    lines += [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")


def test_the_latest_record_of_each_image_in_first_written_order_and_no_failures(tmp_path):
    out = tmp_path / "clinic run.jsonl"
    write_batch(out, [{"path_key": "a", "entry": entry("a.dcm", 1.0)},
                      {"path_key": "b", "image": "b.dcm", "error": "unreadable"},
                      {"path_key": "c", "entry": entry("c.png", 3.0)},
                      {"path_key": "a", "entry": entry("a.dcm", 5.0)}],  # a resumed run redid a.dcm
                tail='{"path_key": "d", "entry": {"ima')  # the crash that the resume follows cut this one short
    entries = read_predictions(out)
    assert [(e["image"], e["landmarks"]["S"]["x"]) for e in entries] == [("a.dcm", 5.0), ("c.png", 3.0)]


def test_a_damaged_line_in_the_middle_is_named(tmp_path):
    out = tmp_path / "r.jsonl"
    write_batch(out, [{"path_key": "a", "entry": entry("a.dcm", 1.0)}])
    out.write_text(out.read_text() + "{not json\n" + json.dumps({"path_key": "c", "entry": entry("c", 1.0)}) + "\n")
    with pytest.raises(ClinicalError, match=r"r\.jsonl:3: a damaged line in the middle"):
        read_predictions(out)


def test_zoo_analyze_reads_the_batch_file_zoo_predict_wrote(tmp_path, zoo_cli):
    out = tmp_path / "run.jsonl"
    write_batch(out, [{"path_key": "a", "entry": entry("a.png", 1.0)}])
    code, stdout, stderr = zoo_cli(["analyze", out, "--format", "json"])
    assert code == 0, stderr
    assert "a.png" in stdout and "missing landmarks" in stdout  # analysed: one landmark measures nothing
