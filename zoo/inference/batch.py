"""Batch runs over a clinic's folder: results written as they come, a run that resumes, a report per patient.

A clinic predicting 2,000 scans must not wait for the end to see anything, nor start again when image 1,500
crashes the run (a power cut, a killed job). So every result is one line of a JSONL file, written, flushed and
fsynced before the next image starts; a run with ``resume`` reads the file back and skips every image already
predicted, matched by its path and the SHA-256 of its bytes (a file replaced since is predicted again). A line
cut short by a crash is dropped, never parsed; failed images are tried again.

The file's first line holds the run's key: a random secret from which a patient's group name is made
(HMAC-SHA256 of the DICOM PatientID), so the reports can be grouped by patient without the ID anywhere: neither
in the file, nor in a report's name or contents. Without a PatientID a study (StudyInstanceUID) is its own group,
and an image that is no DICOM file is a group alone. Paths are kept as keyed hashes too, beside the image's label
(which :meth:`zoo.data.dicom.DicomHeader.label` already keeps free of patient data).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from zoo.registry import ZooError

#: the layout of the batch file, in its first line
BATCH_VERSION = 1


class BatchError(ZooError):
    """A batch file that cannot be resumed (another layout, another model, damaged in the middle)."""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class BatchFile:
    """The JSONL results of one batch run: a header line, then one record per image (``entry`` or ``error``).

    Open with :meth:`open`; :meth:`done` says whether an image was predicted before, :meth:`write` appends a
    record durably, :meth:`records` gives the latest record of every image."""

    path: Path
    key: bytes
    model: dict
    _records: dict = field(default_factory=dict)  # path key -> latest record
    _fh: object = None

    @classmethod
    def open(cls, path, model: dict, resume: bool = False) -> BatchFile:
        """A new batch file at ``path``, or with ``resume`` the existing one read back (its last line dropped when a
        crash cut it short). Without ``resume`` an existing file is refused: a finished run is never overwritten
        by accident."""
        path = Path(path)
        if path.exists() and not resume:
            raise BatchError(f"{path} exists: add --resume to go on with that run (images already done are "
                             "skipped), or give another --out")
        if resume and path.exists():
            batch = cls._read(path, model)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            batch = cls(path, secrets.token_bytes(32), model)
            header = {"kind": "batch", "version": BATCH_VERSION, "key": batch.key.hex(), "model": _model_id(model)}
            with path.open("w", encoding="utf-8") as fh:
                _write_line(fh, header)
        batch._fh = path.open("a", encoding="utf-8")
        return batch

    @classmethod
    def _read(cls, path: Path, model: dict) -> BatchFile:
        raw = path.read_bytes()
        complete = raw[:raw.rfind(b"\n") + 1]
        if len(complete) < len(raw):  # the crash cut the last line: drop it so the next record starts clean
            with path.open("r+b") as fh:
                fh.truncate(len(complete))
        lines = complete.decode("utf-8", "replace").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("kind") != "batch":
            raise BatchError(f"{path}: not a zoo batch file (its first line is no batch header); give another --out")
        if header.get("version") != BATCH_VERSION:
            raise BatchError(f"{path}: a batch file of layout {header.get('version')!r}, this zoo writes "
                             f"{BATCH_VERSION}; start a new run with another --out")
        if header.get("model") != _model_id(model):
            raise BatchError(f"{path}: written with another model ({header.get('model')}); resuming with "
                             f"{_model_id(model)} would mix two models' landmarks: give another --out")
        batch = cls(path, bytes.fromhex(header["key"]), model)
        for number, line in enumerate(lines[1:], 2):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                raise BatchError(f"{path}:{number}: a damaged line in the middle of the file (only the last line "
                                 "of a crashed run may be cut short); give another --out") from None
            if isinstance(record, dict) and record.get("path_key"):
                batch._records[record["path_key"]] = record
        return batch

    def path_key(self, path) -> str:
        """A keyed hash of the image's absolute path: matches a file again on resume without storing its path."""
        return hmac.new(self.key, str(Path(path).resolve()).encode("utf-8", "surrogatepass"),
                        hashlib.sha256).hexdigest()[:32]

    def group(self, header, digest: str) -> str:
        return group_of(self.key, header, digest)

    def done(self, path, digest: str) -> dict | None:
        """The earlier record of this image when it was predicted from these same bytes, else None."""
        record = self._records.get(self.path_key(path))
        return record if record and record.get("sha256") == digest and "entry" in record else None

    def write(self, path, digest: str | None, header=None, entry: dict | None = None,
              error: str | None = None) -> dict:
        """Append the record of one image and make it durable (flush and fsync) before returning."""
        record = {"path_key": self.path_key(path), "sha256": digest,
                  "group": self.group(header, digest or self.path_key(path))}
        record.update({"entry": entry} if entry is not None else {"image": _label(path, header), "error": error})
        _write_line(self._fh, record)
        self._records[record["path_key"]] = record
        return record

    def record_of(self, path) -> dict | None:
        return self._records.get(self.path_key(path))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def group_of(key: bytes, header, digest: str) -> str:
    """The patient group of an image: a keyed hash of its DICOM PatientID, else of its study, else the image
    itself (its content hash)."""
    patient = getattr(header, "patient_id", None)
    if patient:
        return "patient-" + hmac.new(key, patient.encode(), hashlib.sha256).hexdigest()[:16]
    study = getattr(header, "study_uid", None)
    if study:
        return "study-" + hmac.new(key, study.encode(), hashlib.sha256).hexdigest()[:16]
    return "image-" + digest[:16]


