"""Pixel values to the 8 bits a model reads: the one definition of the stretch, below every reader.

``imageio`` (the server's decode) and ``transforms.loading`` (training, ``zoo predict``) both need it and
must agree to the last pixel, or the API would answer differently from ``zoo predict`` on the same file.
It lived in ``loading``, which imports ``imageio``, so ``imageio`` had to import it back inside a function:
an import circle (#37). Here it depends on numpy alone, and both import it from here.
"""
from __future__ import annotations

import numpy as np

#: samples stretched to 8 bits at a time: bounds the float32 temporaries of the stretch to a few MB
BAND_SAMPLES = 1 << 20


def to_uint8(img: np.ndarray) -> np.ndarray:
    """16-bit (or float) to uint8 by the image's own min..max: X-ray detectors rarely fill 16 bits.

    The range is the image content's alone: an opaque alpha channel (65535) would otherwise squeeze 12-bit
    data into 0..12, and the server (``decode_for_model``), which drops alpha while decoding, would read the
    same file differently from ``zoo predict`` and training."""
    if img.dtype == np.uint8 or img.size == 0:  # empty: to_channels names the file
        return img.astype(np.uint8, copy=False)
    img = img.astype(np.float32)
    content = img[:, :, :-1] if img.ndim == 3 and img.shape[2] in (2, 4) else img  # gray+alpha, BGRA
    lo, hi = float(content.min()), float(content.max())
    if hi <= lo:
        return np.zeros(img.shape, np.uint8)
    return np.clip((img - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)


def stretch_to_uint8(img: np.ndarray) -> np.ndarray:
    """:func:`to_uint8` a band at a time: the same pixels without its whole-image float32 copies, several
    alive at once (12 bytes a sample and more). For an image without alpha (what the server decodes)."""
    if img.dtype == np.uint8 or img.size == 0:
        return to_uint8(img)
    extremes = np.array([img.min(), img.max()], img.dtype)
    flat = img.reshape(-1)
    out = np.empty(flat.shape, np.uint8)
    for start in range(0, flat.size, BAND_SAMPLES):
        band = flat[start:start + BAND_SAMPLES]
        # with the whole image's extremes in front, to_uint8 maps the band exactly as it maps the image
        out[start:start + band.size] = to_uint8(np.concatenate((extremes, band)))[2:]
    return out.reshape(img.shape)
