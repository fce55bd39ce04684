"""Behaviour the generated contract tests cannot see: conventions, precision, weights files, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.registry import BACKBONES, DECODERS, HEADS, LOSSES, MODELS, ZooError, load_plugins

load_plugins()


# --- pixel convention -------------------------------------------------------------------------------


def test_heatmap_cell_centres_map_to_input_pixel_centres():
    from zoo.heads.convention import heatmap_to_input, input_to_heatmap

    # stride 4: heatmap cell 0 covers input pixels 0..3, whose centre is 1.5
    uv = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    xy = heatmap_to_input(uv, (64, 64), (16, 16))
    assert torch.allclose(xy, torch.tensor([[1.5, 1.5], [5.5, 9.5]]))
    assert torch.allclose(input_to_heatmap(xy, (64, 64), (16, 16)), uv)
    # the image edge -0.5 is the heatmap edge -0.5 at any stride
    assert torch.allclose(
        input_to_heatmap(torch.tensor([-0.5, 63.5]), (64, 64), (16, 16)), torch.tensor([-0.5, 15.5])
    )


def test_gaussian_targets_peak_at_the_sub_pixel_centre():
    from zoo.heads.convention import render_gaussians

    centre = torch.tensor([[[5.3, 7.8]]])
    maps = render_gaussians(centre, (16, 12), sigma=2.0)
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(12.0), indexing="ij")
    expected = torch.exp(-((xs - 5.3) ** 2 + (ys - 7.8) ** 2) / 8.0)
    assert maps.shape == (1, 1, 16, 12)
    assert torch.allclose(maps[0, 0], expected, atol=1e-6)


def test_heatmap_head_zeroes_keypoints_outside_the_map():
    head = HEADS.build(dict(type="HeatmapHead", in_channels=[8], in_strides=[4], num_keypoints=2))
    kp = torch.tensor([[[10.0, 10.0], [80.0, 10.0]]])
    t = head.encode(kp, torch.ones(1, 2), (64, 64))
    assert t["weight"].tolist() == [[1.0, 0.0]]
    assert t["heatmaps"][0, 1].abs().sum() == 0


@pytest.mark.parametrize("stride", [3, 8])
def test_heatmap_head_rejects_impossible_strides(stride):
    with pytest.raises(ZooError, match="output_stride"):
        HEADS.build(
            dict(type="HeatmapHead", in_channels=[8], in_strides=[4], num_keypoints=2, output_stride=stride)
        )


# --- decoders ---------------------------------------------------------------------------------------


def _gaussians(n=400, size=48, sigma=2.0, noise=0.0, seed=0):
    from zoo.heads.convention import render_gaussians

    g = torch.Generator().manual_seed(seed)
    centres = 6 + torch.rand(n, 1, 2, generator=g) * (size - 13)
    maps = render_gaussians(centres, (size, size), sigma)
    if noise:
        maps = maps + noise * torch.randn(maps.shape, generator=g)
    return maps, centres


def _mre(decoder, maps, centres):
    coords, _ = decoder(maps, maps.shape[-2:])  # same input and heatmap size: heatmap px
    return (coords - centres).norm(dim=-1).mean().item()


def test_argmax_error_is_the_quantisation_floor():
    maps, centres = _gaussians()
    assert 0.33 < _mre(DECODERS.build(dict(type="ArgmaxDecoder")), maps, centres) < 0.43  # theory: 0.383


def test_dark_is_sub_pixel_on_clean_and_beats_argmax_on_noisy_maps():
    dark = DECODERS.build(dict(type="DarkDecoder", blur_sigma=2.0))
    argmax = DECODERS.build(dict(type="ArgmaxDecoder"))
    maps, centres = _gaussians()
    assert _mre(dark, maps, centres) < 0.05
    noisy, centres = _gaussians(noise=0.05, seed=1)
    assert _mre(dark, noisy, centres) < 0.5 * _mre(argmax, noisy, centres)


def test_soft_argmax_is_differentiable_and_accurate():
    from zoo.decoders.soft_argmax import soft_argmax

    maps, centres = _gaussians(n=50)
    maps.requires_grad_(True)
    coords = soft_argmax(maps, 20.0)
    assert (coords - centres).norm(dim=-1).mean() < 0.1
    coords.sum().backward()
    assert torch.isfinite(maps.grad).all() and maps.grad.abs().sum() > 0


def test_decoders_map_to_input_pixels_at_stride_4():
    from zoo.heads.convention import input_to_heatmap, render_gaussians

    kp = torch.tensor([[[100.3, 37.9], [20.2, 200.7]]])
    hm = render_gaussians(input_to_heatmap(kp, (256, 256), (64, 64)), (64, 64), 2.0)
    coords, conf = DECODERS.build(dict(type="DarkDecoder"))(hm, (256, 256))
    assert torch.allclose(coords, kp, atol=0.2)
    assert (conf > 0.9).all()


def test_dark_is_exact_at_the_border():
    from zoo.heads.convention import render_gaussians

    centres = torch.tensor([[[0.3, 10.0], [10.0, 15.2], [-0.2, -0.3]]])
    hm = render_gaussians(centres, (16, 16), 1.5)
    coords, _ = DECODERS.build(dict(type="DarkDecoder", blur_sigma=0))(hm, (16, 16))
    assert torch.allclose(coords, centres, atol=1e-3)
    coords, _ = DECODERS.build(dict(type="DarkDecoder", blur_sigma=1.5))(hm, (16, 16))
    assert torch.allclose(coords, centres, atol=1e-3)  # near the border the raw map is refined


# --- losses -----------------------------------------------------------------------------------------


def test_landmark_weights_scale_each_keypoint():
    pred = torch.zeros(1, 2, 4, 4)
    targets = dict(heatmaps=torch.ones(1, 2, 4, 4), weight=torch.ones(1, 2))
    plain = LOSSES.build(dict(type="HeatmapMSELoss"))(pred, targets)
    weighted = LOSSES.build(dict(type="HeatmapMSELoss", landmark_weights=[3.0, 0.0]))(pred, targets)
    assert torch.isclose(weighted, 1.5 * plain)
    with pytest.raises(ZooError, match="landmark_weights"):
        LOSSES.build(dict(type="HeatmapMSELoss", landmark_weights=[1.0]))(pred, targets)


def test_coordinate_losses_ignore_invisible_keypoints():
    pred = torch.tensor([[[1.0, 1.0], [50.0, 50.0]]])
    targets = dict(coords=torch.zeros(1, 2, 2), weight=torch.tensor([[1.0, 0.0]]))
    assert torch.isclose(LOSSES.build(dict(type="L1CoordLoss"))(pred, targets), torch.tensor(1.0))
    wing = LOSSES.build(dict(type="WingLoss", omega=10.0, epsilon=2.0))(pred, targets)
    assert torch.isclose(wing, torch.tensor(10.0 * np.log1p(0.5), dtype=torch.float32))


def test_wing_loss_is_continuous_at_omega():
    wing = LOSSES.build(dict(type="WingLoss", omega=10.0, epsilon=2.0))
    below, above = wing.elementwise(torch.tensor([9.9999])), wing.elementwise(torch.tensor([10.0001]))
    assert torch.isclose(below, above, atol=1e-3)


def test_combined_loss_parts_sum_to_the_total():
    head = HEADS.build(dict(type="HeatmapHead", in_channels=[8], in_strides=[4], num_keypoints=2, sigma=1.5))
    t = head.encode(torch.tensor([[[20.0, 30.0], [40.0, 10.0]]]), torch.ones(1, 2), (64, 64))
    loss = LOSSES.build(dict(type="CombinedHeatmapCoordLoss", coord_weight=5.0, focal_weight=0.5))
    pred = torch.rand(1, 2, 16, 16)
    parts = loss.components(pred, t)
    assert set(parts) == {"heatmap", "coord", "focal"}
    assert torch.isclose(sum(parts.values()), loss(pred, t))
    # soft-argmax of the target lands within 0.2 heatmap px of it (coords are normalised by the map size)
    assert loss.components(t["heatmaps"], t)["coord"] < 5.0 * 0.2 / 16
    shifted = torch.roll(t["heatmaps"], shifts=3, dims=-1)
    assert loss.components(shifted, t)["coord"] > 5.0 * 2.5 / 16 / 2  # L1 averages x and y



@pytest.mark.parametrize("loss_cfg", [dict(type="HeatmapMSELoss"), dict(type="FocalHeatmapLoss"),
                                      dict(type="CombinedHeatmapCoordLoss", coord_weight=5.0, focal_weight=0.5)])
def test_losses_of_half_precision_outputs_are_computed_in_fp32(loss_cfg):
    """Under mixed precision the head's output is bf16 (CPU) or fp16 (CUDA); the loss must not be."""
    model = _small_detector(loss=loss_cfg, head=dict(type="HeatmapHead", sigma=1.5))
    t = model.head.encode(torch.tensor([[[20.0, 30.0]] * model.num_keypoints]), torch.ones(1, model.num_keypoints),
                          (64, 64), heatmap_hw=(16, 16))
    half = (t["heatmaps"] * 0.9 + 0.01 * torch.rand(1, model.num_keypoints, 16, 16)).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model.loss_from_output(half, t)
    reference = model.loss_from_output(half.float(), t)
    assert mixed["loss"].dtype == torch.float32
    assert torch.equal(mixed["loss"], reference["loss"])
    assert set(mixed) == set(reference)


