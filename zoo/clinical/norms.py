"""Population norms as data files, so a clinic can swap in the norms of its own patients.

A norms file (JSON or YAML) maps measurement keys to ``{"mean": m, "sd": s}`` (deviation is reported
in SDs) or ``{"low": a, "high": b}`` (a normal range, no SD). Built-in files live next to this module
in ``norms/``; ``load_norms('classic')`` reads one by name, ``load_norms(path)`` reads a user's file.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from zoo.clinical.errors import ClinicalError

BUILTIN_DIR = Path(__file__).resolve().parent / "norms"
DEFAULT = "classic"


@dataclass(frozen=True)
class Norm:
    """A mean and SD, or a normal range; ``deviation`` is in SDs and ``None`` for a range."""

    mean: float | None = None
    sd: float | None = None
    low: float | None = None
    high: float | None = None

    def deviation(self, value: float) -> float | None:
        return (value - self.mean) / self.sd if self.mean is not None else None

    def position(self, value: float) -> int:
        """-1 below the norm, 0 within it (within 1 SD, or inside the range), +1 above."""
        if self.mean is not None:
            d = self.deviation(value)
            return 0 if abs(d) <= 1.0 else (1 if d > 0 else -1)
        return 0 if self.low <= value <= self.high else (1 if value > self.high else -1)

    def to_dict(self) -> dict:
        if self.mean is not None:
            return {"mean": self.mean, "sd": self.sd}
        return {"low": self.low, "high": self.high}

    def __str__(self) -> str:
        return f"{self.mean:g} ± {self.sd:g}" if self.mean is not None else f"{self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class Norms:
    name: str
    norms: dict[str, Norm] = field(default_factory=dict)
    population: str = ""
    source: str = ""

    def get(self, key: str) -> Norm | None:
        return self.norms.get(key)


def builtin_norms() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.json"))


def _number(entry: dict, k: str, where: str) -> float:
    v = entry.get(k)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ClinicalError(f"{where}: {k!r} must be a finite number, got {v!r}")
    return float(v)


def _parse_entry(key: str, entry, where: str) -> Norm:
    where = f"{where}, norm {key!r}"
    if not isinstance(entry, dict):
        raise ClinicalError(f"{where}: expected {{'mean', 'sd'}} or {{'low', 'high'}}, got {entry!r}")
    if "mean" in entry or "sd" in entry:
        mean, sd = _number(entry, "mean", where), _number(entry, "sd", where)
        if sd <= 0:
            raise ClinicalError(f"{where}: 'sd' must be positive, got {sd}")
        return Norm(mean=mean, sd=sd)
    if "low" in entry or "high" in entry:
        low, high = _number(entry, "low", where), _number(entry, "high", where)
        if low > high:
            raise ClinicalError(f"{where}: 'low' ({low}) is above 'high' ({high})")
        return Norm(low=low, high=high)
    raise ClinicalError(f"{where}: expected keys 'mean' and 'sd', or 'low' and 'high'; got {sorted(entry)}")


def norms_from_dict(data, where: str = "norms") -> Norms:
    """Validate a parsed norms document (``{"name", "norms": {...}}`` or a bare ``{key: entry}``)."""
    if not isinstance(data, dict):
        raise ClinicalError(f"{where}: expected a mapping, got {type(data).__name__}")
    table = data["norms"] if "norms" in data else data
    if not isinstance(table, dict):
        raise ClinicalError(f"{where}: 'norms' must be a mapping of measurement keys")
    meta = {"name", "population", "source", "norms"} if "norms" in data else set()
    parsed = {k: _parse_entry(k, v, where) for k, v in table.items() if k not in meta}
    return Norms(name=str(data.get("name", where)), norms=parsed,
                 population=str(data.get("population", "")), source=str(data.get("source", "")))


def load_norms(source: str | Path | dict | Norms | None = None) -> Norms:
    """Norms by built-in name (``'classic'``), from a JSON/YAML file path, or from a parsed mapping."""
    if isinstance(source, Norms):
        return source
    if isinstance(source, dict):
        return norms_from_dict(source)
    if source is None:
        source = DEFAULT
    path = Path(source)
    if not path.is_file() and str(source) in builtin_norms():
        path = BUILTIN_DIR / f"{source}.json"
    if not path.is_file():
        raise ClinicalError(f"norms file {str(source)!r} not found (built-in norms: {', '.join(builtin_norms())})")
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # json and yaml raise different types; both mean the same thing here
        raise ClinicalError(f"norms file {path}: cannot parse: {exc}") from None
    norms = norms_from_dict(data, where=f"norms file {path}")
    if "name" not in data:
        norms = Norms(path.stem, norms.norms, norms.population, norms.source)
    return norms
