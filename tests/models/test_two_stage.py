"""The two-stage detector: patch geometry, the training patches, both stages learning, the refine step,
and the export of two graphs that predict what the checkpoint predicts.

Everything runs on tiny synthetic cephalograms (a few bright blobs as landmarks) in a temporary ISBI layout,
with HRNet-W18-small stages on 64 px inputs and 32 px patches.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from two_stage_helpers import PATCH, SCALE, H, K, W, _batch, _blob_image, _results, _two_stage, _two_stage_checkpoint

from zoo.models.patches import crop_patches, patch_to_original, patch_warp
from zoo.registry import TRANSFORMS, load_plugins
from zoo.structures import apply_warp

load_plugins()


def _centroid(patch: np.ndarray) -> np.ndarray:
    p = patch[..., 0].astype(np.float64)
    p = np.clip(p - np.median(p), 0, None)
    ys, xs = np.mgrid[0:p.shape[0], 0:p.shape[1]]
    return np.array([(p * xs).sum() / p.sum(), (p * ys).sum() / p.sum()])


@pytest.mark.parametrize("scale,angle", [(1.0, 0.0), (1.0, 30.0), (2.0, 0.0), (2.0, -20.0)])
def test_patch_geometry_puts_a_point_where_its_warp_says(scale, angle):
    dot = np.array([61.0, 83.0])
    img = _blob_image([dot], sigma=2.0 * scale)
    patches, warps = crop_patches(img, [dot + [5.0, -3.0]], 33, scale, angles=[angle])
    expected = apply_warp(dot[None], warps[0])[0]
    assert np.abs(_centroid(patches[0]) - expected).max() < 0.35
    assert np.allclose(patch_to_original(expected[None], warps), dot[None], atol=1e-9)
    assert np.allclose(apply_warp([[5.0, -3.0] + dot], patch_warp(dot + [5.0, -3.0], 33, scale, angle)), 16.0)


def test_patches_from_a_reduced_copy_match_the_original():
    """A patch cut from a 2x-reduced image (with its warp) shows the same point at the same patch pixel."""
    import cv2

    dot = np.array([70.0, 90.0])
    img = _blob_image([dot], sigma=3.0)
    small = cv2.resize(img, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    down = np.array([[0.5, 0, -0.25], [0, 0.5, -0.25], [0, 0, 1]])
    a, _ = crop_patches(img, [dot], 32, 2.0)
    b, _ = crop_patches(small, [dot], 32, 2.0, src_warp=down)
    assert np.abs(_centroid(a[0]) - _centroid(b[0])).max() < 0.3


@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_patches_read_only_the_region_under_them_yet_equal_a_whole_image_reduction(scale):
    """Averaging only the blocks under each patch gives the pixels that averaging the whole image in
    the same blocks gives; a patch off the image is all padding, one across its edge is padded there."""
    import cv2

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (H * 3, W * 3, 3), dtype=np.uint8)  # sides divisible by the blocks
    b = int(scale)
    whole = cv2.resize(img, (img.shape[1] // b, img.shape[0] // b), interpolation=cv2.INTER_AREA)
    to_blocks = np.array([[1 / b, 0, 0.5 / b - 0.5], [0, 1 / b, 0.5 / b - 0.5], [0, 0, 1]])
    centres = [[190.0, 230.0], [5.0, 470.0], [-900.0, -900.0]]
    ours, warps = crop_patches(img, centres, 32, scale, pad_value=7)
    for patch, warp in zip(ours, warps):
        ref = cv2.warpAffine(whole, (warp @ np.linalg.inv(to_blocks))[:2], (32, 32), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(7, 7, 7, 7))
        assert np.abs(patch.astype(int) - ref.astype(int)).max() <= 1
    assert (ours[2] == 7).all() and (ours[1][:, 0] == 7).all() and (ours[1][:, -1] != 7).any()


@pytest.mark.parametrize("scale, channels", [(2.0, 3), (2.5, 1), (3.0, 3)])
def test_overlapping_views_averaged_once_over_the_image_are_the_same_pixels(scale, channels):
    """Nine views per landmark cover more than the image, so the crop averages the image once instead of
    every patch's region: exactly the same patches (edge and off-image ones too), whichever it picks."""
    rng = np.random.default_rng(2)
    img = rng.integers(0, 255, (H * 3 + 2, W * 3 + 1, channels), dtype=np.uint8)  # ragged edge blocks
    points = np.array([[190.0, 230.0], [5.0, 470.0], [300.0, 20.0], [-900.0, -900.0]])
    grid = np.array([(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], float) * 6 * scale
    centres = (points[None] + grid[:, None]).reshape(-1, 2)
    angles = np.repeat(np.array([0, 6, -6, 6, 0, 6, -6, 6, -6], float), len(points))
    per_region, warps = crop_patches(img, centres, 32, scale, angles=angles, pad_value=7, reduce_whole=False)
    once, warps_once = crop_patches(img, centres, 32, scale, angles=angles, pad_value=7, reduce_whole=True)
    chosen, _ = crop_patches(img, centres, 32, scale, angles=angles, pad_value=7)
    np.testing.assert_array_equal(once, per_region)
    np.testing.assert_array_equal(chosen, per_region)
    np.testing.assert_array_equal(warps_once, warps)
    assert (per_region[3::4] == 7).all() and (per_region[:3] != 7).any()


def test_refine_patches_cut_each_landmark_near_the_centre():
    np.random.seed(0)
    step = TRANSFORMS.build(dict(type="RefinePatches", patch_size=PATCH, patch_scale=SCALE, jitter=6.0,
                                 max_shift=0.5, rotate=15.0, scale=(0.9, 1.1), num_patches=5))
    out = step(_results())
    assert out["patches"].shape == (5, PATCH, PATCH, 1) and out["patches"].dtype == np.uint8
    assert out["patch_keypoints"].shape == (5, K, 2) and out["patch_visible"].shape == (5, K)
    own = out["patch_keypoints"][np.arange(5), out["patch_index"]]
    half = (PATCH - 1) / 2
    # max_shift 0.5 of the half-width, in original px; in patch px that is 0.5 * half / (scale multiplier)
    assert (np.abs(own - half) <= 0.5 * half / 0.9 + 1e-3).all()
    kept = TRANSFORMS.build(dict(type="RefinePatches", test_mode=True))(_results())
    assert kept["refine_img"] is not None and "patches" not in kept


def test_both_stages_learn_from_one_loss():
    model = _two_stage().train()
    data = model.data_preprocessor(_batch(train=True), training=True)
    losses = model(**data, mode="loss")
    assert set(losses) == {"loss", "coarse", "fine"}
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    for stage in (model.global_stage, model.refine_stage):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in stage.backbone.parameters())


