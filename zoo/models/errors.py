"""Errors a model config can cause, raised where the wrong value is first seen."""

from __future__ import annotations

from zoo.registry import ZooError


class ModelConfigError(ZooError, ValueError):
    """A component was given arguments it cannot work with (the message says which and why)."""


class WeightsFileError(ZooError, OSError):
    """A local ``pretrained`` weights file is missing, unreadable or does not fit the network."""
