"""Synthetic cephalograms: seeded X-ray-like lateral skulls with 31 landmarks and a calibrated ruler."""
from .generator import DEFAULT_SIZE, RULER_MM, SYMBOLS_31, SyntheticSample, generate, make_sample, split_of

__all__ = ["DEFAULT_SIZE", "RULER_MM", "SYMBOLS_31", "SyntheticSample", "generate", "make_sample", "split_of"]
