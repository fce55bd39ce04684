"""Hostile images and heatmaps: the readers and decoders raise only the zoo's errors, naming the file.

Inputs: random bytes behind each format's magic, real small images truncated and bit-flipped, zero-byte
files, decompression bombs (PNG/BMP/JPEG/TIFF headers claiming 100000 x 100000 or 65535 x 65535 in a few
hundred bytes), arrays with 0, 5 or 7 channels, and heatmaps full of NaN, inf and 1e38. Hypothesis runs
derandomized (fixed examples, stable CI); pytest-timeout stops a hang; peak memory is checked to stay far
below what decoding a bomb would take.
"""
from __future__ import annotations

import resource
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zoo.data.errors import ImageReadError
from zoo.data.imageio import decode, decode_bytes

pytestmark = pytest.mark.timeout(240)

FUZZ = settings(max_examples=120, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
#: the cap the fuzz decodes under: random headers then claim at most this, so memory stays small
FUZZ_CAP = 4_000_000
NAME = "upload ñ 001.png"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _sample_images() -> dict[str, bytes]:
    import cv2

    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (24, 32), dtype=np.uint8)
    colour = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    out = {}
    for ext, img in ((".png", gray), (".jpg", colour), (".bmp", gray), (".tif", colour), (".png", colour)):
        ok, buf = cv2.imencode(ext, img)
        assert ok
        out[f"{ext}{img.ndim}"] = buf.tobytes()
    ok, buf = cv2.imencode(".png", (gray.astype(np.uint16) * 200))
    out["png16"] = buf.tobytes()
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.dstack([gray, gray]), mode="LA").save(buf, format="PNG")  # gray + alpha
    out["png-ga"] = buf.getvalue()
    return out