def test_a_detector_without_a_loss_says_it_cannot_train():
    model = _small_detector(loss=None)
    with pytest.raises(ZooError, match="cannot train"):
        model.loss_from_output(torch.zeros(1, model.num_keypoints, 4, 4), {})

# --- detector and preprocessor ------------------------------------------------------------------------


def _small_detector(**kw):
    cfg = dict(
        type="LandmarkDetector",
        landmark_set="isbi2015",
        backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small"),
        neck=dict(type="HRNetV2Neck"),
        head=dict(type="HeatmapHead"),
        decoder=dict(type="ArgmaxDecoder"),
        loss=dict(type="HeatmapMSELoss"),
    )
    cfg.update(kw)
    return MODELS.build(cfg)


def test_data_preprocessor_normalises_and_converts_channels():
    pre = MODELS.build(
        dict(type="LandmarkDataPreprocessor", mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 5.0], channels=3)
    )
    grey = torch.full((1, 8, 6), 50, dtype=torch.uint8)
    out = pre(dict(inputs=[grey, grey.clone()]))["inputs"]
    assert out.shape == (2, 3, 8, 6)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([20.0, 7.5, 4.0]))
    to_grey = MODELS.build(dict(type="LandmarkDataPreprocessor", mean=[0.0], std=[1.0], channels=1))
    rgb = torch.stack([torch.full((4, 4), v, dtype=torch.uint8) for v in (30, 60, 90)])
    assert torch.allclose(to_grey(dict(inputs=[rgb]))["inputs"], torch.full((1, 1, 4, 4), 60.0))
    with pytest.raises(ZooError, match="mean"):
        MODELS.build(dict(type="LandmarkDataPreprocessor", mean=[0.0], std=[1.0], channels=3))


