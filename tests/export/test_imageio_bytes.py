"""decode_bytes (uploads) applies the same checks as decode (files), naming what it was given."""
from __future__ import annotations

import struct

import numpy as np
import pytest


def _encoded(ext: str, shape=(30, 40, 3)) -> bytes:
    import cv2

    img = (np.arange(np.prod(shape)) % 251).reshape(shape).astype(np.uint8)
    return cv2.imencode(ext, img)[1].tobytes()


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif"])
def test_bytes_decode_like_the_file(tmp_path, ext):
    from zoo.data.imageio import decode, decode_bytes

    data = _encoded(ext)
    path = tmp_path / f"a picture{ext}"
    path.write_bytes(data)
    np.testing.assert_array_equal(decode_bytes(data, "upload" + ext), decode(path))
    assert decode_bytes(data, "x", max_pixels=None).shape == (30, 40, 3)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif"])
def test_pixel_cap_from_the_header(ext):
    from zoo.data.errors import ImageReadError
    from zoo.data.imageio import decode_bytes

    with pytest.raises(ImageReadError, match=r"upload\.x: 40x30 .* exceeds the cap"):
        decode_bytes(_encoded(ext), "upload.x", max_pixels=1000)


def test_a_bomb_is_refused_before_decoding():
    from zoo.data.errors import ImageReadError
    from zoo.data.imageio import decode_bytes

    data = bytearray(_encoded(".png", (8, 8, 1)))
    data[16:24] = struct.pack(">II", 60000, 60000)  # header claims 3.6 gigapixels; the pixels are not there
    with pytest.raises(ImageReadError, match="bomb.png: 60000x60000 = 3600 megapixels"):
        decode_bytes(bytes(data), "bomb.png")


@pytest.mark.parametrize("data, message", [
    (b'{"a": 1}', "not a JPEG/PNG/BMP/TIFF image (it looks like JSON)"),
    (b"", "it is empty"),
    (b"<!DOCTYPE html><html>", "HTML page"),
])
def test_not_an_image(data, message):
    from zoo.data.errors import ImageReadError
    from zoo.data.imageio import decode_bytes

    with pytest.raises(ImageReadError, match="sent.jpg: .*" + message.split("(")[0]):
        decode_bytes(data, "sent.jpg")


def test_truncated_uploads():
    from zoo.data.errors import ImageReadError
    from zoo.data.imageio import decode_bytes

    png = _encoded(".png")
    with pytest.raises(ImageReadError, match="half.png: truncated PNG"):
        decode_bytes(png[:-20], "half.png", max_pixels=None)
    jpg = _encoded(".jpg", (64, 64, 3))
    with pytest.raises(ImageReadError, match="half.jpg: truncated JPEG"):
        decode_bytes(jpg[:-10], "half.jpg", max_pixels=None)
