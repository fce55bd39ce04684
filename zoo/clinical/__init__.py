"""Clinical measurements from landmarks: standard cephalometric analyses and the ISBI 2015 classes.

Pure numpy (no torch), so the CLI, the HTTP server and notebooks can use it without loading a model.
"""
from zoo.clinical.analysis import MEASUREMENTS, Analysis, Row, analyze, analyze_prediction, profile_facing
from zoo.clinical.calibration import Calibration, RulerReading, calibrate
from zoo.clinical.errors import ClinicalError
from zoo.clinical.geometry import ruler_mm_per_pixel
from zoo.clinical.measurements import Measurement
from zoo.clinical.norms import Norm, Norms, builtin_norms, load_norms
from zoo.clinical.predictions import read_predictions

__all__ = [
    "MEASUREMENTS", "Analysis", "Row", "analyze", "analyze_prediction", "profile_facing", "ClinicalError",
    "Calibration", "RulerReading", "calibrate",
    "ruler_mm_per_pixel", "Measurement", "Norm", "Norms", "builtin_norms", "load_norms", "read_predictions",
]