def _label(path, header) -> str:
    return header.label(path) if header is not None else str(path)


def _model_id(model: dict) -> dict:
    """What must not change between a run and its resume: the model file and its landmarks."""
    return {"source": model.get("source"), "landmark_set": model.get("landmark_set"),
            "landmarks": list(model.get("landmarks") or [])}


def _write_line(fh, record: dict) -> None:
    fh.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    fh.flush()
    os.fsync(fh.fileno())


# -- the report per patient ------------------------------------------------------------------------------------
def write_reports(records: list[dict], out_dir, analyze: bool = False, ruler_mm: float | None = None) -> list[Path]:
    """One report per patient group (``<group>.json`` and ``<group>.md``) from a batch's records: the images
    and studies, each image's pixel size and its source, the quality verdict, the warnings, the failures, and
    with ``analyze`` the cephalometric measurements. Names and contents carry no patient data."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["group"], []).append(record)
    written = []
    for group, members in sorted(groups.items()):
        report = _report(group, members)
        json_path = out_dir / f"{group}.json"
        json_path.write_text(json.dumps(report, indent=2, allow_nan=False), encoding="utf-8")
        md_path = out_dir / f"{group}.md"
        md_path.write_text(_markdown(report, members, analyze, ruler_mm), encoding="utf-8")
        written += [json_path, md_path]
    return written


def _grouped_by(group: str) -> str:
    return {"patient": "DICOM PatientID (keyed hash, never the ID)", "study": "DICOM StudyInstanceUID",
            "image": "the image alone (no DICOM patient or study)"}[group.split("-", 1)[0]]


def _report(group: str, members: list[dict]) -> dict:
    images, failed, studies = [], [], []
    for record in members:
        if "entry" not in record:
            failed.append({"image": record.get("image"), "error": record.get("error")})
            continue
        entry = record["entry"]
        dicom = entry.get("dicom") or {}
        if dicom.get("study_instance_uid") and dicom["study_instance_uid"] not in studies:
            studies.append(dicom["study_instance_uid"])
        images.append({
            "image": entry["image"], "study_instance_uid": dicom.get("study_instance_uid"),
            "sop_instance_uid": dicom.get("sop_instance_uid"), "width": entry["width"], "height": entry["height"],
            "mm_per_pixel": entry.get("mm_per_pixel"), "mm_per_pixel_source": entry.get("mm_per_pixel_source"),
            "quality": (entry.get("quality") or {}).get("status"), "warnings": entry.get("warnings", []),
            "low_confidence": [s for s, lm in entry["landmarks"].items() if lm.get("low_confidence")],
            "landmarks": entry["landmarks"], "analysis": entry.get("analysis")})
    return {"group": group, "grouped_by": _grouped_by(group), "studies": studies, "images": images,
            "failed": failed}


def _markdown(report: dict, members: list[dict], analyze: bool, ruler_mm: float | None) -> str:
    lines = [f"# Report {report['group']}", "", f"Grouped by {report['grouped_by']}; "
             f"{len(report['images'])} image(s) predicted, {len(report['failed'])} failed; "
             f"{len(report['studies'])} DICOM study(ies).", ""]
    if report["images"]:
        lines += ["| image | study | mm/px (source) | quality | low confidence | warnings |",
                  "|---|---|---|---|---|---|"]
        for im in report["images"]:
            scale = (f"{im['mm_per_pixel']:.4g} ({im['mm_per_pixel_source']})" if im["mm_per_pixel"]
                     else "unknown")
            lines.append(f"| {im['image']} | {im['study_instance_uid'] or '-'} | {scale} | {im['quality'] or '-'} | "
                         f"{', '.join(im['low_confidence']) or '-'} | {len(im['warnings'])} |")
    for im in report["images"]:
        if im["warnings"]:
            lines += ["", f"Warnings for {im['image']}:", ""] + [f"- {w}" for w in im["warnings"]]
    if analyze:
        from zoo.clinical import ClinicalError, analyze_prediction

        for record in members:
            if "entry" not in record:
                continue
            try:
                table = analyze_prediction(record["entry"], ruler_mm=ruler_mm, where=record["entry"]["image"])
                lines += ["", f"## {record['entry']['image']}", "", table.to_markdown()]
            except (ClinicalError, ArithmeticError, ValueError) as exc:
                lines += ["", f"## {record['entry']['image']}", "", f"measurements unavailable ({exc})"]
    if report["failed"]:
        lines += ["", "## Failed", ""] + [f"- {f['image']}: {f['error']}" for f in report["failed"]]
    return "\n".join(lines) + "\n"
