"""JSON a model file carries (its ``zoo_meta`` in a safetensors header or an ONNX property), parsed with errors a
user can read: the stack a hostile nesting could exhaust is never Python's."""
from __future__ import annotations

import json

from .errors import WeightsFileError

#: no zoo metadata nests deeper than this; a file that does was not written by the zoo
MAX_JSON_DEPTH = 64


def parse_json(text, what: str, error=WeightsFileError):
    """``json.loads`` that says what was wrong in one line: invalid JSON, or nesting no zoo file has (which
    would otherwise surface as a bare ``RecursionError``)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise error(f"{what} is not valid JSON ({exc})") from None
    except RecursionError:
        raise error(f"{what} nests deeper than any zoo metadata; refused") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise error(f"{what} nests deeper than {MAX_JSON_DEPTH} levels; no zoo metadata does, refused")
    return value


def _depth(value, level: int = 0) -> int:
    stack, deepest = [(value, level)], level
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest
