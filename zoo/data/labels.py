"""What a user's label names mean: label maps, "did you mean" suggestions, and the set their labels fit best.

Annotators name landmarks their own way ("Sella", "Menton point", "S_pt"). The readers match names through
:meth:`LandmarkSet.lookup` (a user's ``label_map`` first, then symbols, names, aliases); this module works on the
names a whole dataset uses at once, so that ``zoo data check`` can say which built-in set they match, which
labels match none, and what each one probably meant.
"""
from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LandmarkSetError
from .landmark_sets import LandmarkSet, get_landmark_set, list_landmark_sets

_WORD = re.compile(r"[a-z0-9']+")
#: words that say nothing about which landmark is meant ("Point A" is A, "Sella point" is Sella)
_FILLER = {"point", "pt", "pnt", "of", "the", "landmark", "lm"}


def parse_label_map(items) -> dict[str, str | None]:
    """``['Sella=S', 'Ruler=']`` (the CLI's repeatable ``--label-map``) or JSON files of such a mapping.

    An empty right side leaves the label out; a later entry for the same label wins.
    """
    out: dict[str, str | None] = {}
    for item in items or []:
        text = str(item)
        if "=" not in text:
            path = Path(text).expanduser()
            if path.suffix.lower() == ".json":
                if not path.is_file():
                    raise LandmarkSetError(f"--label-map {text!r}: label map file not found")
                out.update(_read_label_map_file(path))
                continue
            raise LandmarkSetError(f"--label-map {text!r}: use LABEL=SYMBOL (e.g. Sella=S; LABEL= to leave a label "
                                   "out) or the path of a JSON file {\"Sella\": \"S\", ...}")
        label, target = text.split("=", 1)
        if not label.strip():
            raise LandmarkSetError(f"--label-map {text!r}: the label before '=' is empty")
        out[label.strip()] = target.strip() or None
    return out


def _read_label_map_file(path: Path) -> dict[str, str | None]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError, RecursionError) as exc:  # also bad UTF-8, 5000-digit numbers, deep nesting
        raise LandmarkSetError(f"{path}: not a readable JSON label map ({exc})") from None
    if not isinstance(doc, dict) or not all(isinstance(v, (str, type(None))) for v in doc.values()):
        raise LandmarkSetError(f"{path}: a label map file is one JSON object {{\"file label\": \"symbol\" or null}}")
    return {str(k): (v or None) for k, v in doc.items()}


def _vocabulary(lset: LandmarkSet) -> dict[str, str]:
    """Every lower-case name the set answers to -> its symbol (symbols, full names, aliases)."""
    vocab = {alias: symbol for alias, symbol in lset.aliases.items()}
    vocab.update({s.lower(): s for s in lset.symbols})
    return vocab


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _FILLER}


def _word_fit(label_words: set[str], name_words: set[str]) -> float:
    """How well a label's words cover a name's and the reverse (F-score over letters); a label word of 3+
    letters that begins a name word counts, so "Artic" fits "Articulare"."""
    found = sum(len(w) for w in label_words
                if w in name_words or (len(w) >= 3 and any(n.startswith(w) for n in name_words)))
    if not found or not name_words:
        return 0.0
    precision = min(1.0, found / sum(len(n) for n in name_words))
    recall = found / sum(len(w) for w in label_words)
    return 2 * precision * recall / (precision + recall)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
#: words that make a landmark its soft-tissue counterpart, which cephalometry writes with a prime (Pog', N')
_SOFT = {"soft", "tissue", "st"}


def _soft_tissue_symbols(words: set[str], vocab: dict[str, str]) -> list[str] | None:
    """``SoftPog``, ``soft tissue pogonion`` -> ``["Pog'"]``: the primed symbol when the set has it, ``[]`` when the
    label names a soft-tissue point the set lacks (not its hard-tissue namesake, nor another soft-tissue point);
    None when the label is no such name."""
    rest = words - _SOFT
    if "soft" not in words or len(rest) != 1:
        return None
    word = next(iter(rest))
    primed = vocab.get(f"{word}'")
    if primed is None and word in vocab:
        primed = vocab.get(f"{vocab[word].lower()}'")
        if primed is None:
            return []
    return None if primed is None else [primed]


def suggest(label: str, lset: LandmarkSet, n: int = 3) -> list[str]:
    """Symbols of ``lset`` a label probably meant, best first: names whose words it shares ("Sella turcica",
    "Point menton", "Artic"), or close spellings ("Sela"). Only candidates near the best are kept, so a label
    gets one or two likely meanings, not every name that shares a few letters. Words run together in camel case
    count apart ("SoftPog" is "Soft Pog"), and "soft" with a symbol means its primed soft-tissue landmark (Pog').
    """
    key = _CAMEL.sub(" ", str(label)).strip().lower()
    words = _words(key)
    soft = _soft_tissue_symbols(words, _vocabulary(lset))
    if soft is not None:
        return soft
    scores: dict[str, float] = {}
    for name, symbol in _vocabulary(lset).items():
        spelling = difflib.SequenceMatcher(None, key, name).ratio()
        score = max(_word_fit(words, _words(name)) if words else 0.0, spelling if spelling >= 0.75 else 0.0)
        if score >= 0.5:
            scores[symbol] = max(score, scores.get(symbol, 0.0))
    if not scores:
        return []
    best = max(scores.values())
    ranked = sorted((s for s in scores if scores[s] >= best - 0.1), key=lambda s: (-scores[s], s))
    return ranked[:n]


