"""Response shapes, for the OpenAPI document only: the answers are built as plain dicts by the predictor
(the predictions-file entry), so what is documented here must follow ``Predictor.predict``."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorResponse(BaseModel):
    error: str = Field(description="short machine-readable code, e.g. not_an_image, upload_too_large, busy")
    message: str = Field(description="what was wrong, for a person")


class Landmark(BaseModel):
    x: float = Field(description="column in original image pixels; integer values are pixel centres")
    y: float = Field(description="row in original image pixels")
    confidence: float | None = Field(description="the model's score in [0, 1]")
    low_confidence: bool = Field(description="confidence below the model's threshold (never hidden)")
    x_mm: float | None = Field(None, description="x times mm_per_pixel, when the pixel size is known")
    y_mm: float | None = Field(None, description="y times mm_per_pixel, when the pixel size is known")
    uncertainty_px: float | None = Field(None, description="radius around (x, y) that holds the true landmark with "
                                                           "probability uncertainty_coverage (calibrated models only)")
    uncertainty_mm: float | None = Field(None, description="uncertainty_px times mm_per_pixel, when both are known")


class Ruler(BaseModel):
    length_mm: float | None
    length_px: float | None
    low_confidence: bool
    mm_per_pixel: float | None = Field(None, description="the pixel size this ruler implies")
    plausible: bool | None = Field(None, description="false when a check below failed (then it is not used)")
    problems: list[str] = Field(default_factory=list, description="each failed plausibility check, by name")
    used: bool | None = Field(None, description="whether mm_per_pixel came from this ruler")


class Calibration(BaseModel):
    given: float | None = Field(description="the pixel size given with the request (spacing_mm), which wins")
    ruler: float | None = Field(description="the pixel size the predicted ruler implies")
    disagreement: float | None = Field(description="relative difference of the ruler's and the used pixel size; "
                                                   "over 0.05 is a warning")
    used: Literal["given", "header", "ruler"] | None = Field(description="which pixel size is in mm_per_pixel "
                                                                     "(null: none, the anatomy's estimate is never "
                                                                     "used for mm)")
    header: float | None = Field(None, description="the pixel size a DICOM upload's header gives")
    header_source: str | None = Field(None, description="the header elements it came from, e.g. "
                                                        "'dicom:ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor'")
    header_disagreement: float | None = Field(None, description="relative difference of the header's and the given "
                                                                "pixel size; over 0.05 is a warning")
    estimate: float | None = Field(None, description="the pixel size the anatomy's size implies (the predicted "
                                                     "landmarks against the model's training anatomy)")
    estimate_source: str | None = Field(None, description="'anatomy'")
    estimate_disagreement: float | None = Field(None, description="relative difference of the estimate and the used "
                                                                  "pixel size; over three sds of a skull's size is a "
                                                                  "warning")


class Scale(BaseModel):
    """How the image's scale was read: every image is read at the pixel size the model was trained at."""

    mode: Literal["auto", "fixed"] = Field(description="'auto': read at the model's pixel size; 'fixed': as it lies")
    model_mm_per_pixel: float | None = Field(description="the pixel size the model was trained at")
    model_source: str | None = Field(description="where that comes from: the model file's metadata, or its stored "
                                                 "config's training dataset")
    image_mm_per_pixel: float | None = Field(description="the image's pixel size as taken: given, a DICOM header's, "
                                                         "a plausible ruler's, else the anatomy's estimate")
    source: str | None = Field(description="'given', 'dicom:...', 'dataset', 'ruler', 'anatomy' (the estimate) or "
                                           "null (unknown)")
    factor: float = Field(description="model px per image px the image was read at (1: as it lies)")
    read_mm_per_pixel: float | None = Field(description="the pixel size the image was read at")
    estimate_mm_per_pixel: float | None = Field(description="the anatomy's estimate, whenever it is measurable")
    estimate_source: str | None = Field(description="what the estimate is measured against")
    note: str | None = None


class DicomInfo(BaseModel):
    """What links an answer for a DICOM upload back to the archive, without any patient data."""

    study_instance_uid: str | None
    series_instance_uid: str | None
    sop_instance_uid: str | None
    sop_class_uid: str | None
    modality: str | None
    transfer_syntax: str
    photometric_interpretation: str
    bits_stored: int
    pixel_spacing_mm: float | None = Field(description="the pixel size the header gives (see pixel_spacing_source)")
    pixel_spacing_source: str | None