def test_predict_refines_coarse_landmarks_and_iters_zero_keeps_them():
    model = _two_stage().eval()
    data = model.data_preprocessor(_batch(train=False), training=False)
    out = model(**data, mode="predict")
    assert out[0].pred_keypoints.shape == (K, 2) and np.isfinite(out[0].pred_keypoints).all()
    assert out[0].pred_scores.shape == (K,)
    model.test_cfg["iters"], model.test_cfg["min_score"] = 0, 0.0
    again = model(**model.data_preprocessor(_batch(train=False), training=False), mode="predict")
    assert np.array_equal(again[0].pred_keypoints, again[0].pred_coarse_keypoints)
    assert not again[0].pred_refined.any()


def test_refine_step_moves_landmarks_to_the_refine_graphs_answer():
    """With a stand-in refine graph that always answers 'the patch centre plus (3, -2) patch px', every
    landmark moves by (3, -2) x patch_scale original px per pass."""
    from zoo.models.refinement import RefineSpec, refine_landmarks

    spec = RefineSpec(patch_size=PATCH, patch_scale=SCALE, iters=2, min_score=0.5, channels=3)
    coarse = np.array([[40.0, 50.0], [60.0, 70.0]])

    def run(x):
        m = len(x)
        xy = np.full((m, 2), (PATCH - 1) / 2) + [3.0, -2.0]
        return xy, np.ones(m)

    [(xy, score, moved, _)] = refine_landmarks([_blob_image(coarse)], [np.eye(3)], [coarse], [np.zeros(2)], run, spec)
    assert np.allclose(xy, coarse + 2 * np.array([3.0, -2.0]) * SCALE)
    assert moved.all() and np.allclose(score, 1.0)

    def weak(x):
        xy, _ = run(x)
        return xy, np.full(len(x), 0.1)

    [(xy, _, moved, _)] = refine_landmarks([_blob_image(coarse)], [np.eye(3)], [coarse], [np.zeros(2)], weak, spec)
    assert np.array_equal(xy, coarse) and not moved.any()  # below min_score: the coarse answer stands


