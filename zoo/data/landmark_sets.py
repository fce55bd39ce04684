"""Landmark sets are data (``landmark_sets/<name>.json``), not code, so a new set is a new file.

Symbols carry the meaning across sets: ``index_map`` pairs up the landmarks two sets share, which is
how a model of one set is fine-tuned on, or evaluated against, another set's common landmarks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import LandmarkSetError

SETS_DIR = Path(__file__).resolve().parent / "landmark_sets"


@dataclass(frozen=True)
class LandmarkSet:
    """An ordered list of landmarks: ``symbols`` (short, shared across sets) and ``names`` (for people)."""

    name: str
    symbols: list[str]
    names: list[str]
    flip_pairs: list[tuple[int, int]] = field(default_factory=list)
    description: str = ""
    aliases: dict[str, str] = field(default_factory=dict, repr=False)  # lower-case alias -> symbol

    def __len__(self) -> int:
        return len(self.symbols)

    def __iter__(self):
        return iter(self.symbols)

    def __contains__(self, symbol: str) -> bool:
        return self.lookup(symbol) is not None

    def index(self, symbol: str) -> int:
        """Position of ``symbol`` (or one of its aliases); raises naming the set's symbols."""
        found = self.lookup(symbol)
        if found is None:
            raise LandmarkSetError(
                f"landmark {symbol!r} is not in the landmark set {self.name!r} ({', '.join(self.symbols)})"
            )
        return found

    def lookup(self, label: str) -> int | None:
        """Index of a label as annotators write it: exact symbol, then case-insensitive symbol or alias."""
        if label in self.symbols:
            return self.symbols.index(label)
        key = str(label).strip().lower()
        for i, symbol in enumerate(self.symbols):
            if symbol.lower() == key:
                return i
        symbol = self.aliases.get(key)
        return self.symbols.index(symbol) if symbol is not None else None

    def index_map(self, other: "LandmarkSet | str") -> list[tuple[int, int]]:
        """``(i_self, i_other)`` for every symbol both sets share, in this set's order."""
        other = get_landmark_set(other) if isinstance(other, str) else other
        pairs = []
        for i, symbol in enumerate(self.symbols):
            j = other.lookup(symbol)
            if j is not None:
                pairs.append((i, j))
        return pairs

    def to_dict(self) -> dict:
        """What checkpoints and metainfo store: enough to rebuild the set without this package's files."""
        return {"name": self.name, "symbols": list(self.symbols), "names": list(self.names),
                "flip_pairs": [list(p) for p in self.flip_pairs]}


def _parse(doc: dict, source: Path) -> LandmarkSet:
    try:
        landmarks = doc["landmarks"]
        symbols = [str(lm["symbol"]) for lm in landmarks]
        names = [str(lm.get("name", lm["symbol"])) for lm in landmarks]
    except (KeyError, TypeError) as exc:
        raise LandmarkSetError(f"{source}: a landmark set needs 'landmarks': [{{'symbol', 'name'}}...] ({exc})")
    if len(set(symbols)) != len(symbols):
        raise LandmarkSetError(f"{source}: duplicate symbols in landmark set")
    aliases = {}
    for lm in landmarks:
        for alias in [lm.get("name", "")] + list(lm.get("aliases", [])):
            if alias:
                aliases.setdefault(str(alias).strip().lower(), str(lm["symbol"]))
    flip = [tuple(int(i) for i in p) for p in doc.get("flip_pairs", [])]
    return LandmarkSet(name=str(doc.get("name", source.stem)), symbols=symbols, names=names, flip_pairs=flip,
                       description=str(doc.get("description", "")), aliases=aliases)


def flip_order(count: int, pairs) -> list[int]:
    """After a left-right mirror, landmark ``i`` takes the value of landmark ``flip_order(...)[i]``: the two
    landmarks of each pair trade places, every other one stays itself. The flip-training transform and flip
    testing both read the mirror through this, so they cannot disagree on the convention."""
    order = list(range(int(count)))
    for a, b in pairs:
        order[a], order[b] = b, a
    return order


@lru_cache(maxsize=None)
def _load(path: str) -> LandmarkSet:
    source = Path(path)
    try:
        doc = json.loads(source.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise LandmarkSetError(f"{source}: not valid JSON ({exc})") from None
    return _parse(doc, source)


def list_landmark_sets() -> list[str]:
    """Names of the built-in sets (the JSON files beside this module)."""
    return sorted(p.stem for p in SETS_DIR.glob("*.json"))


def get_landmark_set(name: "str | LandmarkSet | dict") -> LandmarkSet:
    """A built-in set by name, a JSON file by path, or a set from a dict (as stored in a checkpoint)."""
    if isinstance(name, LandmarkSet):
        return name
    if isinstance(name, dict):
        if "landmarks" not in name:  # the to_dict() form
            name = {"name": name.get("name", "custom"), "flip_pairs": name.get("flip_pairs", []),
                    "landmarks": [{"symbol": s, "name": n} for s, n in
                                  zip(name["symbols"], name.get("names", name["symbols"]))]}
        return _parse(name, Path(str(name.get("name", "custom"))))
    builtin = SETS_DIR / f"{name}.json"
    if builtin.is_file():
        return _load(str(builtin))
    path = Path(str(name)).expanduser()
    if path.suffix.lower() == ".json" and path.is_file():
        return _load(str(path.resolve()))
    import difflib

    close = difflib.get_close_matches(str(name), list_landmark_sets(), n=2)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise LandmarkSetError(
        f"unknown landmark set {name!r}.{hint} Built-in: {', '.join(list_landmark_sets())}; "
        "or give the path of a JSON file like zoo/data/landmark_sets/isbi2015.json."
    )


def is_known_symbol(label: str) -> bool:
    """Whether any built-in set knows ``label``: tells a typo from a landmark of another set."""
    return any(get_landmark_set(n).lookup(label) is not None for n in list_landmark_sets())
