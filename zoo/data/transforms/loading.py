"""Loading a cephalogram: any bit depth or colour to uint8 with the model's channels, safely and fast."""
from __future__ import annotations

import numpy as np

from zoo.registry import TRANSFORMS

from ..errors import ImageReadError
from ..imageio import HEAD_BYTES, MAX_PIXELS, decode_bytes, probe, read_bytes, sniff_format
from ..pixels import to_uint8
from .base import BaseTransform, compose_warp

_REDUCED = {  # (channels, factor) -> cv2 flag name
    (1, 2): "IMREAD_REDUCED_GRAYSCALE_2", (1, 4): "IMREAD_REDUCED_GRAYSCALE_4", (1, 8): "IMREAD_REDUCED_GRAYSCALE_8",
    (3, 2): "IMREAD_REDUCED_COLOR_2", (3, 4): "IMREAD_REDUCED_COLOR_4", (3, 8): "IMREAD_REDUCED_COLOR_8",
}


def reduction_factor(hw: tuple[int, int], target_size, margin: float = 1.0) -> int:
    """Largest JPEG DCT reduction (1, 2, 4, 8) that still leaves at least the letterboxed resolution."""
    if not target_size:
        return 1
    h, w = hw
    tw, th = target_size
    max_factor = max(w / tw, h / th) / margin  # 1 / letterbox scale = 1 / min(tw / w, th / h)
    return max((f for f in (1, 2, 4, 8) if f <= max_factor), default=1)


def reduction_warp(factor: int) -> np.ndarray:
    """Original px -> reduced px for a JPEG decoded at 1/factor: pixel j averages originals f*j..f*j+f-1."""
    s = 1.0 / factor
    return np.array([[s, 0, -(factor - 1) / 2 * s], [0, s, -(factor - 1) / 2 * s], [0, 0, 1]], np.float64)


def to_channels(img: np.ndarray, channels: int, path) -> np.ndarray:
    """OpenCV's gray/BGR/BGRA to (H, W, channels) RGB or gray."""
    import cv2

    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.size == 0 or img.shape[2] > 4:
        raise ImageReadError(f"{path}: an image of shape {tuple(img.shape)} is not H x W with 1 to 4 channels",
                             reason="unreadable image")
    c = img.shape[2]
    if c == 4:
        img, c = img[:, :, :3], 3
    if c == 2:  # gray + alpha
        img, c = img[:, :, :1], 1
    if channels == 1:
        return img if c == 1 else cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2GRAY)[:, :, None]
    if channels == 3:
        if c == 1:
            return np.repeat(img, 3, axis=2)
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2RGB)
    raise ValueError(f"LoadCephalogram: channels must be 1 or 3, got {channels} (loading {path})")


@TRANSFORMS.register_module()
class LoadCephalogram(BaseTransform):
    """Decode ``img_path`` to uint8 RGB/gray; 8/16-bit, gray or colour; errors name the file.

    ``img`` is (H, W, channels). With ``keep_gray=True`` a gray source stays (H, W, 1) and
    :class:`PackLandmarkInputs` expands it to ``channels`` (``results['channels']``) after the per-channel
    transforms, which then run on one channel instead of three with identical results (training speed).

    Args:
        channels: 3 (gray replicated, colour as RGB) or 1.
        target_size: ``(W, H)`` the sample will be letterboxed to. With it, a JPEG much larger than the
            target is decoded at 1/2, 1/4 or 1/8 resolution by libjpeg (several times faster); the exact
            original->decoded mapping goes into ``warp`` and the keypoints, so nothing is lost but pixels
            the resize would discard anyway.
        reduce_margin: keep at least ``reduce_margin`` x the letterboxed resolution (e.g. 1.25 when
            augmentation zooms in by up to 25%).
        max_pixels: refuse images above this many pixels (decompression bombs); None disables.
        keep_gray: keep a gray source single-channel until packing (see above).
        cache_size: keep up to this many decoded images in memory, per loader worker (0: none). A
            two-stage model decodes every training image at full resolution (tens of ms for a large JPEG),
            which starves a GPU; cached images are read-only, so a transform that would change one in
            place fails loudly instead of corrupting the next epoch.
    """

    def __init__(self, channels: int = 3, target_size=None, reduce_margin: float = 1.0,
                 max_pixels: int | None = MAX_PIXELS, keep_gray: bool = False, cache_size: int = 0):
        if channels not in (1, 3):
            raise ValueError(f"LoadCephalogram: channels must be 1 or 3, got {channels}")
        self.channels = channels
        self.target_size = tuple(target_size) if target_size else None
        self.reduce_margin = float(reduce_margin)
        self.max_pixels = max_pixels
        self.keep_gray = keep_gray
        self.cache_size = int(cache_size)
        self._cache: dict = {}

    def transform(self, results: dict) -> dict:
        key = str(results["img_path"])
        hit = self._cache.get(key) if self.cache_size else None
        if hit is None:
            hit = self._decode(dict(img_path=results["img_path"], ori_shape=results.get("ori_shape")))
            if self.cache_size and len(self._cache) < self.cache_size:
                hit["img"].setflags(write=False)
                self._cache[key] = hit
        img, ori_hw, factor = hit["img"], hit["ori_shape"], hit["decode_factor"]
        results["img"] = img
        results["channels"] = self.channels
        results["ori_shape"] = ori_hw
        results.setdefault("warp", np.eye(3))
        if factor > 1:
            compose_warp(results, reduction_warp(factor), img.shape[:2])
        else:
            results["img_shape"] = img.shape[:2]
        results["decode_factor"] = factor
        return results

    def _decode(self, results: dict) -> dict:
        import cv2

        path = results["img_path"]
        data = read_bytes(path)
        fmt = sniff_format(data[:HEAD_BYTES])  # a DICOM file is told by bytes 128-131
        header = probe(data[:65536], fmt) if fmt else None
        gray_source = header is not None and header[2] == 1
        factor = 1
        if self.target_size is not None and fmt == "jpeg" and header is not None:
            factor = reduction_factor(header[:2], self.target_size, self.reduce_margin)
        if fmt == "jpeg":  # 8-bit: decode straight to what is needed, gray when the source is gray
            channels = 1 if (self.channels == 1 or gray_source) else 3
            flag = getattr(cv2, _REDUCED[(channels, factor)]) if factor > 1 else (
                cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
        else:  # keeps 16-bit depth and alpha, handled below
            flag = cv2.IMREAD_UNCHANGED
        img = decode_bytes(data, str(path), flag, self.max_pixels)
        ori_hw = header[:2] if (factor > 1 and header is not None) else img.shape[:2]
        # a gray source stays one channel until PackLandmarkInputs: every transform is per channel,
        # so expanding at the end gives the same pixels at a third of the cost
        img = to_uint8(img)
        source_channels = 1 if img.ndim == 2 else img.shape[2]
        gray = self.channels == 1 or (source_channels <= 2 and self.keep_gray)
        img = to_channels(img, 1 if gray else 3, path)
        known = results.get("ori_shape")
        if known is not None and tuple(known) != tuple(ori_hw):
            raise ImageReadError(f"{path}: image is {ori_hw[1]}x{ori_hw[0]} but the annotation expects "
                                 f"{known[1]}x{known[0]}", reason="image size mismatch")
        return {"img": img, "ori_shape": (int(ori_hw[0]), int(ori_hw[1])), "decode_factor": factor}
