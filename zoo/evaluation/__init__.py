"""Evaluation: the clinical report (MRE px/mm, SDR) and the mmengine metric that produces it."""
from . import metric  # noqa: F401  (registers LandmarkMetric)
from .report import SDR_THRESHOLDS_MM, format_report, headline, landmark_report

__all__ = ["SDR_THRESHOLDS_MM", "format_report", "headline", "landmark_report"]
