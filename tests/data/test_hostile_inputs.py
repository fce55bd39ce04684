"""Inputs built to cost: JPEGs whose scans take minutes, palette TIFFs that outgrow their decode plan, pixel
spacings no detector has, and JSON nested past Python's stack (issue #33, items 5 and 7).

Each hostile file is built here from a real one: a small progressive JPEG from Pillow with its last scan
repeated (the bytes from its last start-of-scan marker to the end-of-image marker), a header whose frame
size is rewritten, a palette TIFF from Pillow. Refusals must come from the markers and headers alone, so the
tests that refuse replace ``cv2.imdecode`` with a function that fails the test if anything calls it.
"""
from __future__ import annotations

import io
import re
import struct
import time

import numpy as np
import pytest
from data_helpers import write_image
from PIL import Image

from zoo.data.errors import AnnotationError, DecodeCostError, LandmarkSetError, SpacingError


def jpeg(img: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", **options)
    return buf.getvalue()


def flat_progressive(h: int, w: int, value: int = 128) -> bytes:
    """A uniform gray progressive JPEG: its refinement scans are a few bytes each (one EOB run apiece)."""
    return jpeg(np.full((h, w), value, np.uint8), progressive=True)


def repeat_last_scan(data: bytes, times: int) -> bytes:
    """The attack: the last scan (its SOS segment and entropy-coded data) ``times`` more times before EOI."""
    last = [m.start() for m in re.finditer(rb"\xff\xda", data)][-1]
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + data[last:-2] * times + b"\xff\xd9"


def with_frame_size(data: bytes, h: int, w: int) -> bytes:
    """The same file with its start-of-frame segment claiming ``w x h`` (what the decoder would allocate
    and pass over); the scans are left as they are, so it is only ever read, never decoded."""
    i = 2
    while data[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return data[:i + 5] + struct.pack(">HH", h, w) + data[i + 9:]


@pytest.fixture
def no_decoding(monkeypatch):
    """``cv2.imdecode`` that fails the test: a refusal must happen before any pixel is decoded."""
    import cv2

    def refuse(*args, **kwargs):
        raise AssertionError("cv2.imdecode was called: the file was not refused before decoding")

    monkeypatch.setattr(cv2, "imdecode", refuse)


# -- progressive JPEGs with thousands of scans --------------------------------------------------------------

def test_the_scan_walk_counts_what_the_decoder_reads():
    """Scans, not bytes that look like markers: an EXIF thumbnail (a JPEG inside APP1) and a comment holding
    FF DA between two scans count for nothing, as libjpeg reads them."""
    from zoo.data.imageio import jpeg_scans

    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (64, 96), np.uint8)
    colour = rng.integers(0, 255, (64, 96, 3), np.uint8)
    assert jpeg_scans(jpeg(gray)).scans == 1
    assert jpeg_scans(jpeg(gray, progressive=True)).scans == 6
    assert jpeg_scans(jpeg(colour, progressive=True)).scans == 10
    blocks = 8 * 12  # 64 x 96 gray
    assert jpeg_scans(jpeg(gray)).block_decodes == 2 * blocks  # one scan, one pass to pixels
    assert jpeg_scans(jpeg(gray, progressive=True)).block_decodes == 7 * blocks
    thumb = jpeg(gray[:16, :16], progressive=True)
    exif = b"\xff\xe1" + struct.pack(">H", len(thumb) + 8) + b"Exif\x00\x00" + thumb
    data = jpeg(gray, progressive=True)
    second_sos = [m.start() for m in re.finditer(rb"\xff\xda", data)][1]
    comment = b"\xff\xfe" + struct.pack(">H", 6) + b"\xff\xda\xff\xda"
    tricky = data[:2] + exif + data[2:second_sos] + comment + data[second_sos:]
    assert jpeg_scans(tricky).scans == 6
    bomb = repeat_last_scan(data, 40)
    assert jpeg_scans(bomb).scans == 46 and jpeg_scans(bomb).block_decodes == 47 * blocks


def test_the_repeated_scan_attack_is_real():
    """What the limit is for: the same 256 x 256 image decodes hundreds of times slower with its last scan
    repeated 3000 times (an 8000 x 8000 one took 147 s), from a file of about 40 kB."""
    import cv2

    clean = flat_progressive(256, 256)
    bomb = repeat_last_scan(clean, 3000)
    assert len(bomb) < 64_000

    def seconds(data):
        started = time.perf_counter()
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) is not None
        return time.perf_counter() - started

    assert seconds(bomb) > 50 * seconds(clean)


@pytest.mark.parametrize("entry", ["decode", "decode_bytes", "plan_decode", "LoadCephalogram",
                                   "LoadCephalogram reduced", "decode_for_model"])
