import cv2
import numpy as np
import pytest
from data_helpers import write_image
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.data import ImageReadError
from zoo.data.transforms import (
    CLAHE,
    LetterboxResize,
    LoadCephalogram,
    PackLandmarkInputs,
    PhotometricJitter,
    RandomAffine,
    RandomGaussianBlur,
    RandomHorizontalFlip,
    RandomSharpness,
    letterbox,
)
from zoo.registry import TRANSFORMS
from zoo.structures import LandmarkSample, apply_warp, to_original


def _sample(path, kpts):
    kpts = np.asarray(kpts, np.float32)
    return dict(img_path=str(path), keypoints=kpts.copy(), keypoints_visible=np.ones(len(kpts), np.float32),
                ori_keypoints=kpts.copy(), spacing=0.1, landmark_set="ruler")


def _centroid(img, around, radius):
    """Intensity centroid of the blob near ``around`` (background removed)."""
    g = img[..., 0].astype(np.float64) if img.ndim == 3 else img.astype(np.float64)
    x0, y0 = int(round(around[0])), int(round(around[1]))
    win = g[y0 - radius:y0 + radius + 1, x0 - radius:x0 + radius + 1]
    win = np.clip(win - np.median(g), 0, None)
    yy, xx = np.mgrid[y0 - radius:y0 + radius + 1, x0 - radius:x0 + radius + 1]
    return np.array([(win * xx).sum() / win.sum(), (win * yy).sum() / win.sum()])


def test_load_gray_colour_16bit_and_channels(tmp_path):
    gray = write_image(tmp_path / "g.png", hw=(30, 20), value=100)
    assert LoadCephalogram(channels=3)(_sample(gray, [[1, 1]]))["img"].shape == (30, 20, 3)
    out = LoadCephalogram(channels=3, keep_gray=True)(_sample(gray, [[1, 1]]))
    # kept one channel through the transforms; packing expands it to the 3 asked for
    assert out["img"].shape == (30, 20, 1) and out["img"].dtype == np.uint8 and out["ori_shape"] == (30, 20)
    assert out["channels"] == 3 and tuple(PackLandmarkInputs()(out)["inputs"].shape) == (3, 30, 20)
    assert LoadCephalogram(channels=1)(_sample(gray, [[1, 1]]))["img"].shape == (30, 20, 1)
    colour = np.zeros((10, 12, 3), np.uint8)
    colour[..., 2] = 255  # red in OpenCV's BGR
    cv2.imwrite(str(tmp_path / "c.png"), colour)
    rgb = LoadCephalogram(channels=3)(_sample(tmp_path / "c.png", [[1, 1]]))["img"]
    assert rgb[0, 0].tolist() == [255, 0, 0]  # RGB order
    deep = (np.arange(200, dtype=np.uint16).reshape(10, 20) * 20 + 1000).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "d16.png"), deep)
    img = LoadCephalogram(channels=1)(_sample(tmp_path / "d16.png", [[1, 1]]))["img"]
    assert img.dtype == np.uint8 and img.min() == 0 and img.max() == 255  # stretched from its own range


def test_bad_images_raise_naming_the_file(tmp_path):
    load = LoadCephalogram()
    fake = tmp_path / "scan 1.jpg"
    fake.write_text('{"not": "an image"}')
    with pytest.raises(ImageReadError, match=r"scan 1\.jpg: not a JPEG/PNG/BMP/TIFF image \(it looks like JSON\)"):
        load(_sample(fake, [[1, 1]]))
    good = write_image(tmp_path / "ok.jpg", hw=(64, 64), value=90)
    data = good.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.jpg: truncated JPEG"):
        load(_sample(tmp_path / "cut.jpg", [[1, 1]]))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40 + b"IEND\xaeB`\x82")
    with pytest.raises(ImageReadError, match=r"bad\.png"):
        load(_sample(tmp_path / "bad.png", [[1, 1]]))
    with pytest.raises(ImageReadError, match=r"ok\.jpg: 64x64 = 0 megapixels exceeds the cap"):
        LoadCephalogram(max_pixels=1000)(_sample(good, [[1, 1]]))
    with pytest.raises(ImageReadError, match=r"gone\.png: image file not found"):
        load(_sample(tmp_path / "gone.png", [[1, 1]]))


