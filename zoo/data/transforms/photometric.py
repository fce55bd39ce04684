"""Photometric augmentation on uint8 images (the pipeline stays uint8; the model normalises)."""
from __future__ import annotations

import numpy as np

from zoo.registry import TRANSFORMS

from .base import BaseTransform, as_range, rng_uniform


def _apply_per_channel(img: np.ndarray, fn) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] == 1:
        return fn(img[:, :, 0])[:, :, None]
    return fn(img)


@TRANSFORMS.register_module()
class PhotometricJitter(BaseTransform):
    """Brightness, contrast and gamma jitter through one 256-entry lookup table (fast, exact on uint8).

    Args:
        brightness: max shift as a fraction of 255, either way (or a range).
        contrast: max factor change either way around the image mean (0.2 -> 0.8..1.2).
        gamma: ``(low, high)`` gamma range (1, 1 = off).
    """

    def __init__(self, brightness=0.2, contrast=0.2, gamma=(1.0, 1.0), prob: float = 1.0):
        self.brightness = as_range(brightness)
        self.contrast = as_range(contrast, 1.0)
        self.gamma = as_range(gamma, 1.0)
        self.prob = prob

    def transform(self, results: dict) -> dict:
        import cv2

        if self.prob < 1.0 and np.random.rand() >= self.prob:
            return results
        img = results["img"]
        b = rng_uniform(*self.brightness) * 255.0
        c = rng_uniform(*self.contrast)
        g = rng_uniform(*self.gamma)
        mean = float(np.mean(cv2.mean(img)[: (1 if img.ndim == 2 else img.shape[2])]))
        v = np.arange(256, dtype=np.float64)
        if g != 1.0:
            v = 255.0 * (v / 255.0) ** g
        lut = np.clip((v - mean) * c + mean + b + 0.5, 0, 255).astype(np.uint8)
        results["img"] = _apply_per_channel(img, lambda x: cv2.LUT(x, lut))
        return results


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Gaussian blur with a random sigma (pixels of the current image) with probability ``prob``."""

    def __init__(self, sigma=(0.1, 2.0), prob: float = 0.5):
        self.sigma = as_range(sigma) if isinstance(sigma, (tuple, list)) else (0.0, float(sigma))
        self.prob = prob

    def transform(self, results: dict) -> dict:
        import cv2

        if np.random.rand() >= self.prob:
            return results
        sigma = rng_uniform(*self.sigma)
        if sigma > 0:
            results["img"] = _apply_per_channel(results["img"], lambda x: cv2.GaussianBlur(x, (0, 0), sigma))
        return results


@TRANSFORMS.register_module()
class RandomSharpness(BaseTransform):
    """Sharpen or soften: blend with a 3x3-smoothed copy by a random ``factor`` (1 = unchanged, 2 = sharper,
    0 = smoothed), as torchvision's ``adjust_sharpness`` defines it."""

    _KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0

    def __init__(self, factor=(0.5, 2.0), prob: float = 0.5):
        self.factor = as_range(factor, 1.0)
        self.prob = prob

    def transform(self, results: dict) -> dict:
        import cv2

        if np.random.rand() >= self.prob:
            return results
        f = rng_uniform(*self.factor)

        def sharpen(x):
            smooth = cv2.filter2D(x, -1, self._KERNEL, borderType=cv2.BORDER_REPLICATE)
            return cv2.addWeighted(x, f, smooth, 1.0 - f, 0.0)

        results["img"] = _apply_per_channel(results["img"], sharpen)
        return results


@TRANSFORMS.register_module()
class CLAHE(BaseTransform):
    """Contrast-limited adaptive histogram equalisation (deterministic unless ``prob`` < 1); colour images
    are equalised on their lightness only."""

    def __init__(self, clip_limit: float = 2.0, tile_grid_size=(8, 8), prob: float = 1.0):
        self.clip_limit = float(clip_limit)
        self.tile_grid_size = tuple(int(t) for t in tile_grid_size)
        self.prob = prob

    def transform(self, results: dict) -> dict:
        import cv2

        if self.prob < 1.0 and np.random.rand() >= self.prob:
            return results
        clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=self.tile_grid_size)
        img = results["img"]
        if img.ndim == 2 or img.shape[2] == 1:
            out = _apply_per_channel(img, clahe.apply)
        elif np.array_equal(img[:, :, 0], img[:, :, 1]) and np.array_equal(img[:, :, 0], img[:, :, 2]):
            out = np.repeat(clahe.apply(np.ascontiguousarray(img[:, :, 0]))[:, :, None], 3, axis=2)
        else:
            lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
            lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
            out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        results["img"] = out
        return results


@TRANSFORMS.register_module()
class NormalizeImage(BaseTransform):
    """``(img - mean) / std`` to float32, for uses outside a model (the model's data preprocessor does this
    for training and inference; do not put both in one pipeline)."""

    def __init__(self, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)):
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def transform(self, results: dict) -> dict:
        img = results["img"].astype(np.float32)
        c = img.shape[2] if img.ndim == 3 else 1
        results["img"] = (img - self.mean[:c]) / self.std[:c]
        return results