def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding(entry, tmp_path, no_decoding):
    """The reported file: 8000 x 8000 progressive gray, its last scan 3000 more times; under every other cap
    (pixels, bytes, decode memory), refused from its markers on every way an image is read."""
    from zoo.data.imageio import decode, decode_bytes, decode_for_model, plan_decode
    from zoo.data.transforms.loading import LoadCephalogram

    bomb = repeat_last_scan(with_frame_size(flat_progressive(64, 64), 8000, 8000), 3000)
    assert len(bomb) < 700_000
    path = tmp_path / "scan bomb ñ.jpg"
    path.write_bytes(bomb)
    calls = {
        "decode": lambda: decode(path),
        "decode_bytes": lambda: decode_bytes(bomb, str(path)),
        "plan_decode": lambda: plan_decode(bomb, str(path)),
        "LoadCephalogram": lambda: LoadCephalogram()({"img_path": str(path)}),
        "LoadCephalogram reduced": lambda: LoadCephalogram(target_size=(512, 512))({"img_path": str(path)}),
        "decode_for_model": lambda: decode_for_model(bomb, str(path), max_bytes=2**30),
    }
    started = time.perf_counter()
    with pytest.raises(DecodeCostError, match="more than 100 scans") as info:
        calls[entry]()
    assert time.perf_counter() - started < 0.5
    assert str(path) in str(info.value) and info.value.reason == "image too costly"


def test_fewer_scans_over_a_large_image_are_refused_by_their_work(no_decoding):
    """Under the scan cap the work still bounds the time: 90 scans over 8000 x 8000 gray is 91 million block
    decodes (about as long as 90 full decodes of the image)."""
    from zoo.data.imageio import MAX_JPEG_SCANS, check_jpeg_cost

    heavy = repeat_last_scan(with_frame_size(flat_progressive(64, 64), 8000, 8000), 84)
    with pytest.raises(DecodeCostError, match=r"8000x8000 JPEG takes 9\d million 8x8 block decodes over its 90"):
        check_jpeg_cost(heavy, "heavy.jpg")
    assert 90 <= MAX_JPEG_SCANS