SAMPLES = _sample_images()
MAGICS = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*", b"", b"GIF89a", b"{\"a\": 1}"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(w: int, h: int, color_type: int = 0) -> bytes:
    """A well-formed PNG header claiming ``w x h`` with a few bytes of deflated zeros: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
            + _chunk(b"IEND", b""))


def bmp_bomb(w: int, h: int, bpp: int = 24) -> bytes:
    header = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, 0, 0, 2835, 2835, 0, 0)
    body = b"\x00" * 64
    return b"BM" + struct.pack("<IHHI", 14 + len(header) + len(body), 0, 0, 54) + header + body


def jpeg_bomb(w: int, h: int) -> bytes:
    sof = struct.pack(">HBHHB", 17, 8, h, w, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + b"\xff\xc0" + sof + b"\x00" * 32 + b"\xff\xd9"


def tiff_bomb(w: int, h: int) -> bytes:
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 200), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, min(w * h, 2**32 - 1))]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\x00" * 4
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 64


BOMBS = {
    "png 100000x100000": png_bomb(100_000, 100_000),
    "png 100000x100000 rgba": png_bomb(100_000, 100_000, 6),
    "png 2^31-1 square": png_bomb(2**31 - 1, 2**31 - 1),
    "png 20000x20000 (400 MP)": png_bomb(20_000, 20_000),
    "bmp 100000x100000": bmp_bomb(100_000, 100_000),
    "bmp 100000x-100000 (top-down)": bmp_bomb(100_000, -100_000),
    "bmp -100000x100000 (negative width)": bmp_bomb(-100_000, 100_000),
    "jpeg 65535x65535": jpeg_bomb(65_535, 65_535),
    "tiff 100000x100000": tiff_bomb(100_000, 100_000),
}


def _only_zoo_errors(fn, name):
    try:
        return fn()
    except ImageReadError as exc:
        assert name in str(exc), f"the error does not name the file: {exc}"
        return None


@pytest.mark.parametrize("label", list(BOMBS))
def test_decompression_bombs_are_refused_from_the_header(label, tmp_path, tally):
    data = BOMBS[label]
    path = tmp_path / f"bomb {label}.img"
    path.write_bytes(data)
    before = _peak_mb()
    start = time.perf_counter()
    for call in (lambda: decode(path), lambda: decode_bytes(data, NAME)):
        with pytest.raises(ImageReadError) as info:
            call()
        message = str(info.value)
        assert str(path) in message or NAME in message
    from zoo.data.transforms.loading import LoadCephalogram

    with pytest.raises(ImageReadError):
        LoadCephalogram(channels=3, target_size=(128, 128))({"img_path": str(path)})
    elapsed = time.perf_counter() - start
    grown = _peak_mb() - before
    assert grown < 64, f"{label}: peak memory grew by {grown:.0f} MB while refusing a {len(data)}-byte file"
    assert elapsed < 10
    tally("image: decompression bomb header")


@pytest.mark.parametrize("kind", ["zero-byte", "folder", "missing", "html page", "json"])
def test_not_an_image_is_named(kind, tmp_path, tally):
    path = tmp_path / f"scan {kind}.png"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
    elif kind == "html page":
        path.write_bytes(b"<!DOCTYPE html><html>login</html>")
    elif kind == "json":
        path.write_bytes(b'{"error": "quota"}')
    with pytest.raises(ImageReadError, match="scan "):
        decode(path)
    from zoo.data.transforms.loading import LoadCephalogram

    with pytest.raises(ImageReadError, match="scan "):
        LoadCephalogram()({"img_path": str(path)})
    tally("image: zero-byte / not an image / missing")


_counts = {"bytes": 0, "mutated": 0, "load": 0, "arrays": 0, "heatmaps": 0}


@FUZZ
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=600))
@example(magic=b"\x89PNG\r\n\x1a\n", tail=b"")
@example(magic=b"BM", tail=b"\x00" * 60)
@example(magic=b"II*\x00", tail=b"\x08\x00\x00\x00")
def test_random_bytes_behind_a_magic(magic, tail):
    _counts["bytes"] += 1
    _only_zoo_errors(lambda: decode_bytes(magic + tail, NAME, max_pixels=FUZZ_CAP), NAME)


@FUZZ
@given(sample=st.sampled_from(sorted(SAMPLES)), cut=st.floats(0, 1), flips=st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6), truncate=st.booleans())
def test_real_images_truncated_and_corrupted(sample, cut, flips, truncate):
    _counts["mutated"] += 1
    data = bytearray(SAMPLES[sample])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    if truncate:
        data = data[:int(cut * len(data))]
    img = _only_zoo_errors(lambda: decode_bytes(bytes(data), NAME, max_pixels=FUZZ_CAP), NAME)
    if img is not None:
        assert img.size > 0 and img.ndim in (2, 3)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz images")


@FUZZ
@given(sample=st.sampled_from(sorted(SAMPLES)), cut=st.floats(0, 1), channels=st.sampled_from([1, 3]),
       target=st.sampled_from([None, (16, 16), (8, 4)]), keep_gray=st.booleans(), truncate=st.booleans(),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_load_cephalogram_on_hostile_files(fuzz_dir, sample, cut, channels, target, keep_gray, truncate, flips):
    from zoo.data.transforms.loading import LoadCephalogram

    _counts["load"] += 1
    data = bytearray(SAMPLES[sample])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    if truncate:
        data = data[:int(cut * len(data))]
    path = fuzz_dir / f"ceph {sample}"
    path.write_bytes(bytes(data))
    load = LoadCephalogram(channels=channels, target_size=target, keep_gray=keep_gray, max_pixels=FUZZ_CAP)
    out = _only_zoo_errors(lambda: load({"img_path": str(path)}), str(path))
    if out is not None:
        img = out["img"]
        assert img.dtype == np.uint8 and img.ndim == 3
        assert img.shape[2] == channels or (keep_gray and img.shape[2] == 1)


@FUZZ
@given(channels=st.integers(0, 8), dtype=st.sampled_from([np.uint8, np.uint16, np.float32]),
       want=st.sampled_from([1, 3]))
def test_arrays_with_any_channel_count(channels, dtype, want):
    """What the predictor does with an array (an upload already decoded, a notebook user's image)."""
    from zoo.data.transforms.loading import to_channels, to_uint8

    _counts["arrays"] += 1
    img = np.full((6, 5, channels), 7, dtype)
    try:
        out = to_channels(to_uint8(img), want, "array ñ")
    except ImageReadError as exc:
        assert "array ñ" in str(exc) and channels not in (1, 2, 3, 4)
        return
    assert channels in (1, 2, 3, 4) and out.shape == (6, 5, want)


# -- decoders ---------------------------------------------------------------------------------------

HOSTILE_FLOATS = st.one_of(st.floats(width=32, allow_nan=True, allow_infinity=True),
                           st.sampled_from([float("nan"), float("inf"), -float("inf"), 3.4e38, -3.4e38, 0.0]))


def _decoders():
    from zoo.registry import DECODERS, load_plugins

    load_plugins()
    return {"argmax": DECODERS.build(dict(type="ArgmaxDecoder")),
            "dark": DECODERS.build(dict(type="DarkDecoder")),
            "dark-noblur": DECODERS.build(dict(type="DarkDecoder", blur_sigma=0)),
            "soft-argmax": DECODERS.build(dict(type="SoftArgmaxDecoder"))}


DECODER_SET = _decoders()


@FUZZ
@given(name=st.sampled_from(sorted(DECODER_SET)),
       maps=arrays(np.float32, st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(3, 12),
                                         st.integers(3, 12)), elements=HOSTILE_FLOATS))
@example(name="dark", maps=np.full((1, 2, 5, 5), np.nan, np.float32))
@example(name="soft-argmax", maps=np.full((1, 1, 4, 4), 3.4e38, np.float32))
@example(name="argmax", maps=np.full((1, 1, 4, 4), -np.inf, np.float32))
def test_heatmap_decoders_survive_nan_inf_and_huge(name, maps):
    """No exception and the right shapes; whatever is finite lies in (or next to) the input; scores in [0, 1]."""
    import torch

    _counts["heatmaps"] += 1
    input_hw = (48, 40)
    with torch.inference_mode():
        coords, scores = DECODER_SET[name](torch.from_numpy(maps), input_hw)
    n, k = maps.shape[:2]
    assert coords.shape == (n, k, 2) and scores.shape == (n, k)
    finite = torch.isfinite(coords)
    if finite.any():
        xy = coords[finite.all(-1)]
        assert (xy[:, 0] >= -8).all() and (xy[:, 0] <= input_hw[1] + 8).all()
        assert (xy[:, 1] >= -8).all() and (xy[:, 1] <= input_hw[0] + 8).all()
    s = scores[torch.isfinite(scores)]
    assert ((s >= 0) & (s <= 1)).all()


@pytest.mark.parametrize("fill", ["nan", "inf", "-inf", "huge"])
@pytest.mark.parametrize("decoder", sorted(DECODER_SET))
def test_predictor_refuses_non_finite_model_output(decoder, fill, tally):
    """End to end: a model whose heatmaps went NaN/inf gives a named PredictionError, never a confident answer."""
    import torch

    from zoo.inference.predictor import PredictionError, Predictor

    value = {"nan": float("nan"), "inf": float("inf"), "-inf": -float("inf"), "huge": 3.4e38}[fill]

    def backend(batch):
        maps = torch.full((batch.shape[0], 2, 8, 8), value)
        with torch.inference_mode():
            coords, scores = DECODER_SET[decoder](maps, batch.shape[-2:])
        return coords.numpy(), scores.numpy()

    meta = {"preprocess": {"input_size": [32, 32], "channels": 3, "pad_value": 0, "mean": [0, 0, 0],
                           "std": [1, 1, 1]}, "landmark_symbols": ["S", "N"], "landmark_set": "isbi2015"}
    predictor = Predictor(backend, meta)
    try:
        entry = predictor.predict(np.zeros((40, 30), np.uint8), name="film ñ.png")
    except PredictionError as exc:
        assert "film ñ.png" in str(exc)
        tally("decoder: non-finite / huge heatmaps end to end (refused)")
        return
    for lm in entry["landmarks"].values():  # a constant map may decode; then it must be finite and sane
        assert np.isfinite([lm["x"], lm["y"], lm["confidence"]]).all()
        assert 0 <= lm["confidence"] <= 1
    tally("decoder: non-finite / huge heatmaps end to end (finite answer)")


def test_zz_fuzz_tally(tally):
    """Record how many generated cases ran (run last in this module)."""
    assert all(v > 0 for v in _counts.values()), _counts
    tally("image fuzz: random bytes behind a format magic", n=_counts["bytes"])
    tally("image fuzz: real images truncated / bit-flipped (decode_bytes)", n=_counts["mutated"])
    tally("image fuzz: LoadCephalogram on truncated / bit-flipped files", n=_counts["load"])
    tally("image fuzz: arrays with 0-8 channels", n=_counts["arrays"])
    tally("decoder fuzz: NaN / inf / 1e38 heatmaps", n=_counts["heatmaps"])