def test_unknown_landmark_set_and_bad_mode_raise_zoo_errors():
    with pytest.raises(ZooError):
        _small_detector(landmark_set="no_such_set")
    model = _small_detector()
    with pytest.raises(ZooError, match="mode"):
        model(torch.zeros(1, 3, 64, 64), mode="train")
    no_loss = _small_detector(loss=None)
    with pytest.raises(ZooError, match="loss"):
        no_loss(torch.zeros(1, 3, 64, 64), [], mode="loss")


def test_flip_test_averages_with_the_mirrored_prediction():
    cfg = dict(
        landmark_set="ruler",
        backbone=dict(type="ResNetBackbone", depth=18),
        head=dict(type="RegressionHead"),
        decoder=dict(type="RegressionDecoder"),
    )
    torch.manual_seed(0)
    plain = MODELS.build(dict(type="LandmarkDetector", **cfg)).eval()
    flip = MODELS.build(dict(type="LandmarkDetector", test_cfg=dict(flip_test=True), **cfg)).eval()
    flip.load_state_dict(plain.state_dict())
    with torch.no_grad():
        plain.head.fc.weight.normal_(std=0.05)  # make the prediction depend on the image
        flip.load_state_dict(plain.state_dict())
        x = torch.randn(1, 3, 64, 64)
        a, _ = plain(x)
        b, _ = plain(x.flip(-1))
        mirrored = torch.stack((63 - b[..., 0], b[..., 1]), dim=-1)  # ruler has no pairs: same order
        c, _ = flip(x)
    assert torch.allclose(c, (a + mirrored) / 2, atol=1e-5)


def test_state_dict_holds_no_decoder_or_loss_buffers():
    model = _small_detector(
        decoder=dict(type="DarkDecoder"), loss=dict(type="HeatmapMSELoss", landmark_weights=[1.0] * 19)
    )
    keys = model.state_dict().keys()
    assert not any(k.startswith(("decoder.", "loss_module.")) for k in keys)
    assert any(k.startswith("backbone.") for k in keys) and any(k.startswith("head.") for k in keys)


# --- local pretrained weights -------------------------------------------------------------------------


def test_pretrained_from_a_local_file_with_prefix_and_grey_stem(tmp_path):
    import timm
    from safetensors.torch import save_file

    src = timm.create_model("resnet18", pretrained=False)
    state = {f"model.{k}": v for k, v in src.state_dict().items()}  # a wrapped checkpoint, with classifier
    path = tmp_path / "weights dir" / "resnet18.pth"
    path.parent.mkdir()
    torch.save({"state_dict": state}, path)
    rgb = BACKBONES.build(dict(type="ResNetBackbone", depth=18, pretrained=str(path)))
    assert torch.equal(rgb.model.conv1.weight, src.conv1.weight)
    assert torch.equal(rgb.model.layer4[1].conv2.weight, src.layer4[1].conv2.weight)
    grey = BACKBONES.build(dict(type="ResNetBackbone", depth=18, in_channels=1, pretrained=str(path)))
    assert torch.allclose(grey.model.conv1.weight, src.conv1.weight.sum(1, keepdim=True))
    st = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(st))
    again = BACKBONES.build(dict(type="ResNetBackbone", depth=18, pretrained=str(st)))
    assert torch.equal(again.model.layer1[0].conv1.weight, src.layer1[0].conv1.weight)