def test_refine_views_each_map_back_through_their_own_patch_and_are_averaged():
    """Views shift, rotate and rescale the patches; a refine graph that finds the blob in any patch gives the
    blob's position from every view, so the average is the blob, not the coarse guess or a view's offset."""
    from zoo.models.refinement import RefineSpec, parse_views, refine_landmarks

    truth = np.array([[40.0, 50.0], [70.0, 100.0]])
    coarse = truth + [[4.0, -3.0], [-5.0, 2.0]]
    views = parse_views([dict(), dict(shift=(4, 0), angle=10.0), dict(shift=(0, -4), scale=1.1),
                         dict(shift=(-3, 3), angle=-8.0, scale=0.9)])
    spec = RefineSpec(patch_size=PATCH, patch_scale=SCALE, min_score=0.5, channels=3, views=views)
    seen = []

    def find_blob(x):  # normalised patches -> the bright blob's centroid in each patch
        seen.append(np.stack([_centroid(p.transpose(1, 2, 0)) for p in x]))
        return seen[-1], np.ones(len(x))

    [(xy, _, moved, _)] = refine_landmarks([_blob_image(truth)], [np.eye(3)], [coarse], [np.zeros(2)], find_blob, spec)
    [found] = seen  # every view of every landmark in one batch, view-major: patch m is landmark m % K
    expected = [apply_warp(truth[k:k + 1], patch_warp(coarse[k] + np.array([dx, dy]) * SCALE, PATCH, SCALE * s, a))[0]
                for dx, dy, a, s in views for k in range(len(truth))]
    assert np.abs(found - np.array(expected)).max() < 0.35  # each view cut where, and as, it says
    assert moved.all() and np.abs(xy - truth).max() < 0.35
    assert np.abs(coarse - truth).max() > 4

    def centre_plus(x):  # 'the patch centre plus (3, -2)', confident only on the first two views
        m = len(x)
        xy = np.full((m, 2), (PATCH - 1) / 2) + [3.0, -2.0]
        return xy, np.repeat([1.0, 1.0, 0.1, 0.1], m // 4)

    plain = RefineSpec(patch_size=PATCH, patch_scale=SCALE, min_score=0.5, channels=3,
                       views=parse_views([dict(shift=(-6, 0)), dict(shift=(6, 0)), dict(shift=(0, 9)), dict()]))
    [(xy, score, _, spread)] = refine_landmarks([_blob_image(truth)], [np.eye(3)], [coarse], [np.zeros(2)],
                                                centre_plus, plain)
    assert np.allclose(xy, coarse + np.array([3.0, -2.0]) * SCALE)  # the +-6 px views cancel; weak views left out
    assert np.allclose(score, 1.0)
    assert np.allclose(spread, 6.0 * SCALE)  # the two agreeing answers lie 12 patch px apart: 6 from their mean


def test_refine_views_travel_in_the_checkpoint_metadata_and_bad_ones_are_named():
    from zoo.models.errors import ModelConfigError
    from zoo.models.refinement import RefineSpec

    views = [dict(shift=(12, -12)), dict(angle=5.0, scale=1.1)]
    model = _two_stage(test_cfg=dict(views=views))
    spec = model.refine_spec()
    assert spec.views == ((12.0, -12.0, 0.0, 1.0), (0.0, 0.0, 5.0, 1.1))
    assert RefineSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec  # what the Predictor reads
    old = {k: v for k, v in spec.to_dict().items() if k != "views"}  # metadata written before views existed
    assert RefineSpec.from_dict(old).views == ((0.0, 0.0, 0.0, 1.0),)
    with pytest.raises(ModelConfigError, match="'view' \\(did you mean 'views'\\?\\)"):
        _two_stage(test_cfg=dict(view=views))
    with pytest.raises(ModelConfigError, match="flip and multi-scale testing of the global stage go in global_stage"):
        _two_stage(test_cfg=dict(flip_test=True))
    with pytest.raises(ModelConfigError, match="refine view 1 .* got \\{'shift': \\(1, 2\\), 'angel': 3\\}"):
        _two_stage(test_cfg=dict(views=[dict(), dict(shift=(1, 2), angel=3)]))
    with pytest.raises(ModelConfigError, match="scale must be > 0"):
        _two_stage(test_cfg=dict(views=[dict(scale=0.0)]))
    with pytest.raises(ModelConfigError, match="non-empty list"):
        _two_stage(test_cfg=dict(views=[]))


def test_benchmark_times_the_refine_batch_of_every_view():
    """`zoo benchmark` and the leaderboard time what serving runs: V x K patches per refine pass."""
    from zoo.benchmarking.run import refine_input

    patches, passes = refine_input(_two_stage(test_cfg=dict(views=[dict(), dict(shift=(2, 0)), dict(angle=5.0)])), 3)
    assert patches.shape == (3 * K, 3, PATCH, PATCH) and passes == 1


def test_training_without_refine_patches_says_what_to_add():
    from zoo.models.errors import ModelConfigError

    model = _two_stage().train()
    from mmengine.dataset import pseudo_collate

    steps = [TRANSFORMS.build(dict(type="LetterboxResize", size=(64, 64))),
             TRANSFORMS.build(dict(type="PackLandmarkInputs"))]
    r = _results()
    for s in steps:
        r = s(r)
    data = model.data_preprocessor(pseudo_collate([r]), training=True)
    with pytest.raises(ModelConfigError, match="RefinePatches"):
        model(**data, mode="loss")
    model.eval()
    with pytest.raises(ModelConfigError, match="RefinePatches"):
        model(**model.data_preprocessor(pseudo_collate([r]), training=False), mode="predict")


def test_a_refine_stage_needs_heatmaps():
    from zoo.models.errors import ModelConfigError

    with pytest.raises(ModelConfigError, match="heatmap head"):
        _two_stage(refine_stage=dict(backbone=dict(type="ResNetBackbone", depth=18), head=dict(type="RegressionHead"),
                                     decoder=dict(type="RegressionDecoder")))


# -- export: two graphs, the predictor crops between them ---------------------------------------------------

@pytest.fixture(scope="module")
def two_stage_checkpoint(tmp_path_factory) -> Path:
    return _two_stage_checkpoint(tmp_path_factory.mktemp("two stage export"))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "onnx-int8"])
