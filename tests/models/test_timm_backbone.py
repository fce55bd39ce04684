"""``TimmBackbone``: timm models by name, each CPU-friendly one of its list trained and exported, local
weights through timm's own loader (and refused when they would leave the network half random), errors that
say what to write instead, and a ``zoo list`` that names it without importing timm."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from zoo.errors import ModelConfigError, PretrainedWeightsError
from zoo.registry import BACKBONES, MODELS, load_plugins

load_plugins()

from zoo_timm import CPU_FRIENDLY  # noqa: E402  (the plugin's package, importable once installed)

SIZE = 64


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_torch_thread):
    yield


def _detector(backbone: dict):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type="LandmarkDetector", landmark_set="ruler", backbone=backbone, neck=dict(type="HRNetV2Neck"),
        head=dict(type="HeatmapHead", output_stride=4, channels=16), decoder=dict(type="DarkDecoder"),
        loss=dict(type="HeatmapMSELoss"),
        data_preprocessor=dict(type="LandmarkDataPreprocessor", channels=1, mean=[128.0], std=[64.0])))


@pytest.mark.parametrize("name", CPU_FRIENDLY)
def test_cpu_friendly_model_trains_and_exports_to_onnx(name, tmp_path):
    """Gray input, strides 4-32 by default, one training step, and an ONNX graph that agrees with eager."""
    ort = pytest.importorskip("onnxruntime")
    model = _detector(dict(type="TimmBackbone", model_name=name, in_channels=1))
    backbone = model.backbone
    assert backbone.out_strides == [4, 8, 16, 32] and len(backbone.out_channels) == 4
    x = torch.randn(2, 1, SIZE, SIZE)
    feats = backbone(x)
    assert [tuple(f.shape) for f in feats] == [(2, c, SIZE // s, SIZE // s)
                                               for c, s in zip(backbone.out_channels, backbone.out_strides)]
    output = model.forward_head(x)
    targets = model.head.encode(torch.full((2, 2, 2), 30.0), torch.ones(2, 2), (SIZE, SIZE))
    model.loss_from_output(output, targets)["loss"].backward()
    assert all(p.grad is not None for p in backbone.parameters() if p.requires_grad)

    model.eval()
    path = tmp_path / f"{name}.onnx"
    with torch.no_grad():
        coords, scores = model(x[:1])
        torch.onnx.export(model, (x[:1],), str(path), opset_version=17, dynamo=False, input_names=["input"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    o_coords, o_scores = session.run(None, {"input": x[:1].numpy()})
    np.testing.assert_allclose(o_coords, coords.numpy(), atol=1e-2)
    np.testing.assert_allclose(o_scores, scores.numpy(), atol=1e-3)


def test_levels_timm_kwargs_and_channels_last_models():
    """``out_indices`` is timm's; by default a stride-2 level is dropped; other keywords reach timm; an NHWC
    model's maps come back NCHW like every other backbone's."""
    stem = BACKBONES.build(dict(type="TimmBackbone", model_name="efficientnet_lite0", out_indices=(0, 1)))
    assert stem.out_strides == [2, 4] and stem.out_channels == [16, 24]
    hrnet = BACKBONES.build(dict(type="TimmBackbone", model_name="hrnet_w18_small", feature_location=""))
    branches = BACKBONES.build(dict(type="HRNetBackbone", arch="hrnet_w18_small"))
    assert hrnet.out_channels == branches.out_channels
    nhwc = BACKBONES.build(dict(type="TimmBackbone", model_name="mambaout_femto"))
    assert nhwc.channels_last_output
    feats = nhwc(torch.randn(1, 3, SIZE, SIZE))
    assert [tuple(f.shape[1:]) for f in feats] == [(c, SIZE // s, SIZE // s)
                                                   for c, s in zip(nhwc.out_channels, nhwc.out_strides)]


def test_unknown_names_and_impossible_models_are_config_errors():
    with pytest.raises(ModelConfigError, match=r"no model 'convnext_attto'.*Did you mean 'convnext_atto'"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_attto"))
    with pytest.raises(ModelConfigError, match=r"list_models\('\*notanet\*'\)"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="notanet_v9"))
    # inception_v3's auxiliary classifier has no feature maps to offer: timm refuses features_only with it
    with pytest.raises(ModelConfigError, match="could not build 'inception_v3' with features_only=True"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="inception_v3", aux_logits=True))
    with pytest.raises(ModelConfigError, match="unexpected keyword argument 'bogus'"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", bogus=1))
    with pytest.raises(ModelConfigError, match="sets in_chans itself"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", in_chans=1))
    with pytest.raises(ModelConfigError, match="in_channels must be 1 or 3"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", in_channels=4))
    with pytest.raises(ModelConfigError, match="never does"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", pretrained=True))


def test_local_weights_load_through_timm_into_rgb_and_gray_stems(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(1)
    source = timm.create_model("convnext_atto")  # a whole classifier, as timm publishes weights
    state = source.state_dict()
    pth, safetensors = tmp_path / "convnext atto.pth", tmp_path / "convnext_atto.safetensors"
    torch.save(state, pth)
    save_file({k: v.contiguous() for k, v in state.items()}, str(safetensors))
    rgb = BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", pretrained=str(pth)))
    own = rgb.model.state_dict()
    assert torch.equal(own["stem_0.weight"], state["stem.0.weight"])
    assert torch.equal(own["stages_3.blocks.1.mlp.fc2.weight"], state["stages.3.blocks.1.mlp.fc2.weight"])
    gray = BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", in_channels=1,
                                pretrained=str(safetensors)))
    stem = gray.model.state_dict()["stem_0.weight"]
    assert stem.shape[1] == 1 and torch.allclose(stem, state["stem.0.weight"].sum(1, keepdim=True))


def test_weights_that_would_leave_the_network_random_are_refused(tmp_path):
    import timm

    state = timm.create_model("convnext_atto").state_dict()
    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in state.items() if not k.startswith("stages.3")}, partial)
    with pytest.raises(PretrainedWeightsError, match=r"partial.pth: \d+ of the network's \d+ tensors"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", pretrained=str(partial)))
    other = tmp_path / "resnet18.pth"
    torch.save(timm.create_model("resnet18").state_dict(), other)
    with pytest.raises(PretrainedWeightsError, match="resnet18.pth"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", pretrained=str(other)))
    wrong_width = tmp_path / "atto-as-femto.pth"
    torch.save(timm.create_model("convnext_femto").state_dict(), wrong_width)
    with pytest.raises(PretrainedWeightsError, match="atto-as-femto.pth: does not fit"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", pretrained=str(wrong_width)))
    code = tmp_path / "code.pth"
    torch.save({"x": object()}, code)  # unreadable with weights_only=True
    with pytest.raises(PretrainedWeightsError, match="code.pth: cannot read"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto", pretrained=str(code)))
    with pytest.raises(PretrainedWeightsError, match="nope.pth: pretrained weights file not found"):
        BACKBONES.build(dict(type="TimmBackbone", model_name="convnext_atto",
                             pretrained=str(tmp_path / "nope.pth")))


def test_zoo_list_names_timm_backbone_and_how_to_name_a_model_without_importing_timm():
    probe = ("import atexit, runpy, sys\n"
             "atexit.register(lambda: print('timm imported:', 'timm' in sys.modules))\n"
             "sys.argv = ['zoo', 'list', 'backbones']\n"
             "runpy.run_module('zoo.cli', run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("backbones  TimmBackbone"))
    assert "timm" in row and "model_name='convnext_atto'" in row
    assert "dict(type='TimmBackbone', model_name=NAME)" in result.stdout
    assert ", ".join(CPU_FRIENDLY) in result.stdout
    assert "timm imported: False" in result.stdout
