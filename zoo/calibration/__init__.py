"""Calibrating a model's quality block: run the model on its own validation images and write the result
into a copy of its checkpoint or weights file (``zoo checkpoint calibrate``).

The maths it fits (:class:`zoo.quality.QualityModel`: the shape model, the verdict thresholds, the
uncertainty) lives in ``zoo.quality``, low in the house, where the model-file reader and the predictor use
it. This workflow needs the predictor, the model files and the clinical orientation, so it lives here, above
``zoo.inference``; keeping it out of ``zoo.quality`` is what lets the components never import the inference
layer. (The ruler's mm-per-pixel calibration is another thing: ``zoo.clinical.calibration``.)
"""
from .calibrate import (
    MIN_VALIDATION_IMAGES,
    REJECT_SD,
    SUSPECT_SD,
    Calibration,
    CalibrationError,
    ValidationRead,
    annotations,
    calibrate_model,
    calibrate_with_fallback,
    canonical_orientation,
    dataset_orientation,
    dataset_samples,
    dataset_samples_spacings,
    dataset_scale,
    fit_quality,
    fit_shape_model,
    read_validation,
    threshold_for,
    training_scale,
    write_calibrated,
    write_quality,
)

__all__ = ["MIN_VALIDATION_IMAGES", "REJECT_SD", "SUSPECT_SD", "Calibration", "CalibrationError", "ValidationRead",
           "annotations", "calibrate_model", "calibrate_with_fallback", "canonical_orientation", "dataset_orientation",
           "dataset_samples", "dataset_samples_spacings", "dataset_scale", "fit_quality", "fit_shape_model",
           "read_validation", "threshold_for", "training_scale", "write_calibrated", "write_quality"]
