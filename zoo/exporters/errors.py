"""Errors of exporting: the message names the checkpoint or file and what to do."""
from __future__ import annotations

from zoo.registry import ZooError


class ExportError(ZooError):
    """An export could not be made (no metadata, no images to check it on, a converter failure)."""


class ExportCheckError(ExportError):
    """The exported model disagrees with the eager one past the tolerance; ``report`` holds the figures."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report