def describe_suggestions(symbols: list[str], lset: LandmarkSet) -> str:
    """``" (did you mean S 'Sella'?)"`` or an empty string."""
    if not symbols:
        return ""
    named = [f"{s} {lset.names[lset.symbols.index(s)]!r}" if lset.names[lset.symbols.index(s)] != s else s
             for s in symbols]
    return f" (did you mean {' or '.join(named)}?)"


def _other_sets(label: str, exclude: str) -> list[str]:
    return [n for n in list_landmark_sets() if n != exclude and get_landmark_set(n).lookup(label) is not None]


@dataclass
class LabelMatch:
    """How a dataset's label names (``label -> how many samples carry it``) fit one landmark set."""

    landmark_set: LandmarkSet
    labels: Counter
    matched: dict[str, str] = field(default_factory=dict)  # label -> symbol
    ignored: list[str] = field(default_factory=list)  # left out by the label map
    other_sets: dict[str, list[str]] = field(default_factory=dict)  # label -> built-in sets that know it
    unknown: dict[str, list[str]] = field(default_factory=dict)  # label -> suggested symbols

    @property
    def never_labelled(self) -> list[str]:
        """Symbols of the set no label in the whole dataset stands for."""
        covered = set(self.matched.values())
        return [s for s in self.landmark_set.symbols if s not in covered]

    @property
    def ok(self) -> bool:
        """The labels name exactly the set's landmarks (labels of other built-in sets aside)."""
        return not self.unknown and not self.never_labelled

    def mismatch_message(self) -> str:
        """One line naming the missing and the extra labels, and the ways to fix them."""
        lset = self.landmark_set
        parts = [f"the labels match {len(set(self.matched.values()))} of the {len(lset)} landmarks of {lset.name!r}"]
        if self.never_labelled:
            parts.append(f"never labelled: {', '.join(self.never_labelled)}")
        if self.unknown:
            parts.append("unknown labels: " + ", ".join(
                f"{label!r}{describe_suggestions(s, lset)}" for label, s in self.unknown.items()))
        return ("; ".join(parts) + ". Map a label with --label-map LABEL=SYMBOL (label_map=dict(...) in a "
                "dataset config; LABEL= leaves it out), or give the set your labels do follow with "
                "--landmark-set FILE.json")

    def to_dict(self) -> dict:
        return {
            "landmark_set": self.landmark_set.name,
            "labels": dict(sorted(self.labels.items())),
            "matched": self.matched,
            "never_labelled": self.never_labelled,
            "unknown_labels": [{"label": label, "count": self.labels[label], "suggestions": s}
                               for label, s in self.unknown.items()],
            "other_set_labels": [{"label": label, "count": self.labels[label], "sets": sets}
                                 for label, sets in self.other_sets.items()],
            "ignored_labels": self.ignored,
        }


def match_labels(labels: Counter, lset: LandmarkSet) -> LabelMatch:
    """Sort each label into matched / left out / another built-in set's landmark / unknown (with suggestions)."""
    result = LabelMatch(lset, Counter(labels))
    for label in sorted(labels, key=lambda s: (-labels[s], s)):
        i = lset.lookup(label)
        if i is not None:
            result.matched[label] = lset.symbols[i]
        elif lset.ignores(label):
            result.ignored.append(label)
        elif sets := _other_sets(label, lset.name):
            result.other_sets[label] = sets
        else:
            result.unknown[label] = suggest(label, lset)
    return result


@dataclass
class Inference:
    """The built-in set a dataset's labels fit best, and the runners-up (for the report)."""

    best: LabelMatch
    ranking: list[tuple[str, int, int]]  # (set name, landmarks matched, landmarks of the set), best first

    def describe(self) -> str:
        name, hit, total = self.ranking[0]
        line = f"inferred from the labels: {hit} of {total} landmarks of {name!r} labelled"
        if len(self.ranking) > 1:
            line += "; next: " + ", ".join(f"{n} {h}/{t}" for n, h, t in self.ranking[1:3])
        return line


def infer_landmark_set(labels: Counter, label_map: dict | None = None) -> Inference:
    """The built-in set the label names fit best: most landmarks named, fewest left over on either side.

    The fit is the overlap over the union (landmarks labelled / (landmarks of the set + label names - landmarks
    labelled)): 19 ISBI names fit ``isbi2015`` (19/19) better than ``aariz`` (19/29), and 31 names with the
    ruler points fit ``ceph31``. When no name matches as written, the set with the most "did you mean"
    suggestions wins, so the suggestions shown are useful. A set the label map cannot apply to (a target it
    lacks) is skipped.
    """
    candidates = []
    for name in list_landmark_sets():
        try:
            lset = get_landmark_set(name).with_label_map(label_map)
        except LandmarkSetError:
            continue
        match = match_labels(labels, lset)
        hit = len(set(match.matched.values()))
        likely = hit + sum(1 for s in match.unknown.values() if s)  # as if each suggestion were taken
        fit, fit_suggested = (hit / (len(lset) + len(labels) - hit), likely / (len(lset) + len(labels) - likely))
        candidates.append(((-fit, -fit_suggested, name), hit, name, match))
    if not candidates:
        targets = ", ".join(sorted({str(v) for v in (label_map or {}).values() if v}))
        raise LandmarkSetError(f"no built-in landmark set has every symbol the label map names ({targets}); "
                               f"built-in: {', '.join(list_landmark_sets())}. Give --landmark-set FILE.json")
    candidates.sort(key=lambda c: c[0])
    return Inference(best=candidates[0][3],
                     ranking=[(name, hit, len(m.landmark_set)) for _, hit, name, m in candidates])