class OrientationFinding(BaseModel):
    name: str = Field(description="how the image lies relative to the model's training images: 'as trained', "
                                  "'mirrored', 'turned 90 ccw', 'mirrored and turned 180 ccw', ...")
    mirrored: bool
    turned_ccw_deg: int = Field(description="how far the image is turned counter-clockwise (after the mirror)")
    margin: float = Field(description="the chosen orientation's mean global-stage confidence minus the next best's")
    confidence: dict[str, float] = Field(description="mean global-stage confidence in each orientation tried")


class Quality(BaseModel):
    """The quality gate's verdict on one image (:mod:`zoo.quality`), from signals that need no ground truth."""

    status: Literal["ok", "suspect", "reject", "unchecked"] = Field(
        description="'ok'; 'suspect' (measured, with a warning); 'reject' (the image does not read as a cephalogram "
                    "the model knows: its landmarks are returned, no measurement is made from them); 'unchecked' "
                    "(the model has no quality calibration)")
    reasons: list[str] = Field(default_factory=list, description="each signal past its threshold, for a person")
    signals: dict[str, float | None] = Field(default_factory=dict, description="every signal's value by name "
                                                                               "(null when not finite)")
    off_shape_landmarks: list[str] | None = Field(None, description="symbols placed unlike any training anatomy")


class Prediction(BaseModel):
    """One entry of a predictions file (the format ``zoo predict --out`` writes and ``zoo analyze`` reads)."""

    model_config = ConfigDict(extra="allow")
    image: str = Field(description="the uploaded file's name")
    width: int
    height: int
    landmark_set: str
    mm_per_pixel: float | None
    mm_per_pixel_source: str | None = Field(description="'given' (spacing_mm, which always wins), a DICOM "
                                                        "header's 'dicom:ImagerPixelSpacing/Estimated"
                                                        "RadiographicMagnificationFactor', 'dicom:PixelSpacing' or "
                                                        "'dicom:ImagerPixelSpacing', 'ruler' (a plausible p1/p2 and "
                                                        "a ruler length) or null (the anatomy's estimate, in scale, "
                                                        "never gives mm)")
    landmarks: dict[str, Landmark] = Field(description="by landmark symbol, in the model's order")
    ruler: Ruler | None = Field(None, description="the predicted ruler p1-p2 and its checks, whenever a ruler "
                                                  "length is known (used or not)")
    calibration: Calibration | None = Field(None, description="every pixel size seen (given, a DICOM header's, "
                                                              "the ruler's), when there are two or more")
    dicom: DicomInfo | None = Field(None, description="a DICOM upload's UIDs and pixel layout (no patient data)")
    warnings: list[str] = Field(default_factory=list, description="what a person should know about this "
                                                                  "answer (a ruler that disagrees, a mirrored image, "
                                                                  "a suspect or rejected image)")
    orientation: OrientationFinding | None = Field(None, description="the orientation found before reading the "
                                                                     "landmarks (absent when it was trusted)")
    scale: Scale | None = Field(None, description="the pixel size the image was read at and why (absent in files "
                                                  "written before images were read in millimetres)")
    quality: Quality | None = Field(None, description="the quality gate's verdict (absent in files written before "
                                                      "the gate existed)")
    uncertainty_coverage: float | None = Field(None, description="probability that each landmark's "
                                                                 "uncertainty_px circle holds the true landmark")
    analysis: dict[str, Any] | None = Field(None, description="cephalometric measurements (zoo.clinical), "
                                                              "when asked for and the landmark set allows; every "
                                                              "row unavailable when the quality gate rejected the "
                                                              "image")


class ModelSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    version: str | None = Field(description="zoo version that wrote the model")
    sha256: str | None = Field(description="of the model file: tells two deployments apart")
    runtime: str
    model_type: str | None
    landmark_set: str


class LandmarksResponse(BaseModel):
    """A whole predictions file with one entry: save it and ``zoo analyze`` reads it."""

    model: ModelSummary
    predictions: list[Prediction]


class ModelInfo(ModelSummary):
    input_size: list[int] = Field(description="(width, height) the image is letterboxed to")
    landmarks: list[str]
    landmark_names: list[str]
    preprocess: dict[str, Any] = Field(description="input size, letterbox, channels, mean/std: from the model's "
                                                   "own metadata, the only source the server uses")
    ruler_mm: float | None
    min_confidence: float
    measurements: list[str] = Field(description="measurements the landmark set allows (empty: no analysis)")
    limits: dict[str, Any]


class Health(BaseModel):
    status: str
    model: str
    running: int
    waiting: int
    max_concurrency: int