def test_two_stage_exports_two_graphs_that_predict_what_the_checkpoint_predicts(two_stage_checkpoint, fmt):
    from zoo.exporters import FORMATS
    from zoo.inference import Predictor
    from zoo.registry import EXPORTERS

    out = two_stage_checkpoint.with_name({"onnx": "exported.onnx", "onnx-int8": "exported.int8.onnx",
                                          "torchscript": "exported.torchscript.pt"}[fmt])
    exporter = EXPORTERS.build(dict(type=FORMATS[fmt], threads=1))
    if fmt == "onnx-int8":
        # random heatmaps have no stable peak for int8 to keep (its accuracy check is on trained models,
        # tests/export); here: both graphs quantized, calibrated on the dataset's images, and they run
        exporter.calib_images = 3
        result = exporter.export(two_stage_checkpoint, out, check=False)
    else:
        result = exporter.export(two_stage_checkpoint, out)
        assert result.report.passed, result.report.summary()
        assert json.loads(result.report_path.read_text())["images"] >= 1  # checked on the dataset's images
    refine_graph = result.path.with_name({"onnx": "exported.refine.onnx", "onnx-int8": "exported.refine.int8.onnx",
                                          "torchscript": "exported.refine.torchscript.pt"}[fmt])
    assert refine_graph.is_file()
    image = next((two_stage_checkpoint.parent / "isbi data" / "RawImage" / "Test1Data").glob("*.jpg"))
    if fmt == "onnx-int8":  # both graphs quantized: the refine graph was calibrated on real patches
        import onnx

        for graph in (result.path, refine_graph):
            assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(graph)).graph.node)
        entry = Predictor.from_path(result.path).predict(image)
        assert all(np.isfinite([lm["x"], lm["y"]]).all() for lm in entry["landmarks"].values())
        return
    a = Predictor.from_path(two_stage_checkpoint).predict(image)
    b = Predictor.from_path(result.path, trust=fmt == "torchscript").predict(image)  # our own export
    for s in a["landmarks"]:
        assert abs(a["landmarks"][s]["x"] - b["landmarks"][s]["x"]) < 0.1
        assert abs(a["landmarks"][s]["y"] - b["landmarks"][s]["y"]) < 0.1
    from zoo.modelfile import ModelFileError

    with pytest.raises(ModelFileError, match=f"refine graph .* open its global graph {result.path.name}"):
        Predictor.from_path(refine_graph, trust=True)
    refine_graph.rename(refine_graph.with_name("moved"))
    try:
        with pytest.raises(ModelFileError, match="needs its refine graph"):
            Predictor.from_path(result.path, trust=True)
    finally:
        refine_graph.with_name("moved").rename(refine_graph)


