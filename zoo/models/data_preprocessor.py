"""Batching and normalisation on the model's device, so the config's mean/std are the only ones.

A served model once lost accuracy to a server that normalised with 0.5/0.5 instead of the ImageNet
values used in training; keeping normalisation inside the model (and its config inside the
checkpoint) removes that second copy.
"""

from __future__ import annotations

import torch
from mmengine.model import ImgDataPreprocessor

from zoo.registry import MODELS

from .errors import ModelConfigError

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class LandmarkDataPreprocessor(ImgDataPreprocessor):
    """Stacks uint8 (C, H, W) images, matches the channel count, normalises with mean/std on 0-255.

    Args:
        mean, std: per channel on the 0-255 scale (default ImageNet); one value each for grey input.
        channels: 1 or 3 to convert every image to that many channels first (grey <-> RGB by
            repetition / averaging); ``None`` leaves images as they come.
        bgr_to_rgb, pad_size_divisor, pad_value: as mmengine's ``ImgDataPreprocessor``; padding goes
            right and bottom, so it never moves a coordinate.
    """

    def __init__(
        self,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        channels: int | None = None,
        bgr_to_rgb: bool = False,
        pad_size_divisor: int = 1,
        pad_value: float = 0,
        non_blocking: bool = False,
    ):
        if channels not in (None, 1, 3):
            raise ModelConfigError(
                f"LandmarkDataPreprocessor: channels must be 1, 3 or None, got {channels!r}."
            )
        if mean is not None and channels is not None and len(mean) != channels:
            raise ModelConfigError(
                f"LandmarkDataPreprocessor: {len(mean)} mean values for channels={channels}."
            )
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            non_blocking=non_blocking,
        )
        self.channels = channels

    def _convert(self, img: torch.Tensor) -> torch.Tensor:
        cdim = img.dim() - 3
        have = img.shape[cdim]
        if self.channels is None or have == self.channels:
            return img
        if self.channels == 3 and have == 1:
            return img.repeat_interleave(3, dim=cdim)
        if self.channels == 1:
            return img.float().mean(dim=cdim, keepdim=True).round().to(img.dtype)
        raise ModelConfigError(f"LandmarkDataPreprocessor: cannot turn {have} channels into {self.channels}.")

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data["inputs"]
        if isinstance(inputs, torch.Tensor):
            data = dict(data, inputs=self._convert(inputs))
        else:
            data = dict(data, inputs=[self._convert(img) for img in inputs])
        return super().forward(data, training)


def normalisation(pre) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    """``(channels, mean, std)`` a data preprocessor applies (mean 0 and std 1 where it does not normalise):
    what a two-stage model's patches must be normalised with, and what an ensemble's members must share."""
    normalise = getattr(pre, "_enable_normalize", False)
    channels = getattr(pre, "channels", None) or (int(pre.mean.numel()) if normalise else 3)
    if not normalise:
        return int(channels), (0.0,) * channels, (1.0,) * channels
    return int(channels), tuple(pre.mean.flatten().tolist()), tuple(pre.std.flatten().tolist())
