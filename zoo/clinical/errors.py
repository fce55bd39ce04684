"""Errors the clinical layer raises on bad input (they print as one line in the CLI)."""
from __future__ import annotations

from zoo.registry._errors import ZooError


class ClinicalError(ZooError):
    """A landmark table, norms file or predictions file the analysis cannot use; the message names it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