def test_pretrained_errors_name_the_file(tmp_path):
    from zoo.models.errors import WeightsFileError

    missing = tmp_path / "nope.pth"
    with pytest.raises(WeightsFileError, match="nope.pth"):
        BACKBONES.build(dict(type="ResNetBackbone", depth=18, pretrained=str(missing)))
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, wrong)
    with pytest.raises(WeightsFileError, match="wrong.pth"):
        BACKBONES.build(dict(type="ResNetBackbone", depth=18, pretrained=str(wrong)))
    pickled = tmp_path / "code.pth"
    torch.save({"state_dict": {"x": object()}}, pickled)  # not loadable with weights_only=True
    with pytest.raises(WeightsFileError, match="code.pth"):
        BACKBONES.build(dict(type="ResNetBackbone", depth=18, pretrained=str(pickled)))


def test_backbones_refuse_unknown_variants():
    with pytest.raises(ZooError, match="depth"):
        BACKBONES.build(dict(type="ResNetBackbone", depth=101))
    with pytest.raises(ZooError, match="hrnet_w18"):
        BACKBONES.build(dict(type="HRNetBackbone", arch="hrnet_w64"))


def test_ceph31_recipe_comes_from_its_config_and_any_backbone_replaces_hrnet():
    """The 31-landmark detector's choices are the config's; a backbone of another type is built as given
    (the detector used to merge HRNet's ``arch`` into it: ``unexpected keyword argument 'arch'``)."""
    from pathlib import Path

    from mmengine.config import Config

    cfg = Config.fromfile(str(Path(__file__).resolve().parents[2] / "configs" / "hrnet_w48_31lm.py"))
    assert cfg.model.backbone.arch == "hrnet_w48"
    cfg.model.backbone = dict(type="ResNetBackbone", depth=18)
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == "HRNet31HeatmapDetector"
    assert type(model.backbone).__name__ == "ResNetBackbone"
    assert model.num_keypoints == 31 and model.landmark_symbols[-2:] == ["p1", "p2"]
    assert model.head.output_stride == 2 and model.head.sigma == 1.5 and model.decoder.blur_sigma == 1.5
    assert model.loss_module.coord_weight == 5.0 and type(model.decoder).__name__ == "DarkDecoder"
    assert model.neck.out_channels == [sum(model.backbone.out_channels)]  # sized from the new backbone
    with pytest.raises(ZooError, match="no longer takes 'arch', 'heatmap_size'.*hrnet31_heatmap.py"):
        MODELS.build(dict(type="HRNet31HeatmapDetector", arch="hrnet_w18_small", heatmap_size=300))
    with pytest.raises(ZooError, match="unexpected argument.*'archh'"):
        MODELS.build(dict(cfg.model, archh="hrnet_w18"))
    with pytest.raises(ZooError, match="no neck, decoder"):
        MODELS.build(dict(type="HRNet31HeatmapDetector", backbone=cfg.model.backbone, head=cfg.model.head))
    with pytest.raises(ZooError, match="must make heatmaps"):
        MODELS.build(dict(cfg.model, head=dict(type="RegressionHead"), decoder=dict(type="RegressionDecoder"),
                          loss=None))


def test_detector_tensor_mode_exports_with_its_decoder(tmp_path):
    """The graph the exporters take ends in input-px coordinates: ONNX (opset 17) agrees with eager.

    (Each decoder's own trace and ONNX export are covered by the generated tests.)
    """
    ort = pytest.importorskip("onnxruntime")
    model = _small_detector(
        decoder=dict(type="DarkDecoder"), head=dict(type="HeatmapHead", output_stride=2, channels=8)
    )
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        coords, scores = model(x)
    path = tmp_path / "small model.onnx"
    torch.onnx.export(
        model,
        (x,),
        str(path),
        opset_version=17,
        dynamo=False,
        input_names=["image"],
        output_names=["coords", "scores"],
    )
    o_coords, o_scores = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": x.numpy()}
    )
    np.testing.assert_allclose(o_coords, coords.numpy(), atol=1e-2)
    np.testing.assert_allclose(o_scores, scores.numpy(), atol=1e-4)