def test_reduction_factor_leaves_at_least_the_letterboxed_resolution():
    from zoo.data.transforms import reduction_factor

    assert reduction_factor((2400, 1935), (512, 512)) == 4  # 600x484 >= the 512x413 letterbox content
    assert reduction_factor((2400, 1935), (512, 512), margin=1.25) == 2
    assert reduction_factor((2400, 1935), (768, 768)) == 2
    assert reduction_factor((640, 512), (256, 256)) == 2 and reduction_factor((300, 200), (256, 256)) == 1
    assert reduction_factor((9000, 10000), (512, 512)) == 8 and reduction_factor((10, 10), None) == 1


def test_reduced_jpeg_decoding_keeps_the_warp_exact(tmp_path):
    dot = (203.3, 311.7)
    path = write_image(tmp_path / "big.jpg", hw=(480, 400), dot=dot)
    out = LoadCephalogram(channels=1, target_size=(100, 100))(_sample(path, [dot]))
    assert out["decode_factor"] == 4 and out["img"].shape[:2] == (120, 100) and out["ori_shape"] == (480, 400)
    found = _centroid(out["img"], out["keypoints"][0], 4)
    np.testing.assert_allclose(found, out["keypoints"][0], atol=0.08)
    np.testing.assert_allclose(to_original(out["keypoints"], out["warp"]), [dot], atol=1e-4)
    full = LoadCephalogram(channels=1)(_sample(path, [dot]))
    assert full["decode_factor"] == 1 and full["img"].shape[:2] == (480, 400)


def test_letterbox_maps_back_within_a_hundredth_of_a_pixel(tmp_path):
    dot = (61.4, 170.2)
    path = write_image(tmp_path / "tall.png", hw=(240, 130), dot=dot)
    s = LoadCephalogram()(_sample(path, [dot, [0, 0], [129, 239]]))
    s = LetterboxResize(size=(64, 64), pad_value=0)(s)
    assert s["img"].shape == (64, 64, 3) and s["img_shape"] == (64, 64)
    np.testing.assert_allclose(to_original(s["keypoints"], s["warp"]), s["ori_keypoints"], atol=0.01)
    np.testing.assert_allclose(_centroid(s["img"], s["keypoints"][0], 3), s["keypoints"][0], atol=0.15)
    assert s["keypoints_visible"].tolist() == [1, 1, 1]
    # padded left and right, centred: the image's corners land on the content edges
    assert s["img"][:, :14].max() == 0 and s["img"][:, 51:].max() == 0


def test_letterbox_cache_reuses_only_the_same_read_only_image(tmp_path):
    dot = (61.4, 170.2)
    path = write_image(tmp_path / "tall.png", hw=(240, 130), dot=dot)
    load = LoadCephalogram(channels=1, keep_gray=True, cache_size=2)
    cached, plain = LetterboxResize(size=(64, 64), cache_size=1), LetterboxResize(size=(64, 64))
    first = cached(load(_sample(path, [dot])))
    again = cached(load(_sample(path, [dot])))
    expected = plain(load(_sample(path, [dot])))
    for out in (first, again):
        np.testing.assert_array_equal(out["img"], expected["img"])
        np.testing.assert_allclose(out["warp"], expected["warp"])
        np.testing.assert_allclose(out["keypoints"], expected["keypoints"])
    assert len(cached._cache) == 1 and again["img"].flags.writeable  # a copy: later transforms may write to it
    again["img"][:] = 255
    np.testing.assert_array_equal(cached(load(_sample(path, [dot])))["img"], expected["img"])
    # an image a transform changed is a new, writable array: resized afresh, never served from the cache
    changed = load(_sample(path, [dot]))
    changed["img"] = 255 - changed["img"]
    inverted = plain(dict(changed))["img"]
    np.testing.assert_array_equal(cached(changed)["img"], inverted)
    assert not np.array_equal(inverted, expected["img"]) and len(cached._cache) == 1