_REFINE_VIEWS = [dict(), dict(shift=(4, 0)), dict(shift=(0, -4), angle=6.0, scale=1.1)]


@pytest.mark.parametrize("option, smoke_over, fmt", [
    ("views", dict(test_cfg=dict(views=_REFINE_VIEWS)), "onnx"),
    ("views", dict(test_cfg=dict(views=_REFINE_VIEWS)), "torchscript"),
    ("context", dict(patch_context=(2.0, 4.0)), "onnx"),
])
def test_exported_graphs_serve_the_refine_options_of_the_checkpoint(tmp_path, option, smoke_over, fmt):
    """A model tested with refine views, or cut with context channels, is served with them: the Predictor reads
    them from the metadata for the checkpoint and its exported graphs alike (the exported refine graph takes
    V x K patches per image), which then predict the same landmarks."""
    from zoo.exporters import FORMATS
    from zoo.inference import Predictor
    from zoo.models.refinement import parse_views
    from zoo.registry import EXPORTERS

    expected = {"views": parse_views(_REFINE_VIEWS), "context": (2.0, 4.0)}[option]
    ckpt = _two_stage_checkpoint(tmp_path, **smoke_over)
    result = EXPORTERS.build(dict(type=FORMATS[fmt], threads=1)).export(ckpt, tmp_path / f"{option}.{fmt}")
    assert result.report.passed, result.report.summary()
    image = next((tmp_path / "isbi data" / "RawImage" / "Test1Data").glob("*.jpg"))
    a, b = Predictor.from_path(ckpt), Predictor.from_path(result.path, trust=fmt == "torchscript")
    assert getattr(a.refine, option) == getattr(b.refine, option) == expected
    pa, pb = a.predict(image)["landmarks"], b.predict(image)["landmarks"]
    for s in pa:
        assert abs(pa[s]["x"] - pb[s]["x"]) < 0.1 and abs(pa[s]["y"] - pb[s]["y"]) < 0.1


