"""Heads: features -> heatmaps or coordinates, plus the training targets they expect (`encode`)."""

from . import heatmap, regression  # noqa: F401
