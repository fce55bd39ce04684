"""Landmark sets are data (``landmark_sets/<name>.json``), not code, so a new set is a new file.

Symbols carry the meaning across sets: ``index_map`` pairs up the landmarks two sets share, which is
how a model of one set is fine-tuned on, or evaluated against, another set's common landmarks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
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
    #: the user's own label names (lower case) -> symbol, or None for a label to leave out; see with_label_map
    label_map: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

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
        """Index of a label as annotators write it: the user's label map first (their files, their words),
        then the exact symbol, then a case-insensitive symbol or alias of this set, then a name a built-in set
        gives the same symbol (so a set written by hand, with symbols only, still reads "Sella" as S)."""
        key = str(label).strip().lower()
        if key in self.label_map:
            target = self.label_map[key]
            return None if target is None else self.symbols.index(target)
        if label in self.symbols:
            return self.symbols.index(label)
        for i, symbol in enumerate(self.symbols):
            if symbol.lower() == key:
                return i
        symbol = self.aliases.get(key) or _shared_names().get(key)
        return self.symbols.index(symbol) if symbol in self.symbols else None

    def ignores(self, label: str) -> bool:
        """Whether the label map says to leave this label out (an extra landmark the user does not want)."""
        key = str(label).strip().lower()
        return key in self.label_map and self.label_map[key] is None

    def with_label_map(self, label_map: dict | list | None) -> LandmarkSet:
        """This set reading files whose labels have other names: ``{'Sella': 'S', 'Ruler': None}``.

        A target may be a symbol or any name the set already accepts; None (or '') leaves the label out.
        The set itself is unchanged (same name, symbols, ``to_dict``): a model never learns what the
        annotators called a landmark, only which landmark it was. The map may also be a list of
        ``[label, symbol]`` pairs: the form a checkpoint can carry when a label holds a space or a quote
        (``'Soft pogonion'``), since a stored config's keys must be identifiers.
        """
        if not label_map:
            return self
        if isinstance(label_map, (list, tuple)):
            if not all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in label_map):
                raise LandmarkSetError("label_map as a list holds [file label, symbol] pairs, e.g. "
                                       "[['Soft pogonion', \"Pog'\"], ['Ruler top', None]]")
            items = [(pair[0], pair[1]) for pair in label_map]
        elif isinstance(label_map, dict):
            items = list(label_map.items())
        else:
            raise LandmarkSetError("label_map must be a mapping {file label: symbol} or a list of [label, symbol] "
                                   f"pairs, got {type(label_map).__name__}")
        resolved: dict[str, str | None] = {}
        for label, target in items:
            key = str(label).strip().lower()
            if not key:
                raise LandmarkSetError(f"label_map: an empty label (mapped to {target!r})")
            if key in resolved:
                raise LandmarkSetError(f"label_map: {label!r} is given twice (labels match without regard to case)")
            if target is None or str(target).strip() == "":
                resolved[key] = None
                continue
            i = self.lookup(str(target).strip())
            if i is None:
                import difflib

                close = difflib.get_close_matches(str(target), self.symbols, n=2)
                hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                raise LandmarkSetError(f"label_map: {label!r} -> {target!r}, but {target!r} is not a landmark of "
                                       f"{self.name!r}.{hint} Symbols: {', '.join(self.symbols)}")
            resolved[key] = self.symbols[i]
        return replace(self, label_map={**self.label_map, **resolved})

    def index_map(self, other: LandmarkSet | str) -> list[tuple[int, int]]:
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


SCHEMA = ('{"name": "my_set", "landmarks": [{"symbol": "S", "name": "Sella", "aliases": ["sella turcica"]}, ...], '
          '"flip_pairs": []}')


def _parse(doc: dict, source: Path) -> LandmarkSet:
    """A set from its JSON document; a user writes these by hand, so each mistake is named with the schema."""
    def bad(what: str) -> LandmarkSetError:
        return LandmarkSetError(f"{source}: {what}. A landmark set file looks like {SCHEMA}")

    if not isinstance(doc, dict):
        raise bad(f"the file holds a {type(doc).__name__}, not an object")
    landmarks = doc.get("landmarks")
    if not isinstance(landmarks, list) or not landmarks:
        raise bad("'landmarks' must be a non-empty list")
    symbols, names = [], []
    for n, lm in enumerate(landmarks):
        symbol = lm.get("symbol") if isinstance(lm, dict) else None
        if not isinstance(symbol, str) or not symbol.strip():
            raise bad(f"landmark {n + 1} has no 'symbol' (a short name such as \"S\")")
        if not isinstance(lm.get("aliases", []), list):
            raise bad(f"landmark {symbol!r}: 'aliases' must be a list of names")
        symbols.append(symbol.strip())
        names.append(str(lm.get("name") or symbol).strip())
    repeated = sorted({s for s in symbols if symbols.count(s) > 1})
    if repeated:
        raise bad(f"symbol(s) {', '.join(repeated)} appear more than once")
    aliases = {}
    for symbol, lm in zip(symbols, landmarks):
        for alias in [lm.get("name", "")] + list(lm.get("aliases", [])):
            if alias:
                aliases.setdefault(str(alias).strip().lower(), symbol)
    try:
        flip = [tuple(int(i) for i in p) for p in doc.get("flip_pairs") or []]
    except (TypeError, ValueError):
        raise bad("'flip_pairs' must be a list of [i, j] landmark index pairs") from None
    for pair in flip:
        if len(pair) != 2 or not all(0 <= i < len(symbols) for i in pair):
            raise bad(f"flip pair {list(pair)} is not two indices in 0..{len(symbols) - 1}")
    return LandmarkSet(name=str(doc.get("name") or source.stem), symbols=symbols, names=names, flip_pairs=flip,
                       description=str(doc.get("description", "")), aliases=aliases)


def flip_order(count: int, pairs) -> list[int]:
    """After a left-right mirror, landmark ``i`` takes the value of landmark ``flip_order(...)[i]``: the two
    landmarks of each pair trade places, every other one stays itself. The flip-training transform and flip
    testing both read the mirror through this, so they cannot disagree on the convention."""
    order = list(range(int(count)))
    for a, b in pairs:
        order[a], order[b] = b, a
    return order


@cache
def _load(path: str) -> LandmarkSet:
    source = Path(path)
    try:
        doc = json.loads(source.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8
        raise LandmarkSetError(f"{source}: not a valid UTF-8 JSON landmark set ({exc})") from None
    except OSError as exc:
        raise LandmarkSetError(f"{source}: cannot read the landmark set file ({exc.strerror or exc})") from None
    return _parse(doc, source)


@lru_cache(maxsize=1)
def _shared_names() -> dict[str, str]:
    """Every name a built-in set gives a symbol (lower case) -> that symbol, since symbols mean the same landmark
    in every set; a name two built-in sets give different symbols is left out."""
    names: dict[str, str] = {}
    clashes: set[str] = set()
    for path in sorted(SETS_DIR.glob("*.json")):
        lset = _load(str(path))
        for name, symbol in [(s.lower(), s) for s in lset.symbols] + list(lset.aliases.items()):
            if names.setdefault(name, symbol) != symbol:
                clashes.add(name)
    return {name: symbol for name, symbol in names.items() if name not in clashes}


def list_landmark_sets() -> list[str]:
    """Names of the built-in sets (the JSON files beside this module)."""
    return sorted(p.stem for p in SETS_DIR.glob("*.json"))


def get_landmark_set(name: str | LandmarkSet | dict) -> LandmarkSet:
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
    if path.suffix.lower() == ".json" or len(path.parts) > 1 or path.is_file():
        if path.is_file():
            raise LandmarkSetError(f"{path}: a landmark set file must be JSON (.json), like "
                                   "zoo/data/landmark_sets/isbi2015.json")
        raise LandmarkSetError(f"landmark set file not found: {path}")
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
