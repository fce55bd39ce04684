"""Read the predictions file ``zoo predict --out`` writes, or the JSONL results of a batch run (``zoo predict
--out results.jsonl``), with errors that name the file and entry."""
from __future__ import annotations

import json
from pathlib import Path

from zoo.clinical.errors import ClinicalError


def _batch_entries(path: Path, text: str) -> list | None:
    """The entries of a batch run's JSONL file (its first line a ``{"kind": "batch"}`` header), the latest record of
    each image, in the order they were first written; images that failed have no entry. None for any other file."""
    first, _, rest = text.partition("\n")
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict) or header.get("kind") != "batch":
        return None
    latest: dict = {}
    lines = rest.split("\n")
    for number, line in enumerate(lines, 2):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(lines) + 1:  # a crash may cut the last line short: the run resumes from there
                continue
            raise ClinicalError(f"batch file {path}:{number}: a damaged line in the middle of the file") from None
        if isinstance(record, dict):
            latest[record.get("path_key") or f"line {number}"] = record
    return [r["entry"] for r in latest.values() if isinstance(r.get("entry"), dict)]


def read_predictions(path: str | Path) -> list[dict]:
    """The ``predictions`` list of a predictions file (or a batch run's JSONL results), each entry checked for an
    image and landmarks."""
    path = Path(path)
    if not path.is_file():
        raise ClinicalError(f"predictions file {str(path)!r} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
        batch = _batch_entries(path, text)
        data = {"predictions": batch} if batch is not None else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClinicalError(f"predictions file {path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, a 5000-digit number, nesting past the stack
        raise ClinicalError(f"predictions file {path}: not readable JSON ({exc})") from None
    preds = data.get("predictions") if isinstance(data, dict) else None
    if not isinstance(preds, list):
        raise ClinicalError(f"predictions file {path}: expected an object with a 'predictions' list")
    for i, entry in enumerate(preds):
        where = f"predictions file {path}, entry {i}"
        if not isinstance(entry, dict):
            raise ClinicalError(f"{where}: expected an object, got {type(entry).__name__}")
        if not isinstance(entry.get("landmarks"), dict):
            raise ClinicalError(f"{where}: missing the 'landmarks' mapping")
        for sym, v in entry["landmarks"].items():
            if not (isinstance(v, dict) and "x" in v and "y" in v) and not isinstance(v, (list, tuple)):
                raise ClinicalError(f"{where}, landmark {sym!r}: expected {{'x', 'y', ...}}, got {v!r}")
    return preds