def test_context_channels_are_the_same_centre_sampled_coarser_and_share_the_fine_warp():
    """patch_context=(2, 4): channel c is the gray patch cut at scale x (1, 2, 4)[c] around the same centre
    and turn; the warp (where a landmark lands in the patch) is the fine level's."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 255, (H * 3, W * 3, 1), dtype=np.uint8)
    centres, angles = [[190.0, 230.0], [40.0, 400.0]], [0.0, 8.0]
    stacked, warps = crop_patches(img, centres, 32, 2.0, angles=angles, context=(2.0, 4.0))
    assert stacked.shape == (2, 32, 32, 3)
    for c, step in enumerate((1.0, 2.0, 4.0)):
        level, level_warps = crop_patches(img, centres, 32, 2.0 * step, angles=angles)
        np.testing.assert_array_equal(stacked[..., c], level[..., 0])
        if step == 1.0:
            np.testing.assert_array_equal(warps, level_warps)
    colour = np.repeat(img, 3, axis=2)  # a colour source is cut from its gray image
    np.testing.assert_array_equal(crop_patches(colour, centres, 32, 2.0, angles=angles, context=(2.0, 4.0))[0],
                                  stacked)


def test_context_channels_train_predict_and_travel_in_the_metadata():
    from zoo.models.errors import ModelConfigError
    from zoo.models.refinement import RefineSpec

    model = _two_stage(patch_context=(2.0, 4.0)).train()
    spec = model.refine_spec()
    assert spec.context == (2.0, 4.0)
    assert RefineSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec  # what the Predictor reads
    old = {k: v for k, v in spec.to_dict().items() if k != "context"}  # metadata written before context existed
    assert RefineSpec.from_dict(old).context == ()
    step = TRANSFORMS.build(dict(type="RefinePatches", patch_size=PATCH, patch_scale=SCALE, context=(2, 4)))
    np.random.seed(0)
    out = step(_results())
    assert out["patches"].shape == (K, PATCH, PATCH, 3)
    own = out["patch_keypoints"][np.arange(K), out["patch_index"]]  # targets in the fine level's px
    assert (np.abs(own - (PATCH - 1) / 2) <= 0.6 * (PATCH - 1) / 2 + 1e-3).all()
    losses = model(**model.data_preprocessor(_batch(train=True, context=(2, 4)), training=True), mode="loss")
    losses["loss"].backward()
    assert torch.isfinite(losses["loss"])
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.refine_stage.backbone.parameters())
    plain = _batch(train=True)  # patches cut without context: the model refuses to learn what it won't be served
    with pytest.raises(ModelConfigError, match=r"cut patches with context=\(\), the model's patch_context is "
                                               r"\(2.0, 4.0\); give RefinePatches the same"):
        model(**model.data_preprocessor(plain, training=True), mode="loss")
    plain_model = _two_stage().train()
    with pytest.raises(ModelConfigError, match=r"context=\(2.0, 4.0\), the model's patch_context is \(\)"):
        plain_model(**plain_model.data_preprocessor(_batch(train=True, context=(2, 4)), training=True), mode="loss")
    with pytest.raises(ModelConfigError, match=r"cut patches with patch_scale=3.0, the model's patch_scale is "
                                               r"2.0; give RefinePatches the same `patch_scale`"):
        coarser = _batch(train=True, patch_scale=3.0)  # cut at another scale than the model serves at
        plain_model(**plain_model.data_preprocessor(coarser, training=True), mode="loss")
    with pytest.raises(ModelConfigError, match="makes patches of 2 channels .* set its `channels` to 2"):
        _two_stage(patch_context=(3.0,))
    with pytest.raises(ModelConfigError, match="multipliers must be > 0"):
        _two_stage(patch_context=(2.0, 0.0))
    seen = []
    model.eval().refine_tensor = lambda x: (seen.append(x.shape) or torch.zeros(len(x), 2), torch.ones(len(x)))
    model(**model.data_preprocessor(_batch(train=False), training=False), mode="predict")
    assert seen == [(2 * K, 3, PATCH, PATCH)]


def test_benchmark_times_both_graphs_of_a_two_stage_model(two_stage_checkpoint, tmp_path):
    """Latency and GFLOPs of a two-stage model include its refine passes over the K patches."""
    from zoo.benchmarking.run import bench_target, count_gflops, load_target

    model, _, _ = load_target(two_stage_checkpoint)
    entry = bench_target(str(two_stage_checkpoint), 64, 2, ["eager", "ort_fp32"], 1, 2, tmp_path, log=lambda *a: None)
    global_only = count_gflops(model, torch.randn(1, 3, 64, 64))
    assert entry["refine"] == {"patches": K, "patch_size": PATCH, "passes": 1}
    assert entry["gflops"] > global_only * 1.5  # 19 patches of 32 px outweigh one 64 px image
    for runtime in ("eager", "ort_fp32"):
        assert entry["runtimes"][runtime].get("ms", 0) > 0, entry["runtimes"][runtime]


def test_predict_cli_and_serve_answer_from_a_two_stage_model(two_stage_checkpoint, tmp_path):
    """`zoo predict` and the HTTP API take a two-stage checkpoint like any other and agree with the Predictor."""
    from fastapi.testclient import TestClient

    from zoo.cli import main
    from zoo.inference import Predictor
    from zoo.serve.app import create_app

    image = sorted((two_stage_checkpoint.parent / "isbi data" / "RawImage" / "Test1Data").glob("*.jpg"))[0]
    direct = Predictor.from_path(two_stage_checkpoint).predict(image)
    out = tmp_path / "preds.json"
    try:
        main(["predict", str(two_stage_checkpoint), str(image), "--out", str(out)])
    except SystemExit as done:  # typer's standalone mode exits 0 after a command
        assert done.code in (0, None)
    [entry] = json.loads(out.read_text())["predictions"]
    with TestClient(create_app(Predictor.from_path(two_stage_checkpoint))) as client:
        answer = client.post("/v1/landmarks", files={"file": (image.name, image.read_bytes(), "image/jpeg")})
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"][0]["landmarks"]
    for s, lm in direct["landmarks"].items():
        for got in (entry["landmarks"][s], served[s]):
            assert abs(got["x"] - lm["x"]) < 1e-3 and abs(got["y"] - lm["y"]) < 1e-3


def test_refine_graph_reads_each_patch_on_its_own_heatmap():
    """The graph's pick of heatmap k for patch k equals decoding all K heatmaps and taking the diagonal."""
    model = _two_stage().eval()
    x = torch.randn(2 * K, 3, PATCH, PATCH)
    with torch.no_grad():
        xy, score = model.refine_tensor(x)
        full_xy, full_score = model.refine_stage.decode(x)
    own = torch.arange(2 * K) % K
    assert xy.shape == (2 * K, 2) and score.shape == (2 * K,)
    assert torch.allclose(xy, full_xy[torch.arange(2 * K), own], atol=1e-4)
    assert torch.allclose(score, full_score[torch.arange(2 * K), own], atol=1e-5)


