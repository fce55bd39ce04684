"""Read the predictions file ``zoo predict --out`` writes, with errors that name the file and entry."""
from __future__ import annotations

import json
from pathlib import Path

from zoo.clinical.errors import ClinicalError


def read_predictions(path: str | Path) -> list[dict]:
    """The ``predictions`` list of a predictions file, each entry checked for an image and landmarks."""
    path = Path(path)
    if not path.is_file():
        raise ClinicalError(f"predictions file {str(path)!r} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
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
