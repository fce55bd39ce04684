"""Batch runs over a clinic's folder: each result on disk as it comes, a crash loses nothing done before it, a
resume recomputes nothing, and a report per patient that names no patient."""
from __future__ import annotations

import json

import numpy as np
import pytest
from dicom_helpers import PATIENT, dataset, phi_in, write

from zoo.data.pixels import to_uint8


@pytest.fixture
def archive(synthetic_image, tmp_path):
    """Two patients' DICOM scans (two studies for the first), one PNG, and one broken file."""
    import cv2
    from pydicom.uid import generate_uid

    img, spacing = synthetic_image
    full = to_uint8(img.astype(np.float32))
    folder = tmp_path / "archive 2024"
    folder.mkdir()
    other = {"PatientName": "Panza^Sancho", "PatientID": "MRN777000111", "PatientBirthDate": "19550101"}
    first, second = generate_uid(), generate_uid()
    write(folder / "a1.dcm", dataset(full, study=first, PixelSpacing=[spacing] * 2))
    write(folder / "a2.dcm", dataset(np.ascontiguousarray(full[:, ::-1]), study=second, PixelSpacing=[spacing] * 2))
    write(folder / "b1.dcm", dataset(full, patient=other, PixelSpacing=[spacing] * 2))
    cv2.imwrite(str(folder / "c.png"), full)
    (folder / "d.dcm").write_bytes(b"not a scan")
    return folder


class Crash(BaseException):
    """What a killed run looks like to the loop: not an Exception, so nothing catches it."""


def test_a_crash_loses_nothing_and_resume_recomputes_nothing(tiny_model, archive, tmp_path, monkeypatch):
    from zoo.commands.predict import run_predict
    from zoo.inference.predictor import Predictor

    calls = []
    real = Predictor.predict

    def counted(self, image, name=None, **kwargs):
        calls.append(name)
        if len(calls) == 3 and crash:
            raise Crash("killed")
        return real(self, image, name=name, **kwargs)

    monkeypatch.setattr(Predictor, "predict", counted)
    out = tmp_path / "run" / "results.jsonl"
    crash = True
    with pytest.raises(Crash):
        run_predict(tiny_model, [archive], batch_out=out)
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["kind"] == "batch"  # the header and the two done before it
    done_before = [json.loads(line)["entry"]["image"] for line in lines[1:]]
    with out.open("a") as fh:  # the crash also cut a line short
        fh.write('{"path_key": "abc", "sha')
    with pytest.raises(Exception, match="add --resume"):
        run_predict(tiny_model, [archive], batch_out=out)
    crash, calls[:] = False, []
    progress = []
    result = run_predict(tiny_model, [archive], batch_out=out, resume=True, report_dir=tmp_path / "reports",
                         log=lambda kind, msg: progress.append((kind, msg)))
    assert result["skipped"] == 2 and len(calls) == 2  # b1 (where it crashed) and c; d.dcm fails before the model
    assert not set(calls) & set(done_before)
    assert len(result["predictions"]) == 4 and [f["image"] for f in result["failed"]] == [str(archive / "d.dcm")]
    assert sum(kind == "progress" for kind, _ in progress) == 5
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert len(records) == 5 and all("path_key" in r for r in records)  # the cut line is gone

    again = run_predict(tiny_model, [archive], batch_out=out, resume=True)
    assert again["skipped"] == 4 and len(calls) == 2  # only the broken file is tried again (and fails again)
    (archive / "c.png").write_bytes((archive / "c.png").read_bytes() + b"\0")  # changed since: predicted anew
    assert run_predict(tiny_model, [archive], batch_out=out, resume=True)["skipped"] == 3

    reports = sorted(p.name for p in (tmp_path / "reports").iterdir())
    patients = [n for n in reports if n.startswith("patient-") and n.endswith(".json")]
    assert len(patients) == 2 and sum(n.startswith("image-") and n.endswith(".json") for n in reports) == 2
    first = next(json.loads((tmp_path / "reports" / n).read_text()) for n in patients
                 if len(json.loads((tmp_path / "reports" / n).read_text())["images"]) == 2)
    assert len(first["studies"]) == 2 and first["grouped_by"].startswith("DICOM PatientID")
    everything = out.read_text() + "".join((tmp_path / "reports" / n).read_text() for n in reports) + " ".join(reports)
    assert not phi_in(everything) and "Panza" not in everything and "MRN777000111" not in everything
    assert PATIENT["PatientID"] not in everything


def test_resume_refuses_another_model_and_a_damaged_middle(tiny_model, ruler_model, archive, tmp_path):
    from zoo.commands.predict import run_predict
    from zoo.inference.batch import BatchError

    out = tmp_path / "r.jsonl"
    run_predict(tiny_model, [archive / "c.png"], batch_out=out)
    with pytest.raises(BatchError, match="written with another model"):
        run_predict(ruler_model, [archive / "c.png"], batch_out=out, resume=True)
    lines = out.read_text().splitlines()
    out.write_text("\n".join([lines[0], "{broken", lines[1]]) + "\n")
    with pytest.raises(BatchError, match=r"r.jsonl:2: a damaged line in the middle"):
        run_predict(tiny_model, [archive / "c.png"], batch_out=out, resume=True)


def test_cli_batch_shows_progress_and_writes_as_it_goes(tiny_model, archive, tmp_path, capsys):
    from zoo.cli import main

    out = tmp_path / "cli.jsonl"
    with pytest.raises(SystemExit) as info:  # d.dcm fails: exit 1, the rest written
        main(["predict", str(tiny_model), str(archive), "--out", str(out), "--report-dir", str(tmp_path / "rep")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "[1/5]" in err and "[5/5]" in err and "patient report(s)" in err
    assert len(out.read_text().splitlines()) == 6
    with pytest.raises(SystemExit):
        main(["predict", str(tiny_model), str(archive), "--out", str(out), "--resume"])
    assert "4 of them done before (skipped)" in capsys.readouterr().err