def test_refine_graph_runs_on_the_device_of_its_patches():
    """Every operation of the refine graph sees tensors of one device (validation on CUDA once failed: the
    graph's own-landmark mask stayed on the CPU). The meta device stands in for a GPU here."""
    from torch.overrides import TorchFunctionMode

    class OneDevice(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.mixed = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            flat = [*args, *(kwargs or {}).values()]
            devices = {a.device.type for a in flat if isinstance(a, torch.Tensor)}
            if len(devices) > 1:
                self.mixed.append((getattr(func, "__name__", str(func)), sorted(devices)))
            return func(*args, **(kwargs or {}))

    model = _two_stage().eval().to("meta")
    with torch.no_grad(), OneDevice() as mode:
        xy, score = model.refine_tensor(torch.empty(2 * K, 3, PATCH, PATCH, device="meta"))
    assert mode.mixed == [] and xy.device.type == score.device.type == "meta"


def test_channels_last_training_keeps_the_optimizer_the_loss_and_the_checkpoint():
    """ChannelsLastHook converts a two-stage model in place: same parameters, same loss, portable weights."""
    from types import SimpleNamespace

    from zoo.engine.hooks import ChannelsLastHook

    model = _two_stage().train()
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    data = model.data_preprocessor(_batch(train=True), training=True)
    torch.manual_seed(1)
    before = model(**data, mode="loss")["loss"].item()

    ChannelsLastHook().before_train(SimpleNamespace(model=model))

    convs = [p for p in model.parameters() if p.dim() == 4 and p.shape[-1] > 1]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert all(a is b for a, b in zip(params, model.parameters()))  # the optimizer still holds them
    torch.manual_seed(1)
    loss = model(**data, mode="loss")["loss"]
    assert loss.item() == pytest.approx(before, rel=1e-4)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    plain = _two_stage().eval()
    plain.load_state_dict(model.state_dict())
    model.eval()
    # a batch each: predict writes its answers onto the batch's own sample objects
    a = model(**model.data_preprocessor(_batch(train=False), training=False), mode="predict")
    b = plain(**plain.data_preprocessor(_batch(train=False), training=False), mode="predict")
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.pred_keypoints, y.pred_keypoints, atol=1e-2)


