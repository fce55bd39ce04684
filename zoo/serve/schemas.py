"""Response shapes, for the OpenAPI document only: the answers are built as plain dicts by the predictor
(the predictions-file entry), so what is documented here must follow ``Predictor.predict``."""
from __future__ import annotations

from typing import Any

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


class Ruler(BaseModel):
    length_mm: float | None
    length_px: float | None
    low_confidence: bool


class Prediction(BaseModel):
    """One entry of a predictions file (the format ``zoo predict --out`` writes and ``zoo analyze`` reads)."""

    model_config = ConfigDict(extra="allow")
    image: str = Field(description="the uploaded file's name")
    width: int
    height: int
    landmark_set: str
    mm_per_pixel: float | None
    mm_per_pixel_source: str | None = Field(description="'ruler' (p1/p2 and a ruler length), 'given' "
                                                        "(spacing_mm) or null")
    landmarks: dict[str, Landmark] = Field(description="by landmark symbol, in the model's order")
    ruler: Ruler | None = Field(None, description="present when the pixel size comes from the ruler p1-p2")
    analysis: dict[str, Any] | None = Field(None, description="cephalometric measurements (zoo.clinical), "
                                                              "when asked for and the landmark set allows")


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
