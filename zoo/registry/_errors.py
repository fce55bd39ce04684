"""Errors the registry raises, written so a user can act on them without a traceback."""
from __future__ import annotations

import difflib

from zoo.errors import ZooError


class UnknownComponentError(ZooError, KeyError):
    """A config names a ``type`` no registry knows.

    It is a ``KeyError`` too, because mmengine's builders and user code catch that for a missing key.
    ``KeyError.__str__`` would quote and escape the message, so ``__str__`` returns it plainly.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def suggest(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """Closest registered names, by edit similarity and case-insensitive prefix."""
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[c] for c in close]


def unknown_component(name: str, registry_label: str, candidates: list[str]) -> UnknownComponentError:
    hints = suggest(name, candidates)
    hint = f" Did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
    listing = ", ".join(sorted(candidates)) if len(candidates) <= 12 else f"{len(candidates)} names; see `zoo list`"
    return UnknownComponentError(
        f"{name!r} is not registered in the {registry_label} registry.{hint} Registered: {listing}."
    )
