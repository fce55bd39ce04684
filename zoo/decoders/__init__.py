"""Decoders: head output -> (coordinates in input px, confidence), as torch modules that export."""

from . import argmax, dark, regression, soft_argmax  # noqa: F401
