"""Inference: one predictor for checkpoints and exported models, preprocessing from model metadata only."""
from .backends import ModelFileError, open_backend
from .predictor import PredictionError, Predictor

__all__ = ["ModelFileError", "PredictionError", "Predictor", "open_backend"]