@settings(max_examples=40, deadline=None)
@given(w=st.integers(5, 400), h=st.integers(5, 400), tw=st.integers(8, 128), th=st.integers(8, 128),
       fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_letterbox_warp_round_trips_any_geometry(w, h, tw, th, fx, fy):
    img = np.zeros((h, w, 1), np.uint8)
    out, warp = letterbox(img, (tw, th))
    assert out.shape == (th, tw, 1)
    pt = np.array([[fx * (w - 1), fy * (h - 1)]])
    mapped = apply_warp(pt, warp)
    assert (mapped >= -0.5 - 1e-9).all() and mapped[0, 0] <= tw - 0.5 + 1e-9 and mapped[0, 1] <= th - 0.5 + 1e-9
    np.testing.assert_allclose(to_original(mapped, warp), pt, atol=1e-6)


def test_affine_moves_keypoints_with_the_image(tmp_path):
    dot = (40.0, 25.0)
    path = write_image(tmp_path / "dot.png", hw=(80, 96), dot=dot, value=0)
    np.random.seed(3)
    s = LoadCephalogram()(_sample(path, [dot]))
    s = RandomAffine(rotate=(25, 25), scale=(1.2, 1.2), translate=(0.05, 0.05))(s)
    moved = s["keypoints"][0]
    assert np.linalg.norm(moved - np.array(dot)) > 5  # it did move
    np.testing.assert_allclose(_centroid(s["img"], moved, 5), moved, atol=0.15)
    np.testing.assert_allclose(to_original(s["keypoints"], s["warp"]), [dot], atol=1e-3)


def test_horizontal_flip_mirrors_image_keypoints_and_warp(tmp_path):
    dot = (30.0, 25.0)
    path = write_image(tmp_path / "dot.png", hw=(80, 96), dot=dot, value=0)
    s = RandomHorizontalFlip(prob=1.0)(LoadCephalogram()(_sample(path, [dot])))
    np.testing.assert_allclose(s["keypoints"], [[95 - 30.0, 25.0]])  # pixel centres: x -> (w - 1) - x
    np.testing.assert_allclose(_centroid(s["img"], s["keypoints"][0], 5), s["keypoints"][0], atol=0.15)
    np.testing.assert_allclose(to_original(s["keypoints"], s["warp"]), [dot], atol=1e-9)
    assert s["ori_keypoints"].tolist() == [list(dot)]  # the truth the metric reads stays as annotated
    twice = RandomHorizontalFlip(prob=1.0)(dict(s))
    np.testing.assert_allclose(twice["warp"], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(twice["keypoints"], [dot])


def test_horizontal_flip_swaps_paired_landmarks_and_their_visibility(tmp_path):
    path = write_image(tmp_path / "pair.png", hw=(40, 60))
    s = LoadCephalogram()(_sample(path, [[10, 20], [45, 5], [30, 30]]))
    s["keypoints_visible"] = np.array([1.0, 0.0, 1.0], np.float32)
    s = RandomHorizontalFlip(prob=1.0, flip_pairs=[(0, 1)])(s)
    # landmark 0 (say the left one) is now where the mirrored right one is, and keeps the right one's visibility
    np.testing.assert_allclose(s["keypoints"], [[59 - 45, 5], [59 - 10, 20], [59 - 30, 30]])
    assert s["keypoints_visible"].tolist() == [0.0, 1.0, 1.0]


def test_horizontal_flip_prob_and_the_landmark_sets_own_pairs(tmp_path):
    path = write_image(tmp_path / "p.png", hw=(20, 30))
    s = LoadCephalogram()(_sample(path, [[3, 4], [10, 12]]))
    kept = RandomHorizontalFlip(prob=0.0)(dict(s))
    assert kept["img"] is s["img"] and np.array_equal(kept["keypoints"], s["keypoints"])
    s["landmark_set"] = "isbi2015"  # a lateral view: no pairs, every landmark stays itself
    np.testing.assert_allclose(RandomHorizontalFlip(prob=1.0)(dict(s))["keypoints"], [[26, 4], [19, 12]])
    with pytest.raises(ValueError, match="prob"):
        RandomHorizontalFlip(prob=1.5)


def test_keypoints_leaving_the_image_become_invisible_not_clipped(tmp_path):
    path = write_image(tmp_path / "e.png", hw=(50, 50))
    s = LoadCephalogram()(_sample(path, [[2, 25], [25, 25]]))
    s = RandomAffine(rotate=0, scale=(1.0, 1.0), translate=(-0.2, -0.2))(s)  # shift left/up by 10 px
    np.testing.assert_allclose(s["keypoints"], [[-8, 15], [15, 15]], atol=1e-5)
    assert s["keypoints_visible"].tolist() == [0.0, 1.0]
    assert s["ori_keypoints"].tolist() == [[2, 25], [25, 25]]


def test_photometric_transforms_keep_geometry_and_dtype(tmp_path):
    path = write_image(tmp_path / "p.png", hw=(40, 30), dot=(10, 10))
    np.random.seed(0)
    for t in (PhotometricJitter(brightness=0.3, contrast=0.3, gamma=(0.8, 1.2)), RandomGaussianBlur(prob=1.0),
              RandomSharpness(factor=(2.0, 2.0), prob=1.0), CLAHE()):
        s = LoadCephalogram()(_sample(path, [[10, 10]]))
        before = s["img"].copy()
        s = t(s)
        assert s["img"].shape == before.shape and s["img"].dtype == np.uint8
        assert s["keypoints"].tolist() == [[10, 10]] and "warp" in s
        if not isinstance(t, CLAHE):
            assert not np.array_equal(s["img"], before), t
    s = LoadCephalogram()(_sample(path, [[10, 10]]))
    assert np.array_equal(PhotometricJitter(brightness=(0, 0), contrast=(1, 1))(dict(s))["img"], s["img"])


def test_pack_gives_uint8_chw_and_a_landmark_sample(tmp_path):
    path = write_image(tmp_path / "k.png", hw=(60, 50))
    pipeline = [TRANSFORMS.build(dict(type="LoadCephalogram", channels=3)),
                TRANSFORMS.build(dict(type="LetterboxResize", size=(32, 48))),
                TRANSFORMS.build(dict(type="PackLandmarkInputs"))]
    s = dict(_sample(path, [[10, 20], [30, 40]]), spacing=None, sample_idx=4)
    for t in pipeline:
        s = t(s)
    inputs, sample = s["inputs"], s["data_samples"]
    assert tuple(inputs.shape) == (3, 48, 32) and str(inputs.dtype) == "torch.uint8"
    assert isinstance(sample, LandmarkSample)
    assert np.isnan(sample.spacing) and sample.img_shape == (48, 32) and sample.ori_shape == (60, 50)
    assert sample.warp.shape == (3, 3) and sample.sample_idx == 4 and sample.landmark_set == "ruler"
    assert sample.keypoints.dtype == np.float32 and sample.keypoints.shape == (2, 2)
    np.testing.assert_allclose(to_original(sample.keypoints, sample.warp), sample.ori_keypoints, atol=0.01)


def test_decode_cache_serves_read_only_copies_of_one_decode(tmp_path):
    """cache_size keeps decoded images per worker; a cached image cannot be changed in place by a later step."""
    path = write_image(tmp_path / "a.png", hw=(40, 30), value=90)
    load = LoadCephalogram(channels=3, cache_size=4)
    first = load({"img_path": str(path)})
    second = load({"img_path": str(path)})
    assert second["img"] is first["img"] and second["ori_shape"] == (40, 30)
    with pytest.raises(ValueError):
        second["img"][0, 0] = 0
    assert LoadCephalogram(channels=3)({"img_path": str(path)})["img"].flags.writeable  # no cache: a fresh array
