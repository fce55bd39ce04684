"""The named models: ``index.json``, collected from the configs' metafiles by ``tools/model_index.py``.

The index ships inside the package (configs/ does not when the zoo is installed from a wheel), so ``zoo models``,
``zoo predict NAME`` and ``zoo.load(NAME)`` work wherever the zoo is installed. Each entry says where its weights
come from and their sha256: a name always means the same bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from zoo.registry import ZooError
from zoo.registry._errors import suggest

INDEX_FILE = Path(__file__).with_name("index.json")
SHIPPED_DIR = Path(__file__).with_name("weights")


class ModelIndexError(ZooError):
    """A model name is unknown, or the index itself is broken."""


@dataclass(frozen=True)
class ModelEntry:
    """One named model: what it detects, how it was trained and scored, and where its weights are."""

    name: str
    config: str
    landmark_set: str
    num_landmarks: int
    training_data: str
    file: str
    sha256: str
    size_bytes: int
    shipped: bool = False
    url: str | None = None
    description: str = ""
    training: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    latency: dict = field(default_factory=dict)

    @property
    def shipped_path(self) -> Path | None:
        return SHIPPED_DIR / self.file if self.shipped else None

    @classmethod
    def from_dict(cls, data: dict, where: str) -> ModelEntry:
        required = ("name", "config", "landmark_set", "num_landmarks", "training_data", "file", "sha256",
                    "size_bytes")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelIndexError(f"{where}: model entry {data.get('name', '?')!r} lacks {', '.join(missing)}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelIndexError(f"{where}: model entry {data['name']!r} has unknown keys {unknown}")
        entry = cls(**data)
        if Path(entry.file).name != entry.file:
            raise ModelIndexError(f"{where}: model {entry.name!r}: file must be a bare file name, got {entry.file!r}")
        if not entry.shipped and not entry.url:
            raise ModelIndexError(f"{where}: model {entry.name!r} is neither shipped nor downloadable (no url)")
        return entry


@cache
def _load(path: str) -> tuple[ModelEntry, ...]:
    where = Path(path)
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelIndexError(f"cannot read the model index {where}: {exc}") from None
    return tuple(ModelEntry.from_dict(item, str(where)) for item in data.get("models", []))


def model_entries(index_file=None) -> list[ModelEntry]:
    """Every named model, in index order (best first within a landmark set)."""
    return list(_load(str(index_file or INDEX_FILE)))


def model_names(index_file=None) -> list[str]:
    return [e.name for e in model_entries(index_file)]


def get_entry(name: str, index_file=None) -> ModelEntry:
    for entry in model_entries(index_file):
        if entry.name == name:
            return entry
    names = model_names(index_file)
    close = suggest(name, names)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ModelIndexError(f"no named model {name!r}{hint} (named models: {', '.join(names) or 'none'}; "
                          f"`zoo models` lists them)")