def test_refine_oracle_splits_the_models_own_error_between_its_stages(two_stage_checkpoint, tmp_path,
                                                                     project_script):
    """The two-stage project's refine_oracle.py: its 'model' column is what the predictor predicts, its 'global'
    column what the global stage alone predicts, and the refine stage from the truth is the same refine step,
    re-centred."""
    from zoo.inference import Predictor

    oracle = project_script("two_stage_isbi", "refine_oracle")
    root = two_stage_checkpoint.parent / "isbi data"
    out = tmp_path / "oracle figures.json"
    oracle.main([str(two_stage_checkpoint), "--data-root", str(root), "--split", "test1", "--indices", "all",
                 "--out", str(out)])
    figures = json.loads(out.read_text())
    assert figures["images"] == 3 and len(figures["mean_radial_error_mm"]["per_landmark"]) == K

    predictor = Predictor.from_path(two_stage_checkpoint)
    global_only = Predictor(predictor.backend, {k: v for k, v in predictor.meta.items() if k != "refine"})
    expected = {"model": [], "global": []}
    for path in sorted((root / "RawImage" / "Test1Data").glob("*.jpg")):
        truth = np.loadtxt(root / "AnnotationsByMD" / "400_senior" / f"{path.stem}.txt", delimiter=",")
        for key, p in (("model", predictor), ("global", global_only)):
            xy, _ = p.predict_array(p.load(path, path.name))
            expected[key].append(np.hypot(*(xy - truth).T) * 0.1)
    for key, errors in expected.items():
        per_landmark = np.mean(errors, axis=0)
        got = [figures["mean_radial_error_mm"]["per_landmark"][s][key] for s in predictor.symbols]
        np.testing.assert_allclose(got, per_landmark, atol=1e-6, err_msg=key)
    assert np.isfinite(figures["mean_radial_error_mm"]["all"]["refine_from_truth"])


def test_device_script_packs_a_checkpoint_into_named_parts_that_unpack_to_what_the_predictor_predicted(
        two_stage_checkpoint, tmp_path, monkeypatch, project_script):
    """The two-stage project's two_stage_device.py: a remote GPU machine hands back each trained model as fp16
    parts named after its config (several train side by side); the parts unpack into a checkpoint that predicts what the
    original predicted, to fp16 rounding."""
    from zoo.inference import Predictor

    device = project_script("two_stage_isbi", "two_stage_device")
    monkeypatch.setattr(device, "PART_BYTES", 1 << 20)  # several parts from a small checkpoint
    parts = device.pack(two_stage_checkpoint, tmp_path, "my config")
    assert len(parts) > 1 and parts == [f"my config.part{i:02d}" for i in range(len(parts))]
    restored = tmp_path / "from the GPU machine.pth"
    device.main(["--unpack", *(str(tmp_path / p) for p in reversed(parts)), "--to", str(restored)])

    root = two_stage_checkpoint.parent / "isbi data"
    image = sorted((root / "RawImage" / "Test1Data").glob("*.jpg"))[0]
    before, after = Predictor.from_path(two_stage_checkpoint), Predictor.from_path(restored)
    assert after.meta == before.meta
    xy_before, _ = before.predict_array(before.load(image, image.name))
    xy_after, _ = after.predict_array(after.load(image, image.name))
    np.testing.assert_allclose(xy_after, xy_before, atol=0.5)  # original px; fp16 weights