def test_the_largest_genuine_jpegs_pass():
    """The limits leave every real cephalogram alone: 200 MP (the loader's pixel cap) progressive colour
    without chroma subsampling, 100 MP progressive gray, 20 scans of 50 MP gray; and real files decode to what
    OpenCV gives."""
    import cv2

    from zoo.data.imageio import MAX_JPEG_BLOCK_DECODES, check_jpeg_cost, decode_bytes

    rng = np.random.default_rng(1)
    colour = jpeg(rng.integers(0, 255, (64, 64, 3), np.uint8), progressive=True, subsampling=0)
    gray = flat_progressive(64, 64)
    for data in (with_frame_size(colour, 14142, 14142), with_frame_size(gray, 10000, 10000),
                 repeat_last_scan(with_frame_size(gray, 7072, 7072), 14)):
        assert check_jpeg_cost(data, "big.jpg").block_decodes < MAX_JPEG_BLOCK_DECODES
    real = jpeg(rng.integers(0, 255, (120, 90, 3), np.uint8), progressive=True)
    opencv = cv2.imdecode(np.frombuffer(real, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decode_bytes(real, "real.jpg"), opencv)


def test_a_flood_of_marker_segments_is_refused_quickly(no_decoding):
    """A walk over a million tiny segments would itself stall the server's event loop; it stops at 4096."""
    from zoo.data.imageio import check_jpeg_cost

    head = flat_progressive(64, 64)
    flood = head[:2] + b"\xff\xfe\x00\x02" * 1_000_000 + head[2:]
    started = time.perf_counter()
    with pytest.raises(DecodeCostError, match="more than 4096 marker segments"):
        check_jpeg_cost(flood, "flood.jpg")
    assert time.perf_counter() - started < 0.5


# -- decode plans that match what OpenCV decodes -------------------------------------------------------------

def _pillow(mode: str, fmt: str) -> bytes:
    rng = np.random.default_rng(2)
    gray = rng.integers(0, 255, (60, 80), np.uint8)
    images = {"P": Image.fromarray(np.dstack([gray, gray[::-1], gray[:, ::-1]])).convert("P", colors=16),
              "1": Image.fromarray(gray).convert("1"), "L": Image.fromarray(gray),
              "LA": Image.fromarray(np.dstack([gray, gray]), "LA"),
              "RGB": Image.fromarray(np.dstack([gray] * 3)),
              "RGBA": Image.fromarray(np.dstack([gray] * 4)),
              "CMYK": Image.fromarray(np.dstack([gray] * 3)).convert("CMYK"),
              "I;16": Image.fromarray(gray.astype(np.uint16) * 200)}
    buf = io.BytesIO()
    images[mode].save(buf, fmt)
    return buf.getvalue()


TIFF_MODES = ("P", "1", "L", "LA", "RGB", "RGBA", "CMYK", "I;16")


@pytest.mark.parametrize("fmt,mode", [("TIFF", m) for m in TIFF_MODES]
                         + [("PNG", m) for m in ("P", "1", "L", "LA", "RGB", "RGBA", "I;16")])
def test_the_decode_plan_is_the_array_opencv_decodes(fmt, mode):
    """The server's memory budget is the plan's: a palette TIFF was planned as one 8-bit channel and decoded
    to three, 3x the planned memory. Now every layout's plan is the decoded array, byte for byte."""
    from zoo.data.imageio import _imdecode, plan_decode

    data = _pillow(mode, fmt)
    plan = plan_decode(data, f"{mode}.{fmt.lower()}", 3)
    decoded = _imdecode(data, plan.fmt, plan.flags, "x")
    assert decoded.nbytes == plan.array_bytes, (plan, decoded.shape, decoded.dtype)


# -- pixel spacings ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [5e-324, 0.001, 5.5, 1e9, float("nan"), float("inf"), -0.1, 0, True, "0.1"])
def test_non_physical_spacings_are_refused_with_the_range(value):
    from zoo.data.spacing import check_spacing

    with pytest.raises(SpacingError, match="--spacing-mm must be") as info:
        check_spacing(value, "--spacing-mm")
    if isinstance(value, float) and not isinstance(value, bool):
        assert "between 0.01 and 5 mm per pixel" in str(info.value)


def test_the_range_holds_every_real_spacing():
    """ISBI 2015 (0.1), Aariz machines (0.08-0.2 and so on), a 1200 dpi film scan (0.021), the synthetic
    films (~0.4), the bounds themselves."""
    from zoo.data.spacing import check_spacing

    for value in (0.01, 0.021, 0.08, 0.1, 0.127, 0.4, 5.0, 1):
        assert check_spacing(value) == float(value)


def test_datasets_refuse_non_physical_spacings(tmp_path):
    """Whatever the reader (a CSV column, the mappings file, a config's ``spacing=``), one check in the base
    dataset, naming the file and line; with ``skip_invalid`` the sample is skipped as 'bad spacing'."""
    from zoo.data.datasets import CsvLandmarkDataset
    from zoo.data.datasets.aariz import read_pixel_sizes

    root = tmp_path / "csv data"
    for name in ("one.png", "two.png"):
        write_image(root / name, hw=(60, 50))
    (root / "landmarks.csv").write_text("image,p1_x,p1_y,p2_x,p2_y,spacing\none.png,1,2,3,4,5e-324\n"
                                        "two.png,1,2,3,4,0.1\n")
    with pytest.raises(AnnotationError, match=r"landmarks\.csv:2: spacing must be between 0\.01 and 5"):
        CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler")
    kept = CsvLandmarkDataset(ann_file="landmarks.csv", data_root=str(root), landmark_set="ruler",
                              skip_invalid=True)
    assert len(kept) == 1 and [reason for _, reason, _ in kept.skipped] == ["bad spacing"]
    (root / "plain.csv").write_text("image,p1_x,p1_y,p2_x,p2_y\none.png,1,2,3,4\n")
    with pytest.raises(AnnotationError, match=r"plain\.csv:2: the pixel spacing must be between"):
        CsvLandmarkDataset(ann_file="plain.csv", data_root=str(root), landmark_set="ruler", spacing=1e9)
    (root / "cephalogram_machine_mappings.csv").write_text("cephalogram_id,pixel_size\none,0.1\ntwo,1e-300\n")
    with pytest.raises(AnnotationError, match=r"mappings\.csv:3: pixel_size must be between 0\.01 and 5"):
        read_pixel_sizes(root / "cephalogram_machine_mappings.csv")


# -- JSON nested past Python's stack ----------------------------------------------------------------------

def _deep(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def test_deep_json_in_every_user_json_reader_is_a_clear_error(tmp_path):
    """A label map, a predictions file (``zoo analyze``), an Aariz annotation, a Label Studio export and a
    landmark set file, each 100000 arrays deep: each reader's own error naming the file, never a bare
    RecursionError."""
    from zoo.clinical import ClinicalError, read_predictions
    from zoo.data.datasets.aariz import read_aariz_json
    from zoo.data.datasets.labelstudio import load_export
    from zoo.data.labels import parse_label_map
    from zoo.data.landmark_sets import get_landmark_set

    readers = {
        "label map.json": (lambda p: parse_label_map([str(p)]), LandmarkSetError),
        "predictions.json": (read_predictions, ClinicalError),
        "aariz.json": (lambda p: read_aariz_json(p, get_landmark_set("aariz")), AnnotationError),
        "export.json": (load_export, AnnotationError),
        "my set.json": (get_landmark_set, LandmarkSetError),
    }
    for name, (read, error) in readers.items():
        path = tmp_path / name
        path.write_text(_deep())
        with pytest.raises(error) as info:
            read(path)
        assert name in str(info.value) and not isinstance(info.value, RecursionError), name
        path.write_bytes(b'{"x": "\xe9\xff"}')  # not UTF-8
        with pytest.raises(error):
            read(path)
