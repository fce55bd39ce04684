"""Errors every layer may raise, at the bottom of the house so that any package can import them.

``ZooError`` is the base of every error the zoo raises on purpose (the CLI prints those as one line, without
a traceback). The others are the faults of a model's own config or its local weights, which the components
(backbones, necks, heads, losses) see first: they live here rather than in ``zoo.models`` so that a head or a
third-party backbone never has to import the detectors above it.
"""
from __future__ import annotations


class ZooError(Exception):
    """Base of every error the zoo raises on purpose; the CLI prints these as one line."""


class ModelConfigError(ZooError, ValueError):
    """A component was given arguments it cannot work with (the message says which and why)."""


class PretrainedWeightsError(ZooError, OSError):
    """A local ``pretrained`` weights file is missing, unreadable or does not fit the network."""
