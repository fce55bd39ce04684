"""Contract tests generated from the registries, as timm tests every model it lists.

Every name registered in BACKBONES, NECKS, HEADS, LOSSES and DECODERS, and every LandmarkDetector
in MODELS -- core or plugin -- is built and run here; registering a component is enough to be tested.

Smoke-config convention: a component class may define a classmethod ``_smoke_cfgs() -> list[dict]``
returning cheap constructor keyword sets (one test per dict). The contract arguments are added by the
test: ``in_channels``/``in_strides`` for necks and heads, ``num_keypoints`` (K = 3) for heads. A class
without ``_smoke_cfgs`` is built with no keywords, so its defaults must be cheap. What each kind is run on:

- backbone: a (2, C, 64, 64) input, C = the smoke config's ``in_channels`` (default 3); one output per
  ``out_channels``/``out_strides`` entry, of that width, at ``ceil(64 / stride)``.
- neck: four levels of widths 8/16/32/64 at strides 4/8/16/32.
- head: two levels of widths 16/32 at strides 4/8 of a 64 x 64 input; ``output_kind`` says whether
  it returns (N, K, h, w) heatmaps or (N, K, 2) coordinates; ``encode`` must invert to the keypoints.
- loss and decoder: class attribute ``input_kind`` = ``'heatmap'`` (default) or ``'coords'``; they are
  fed a ``HeatmapHead`` (stride 2, sigma 2) or a ``RegressionHead``'s targets and outputs.
- model: ``LandmarkDetector`` subclasses, in loss, predict and tensor modes on 64 x 64 images.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.registry import BACKBONES, DECODERS, HEADS, LOSSES, MODELS, NECKS, load_plugins

load_plugins()

K = 3
SIZE = 64


def _cases(registry, keep=lambda cls: True):
    cases = []
    for name in registry.own_names():
        cls = registry.get(name)
        if not isinstance(cls, type) or not keep(cls):
            continue
        cfgs = cls._smoke_cfgs() if hasattr(cls, "_smoke_cfgs") else [{}]
        cases += [pytest.param(name, cfg, id=f"{name}-{i}") for i, cfg in enumerate(cfgs)]
    return cases


def _is_detector(cls) -> bool:
    from zoo.models.detector import LandmarkDetector

    return issubclass(cls, LandmarkDetector)


def _keypoints(n: int = 2, k: int = K, size: int = SIZE, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    kp = 4 + torch.rand(n, k, 2, generator=g) * (size - 9)
    vis = torch.ones(n, k)
    vis[0, -1] = 0
    return kp, vis


def _grads_ok(module) -> None:
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    assert grads, "component has no trainable parameters"
    assert any(g is not None and g.abs().sum() > 0 for g in grads), "no gradient reached the parameters"
    assert all(g is None or torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name,cfg", _cases(BACKBONES))
def test_backbone_contract(name, cfg):
    torch.manual_seed(0)
    model = BACKBONES.build(dict(type=name, **cfg))
    x = torch.randn(2, cfg.get("in_channels", 3), SIZE, SIZE)
    feats = model(x)
    assert isinstance(feats, list)
    assert len(feats) == len(model.out_channels) == len(model.out_strides) > 0
    for f, c, s in zip(feats, model.out_channels, model.out_strides):
        assert f.shape == (2, c, math.ceil(SIZE / s), math.ceil(SIZE / s))
    sum(f.mean() for f in feats).backward()
    _grads_ok(model)


@pytest.mark.parametrize(
    "arch,widths",
    [("hrnet_w32", [32, 64, 128, 256]), ("hrnet_w48", [48, 96, 192, 384]), ("hrnet_w18", [18, 36, 72, 144])],
)
def test_hrnet_branch_widths_build_only(arch, widths):
    model = BACKBONES.build(dict(type="HRNetBackbone", arch=arch))
    assert model.out_channels == widths
    assert model.out_strides == [4, 8, 16, 32]


@pytest.mark.parametrize("name,cfg", _cases(NECKS))
def test_neck_contract(name, cfg):
    chans, strides = [8, 16, 32, 64], [4, 8, 16, 32]
    neck = NECKS.build(dict(type=name, in_channels=chans, in_strides=strides, **cfg))
    feats = [torch.randn(2, c, SIZE // s, SIZE // s, requires_grad=True) for c, s in zip(chans, strides)]
    out = neck(feats)
    assert len(out) == len(neck.out_channels) == len(neck.out_strides) > 0
    for f, c, s in zip(out, neck.out_channels, neck.out_strides):
        assert f.shape == (2, c, SIZE // s, SIZE // s)
    sum(f.mean() for f in out).backward()
    assert any(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def _head_inputs():
    return (
        [16, 32],
        [4, 8],
        [torch.randn(2, 16, SIZE // 4, SIZE // 4), torch.randn(2, 32, SIZE // 8, SIZE // 8)],
    )


@pytest.mark.parametrize("name,cfg", _cases(HEADS))
def test_head_contract(name, cfg):
    from zoo.heads.convention import heatmap_to_input, normalized_to_input

    torch.manual_seed(0)
    chans, strides, feats = _head_inputs()
    head = HEADS.build(dict(type=name, in_channels=chans, in_strides=strides, num_keypoints=K, **cfg))
    out = head(feats)
    kp, vis = _keypoints()
    targets = head.encode(kp, vis, (SIZE, SIZE))
    assert targets["weight"].shape == (2, K)
    assert targets["weight"][0, -1] == 0 and targets["weight"][1].all()
    if head.output_kind == "heatmap":
        hw = (SIZE // head.output_stride, SIZE // head.output_stride)
        assert out.shape == (2, K, *hw)
        assert targets["heatmaps"].shape == out.shape
        assert targets["heatmaps"][0, -1].abs().sum() == 0  # invisible: no peak asked for
        peak = targets["heatmaps"].flatten(2).argmax(-1)
        grid = torch.stack((peak % hw[1], peak // hw[1]), -1).float()
        err = (heatmap_to_input(grid, (SIZE, SIZE), hw) - kp).norm(dim=-1)
        assert (err[vis > 0] <= head.output_stride * 0.71 + 1e-4).all()
        assert torch.allclose(heatmap_to_input(targets["coords"], (SIZE, SIZE), hw), kp, atol=1e-4)
    else:
        assert head.output_kind == "coords"
        assert out.shape == (2, K, 2)
        assert torch.allclose(normalized_to_input(targets["coords"], (SIZE, SIZE)), kp, atol=1e-4)
    out.float().square().mean().backward()
    _grads_ok(head)


def _pred_and_targets(kind: str):
    """A head of the kind, its random output (requires grad) and the encoded targets for it."""
    chans, strides, feats = _head_inputs()
    if kind == "heatmap":
        head = HEADS.build(
            dict(
                type="HeatmapHead",
                in_channels=chans,
                in_strides=strides,
                num_keypoints=K,
                output_stride=2,
                sigma=2.0,
            )
        )
    else:
        head = HEADS.build(
            dict(type="RegressionHead", in_channels=chans, in_strides=strides, num_keypoints=K)
        )
    kp, vis = _keypoints()
    targets = head.encode(kp, vis, (SIZE, SIZE))
    out = head(feats)
    return head, out, targets


@pytest.mark.parametrize("name,cfg", _cases(LOSSES))
def test_loss_contract(name, cfg):
    torch.manual_seed(0)
    loss = LOSSES.build(dict(type=name, **cfg))
    kind = getattr(loss, "input_kind", "heatmap")
    head, out, targets = _pred_and_targets(kind)
    value = loss(out, targets)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    _grads_ok(head)
    perfect = (targets["heatmaps"] if kind == "heatmap" else targets["coords"]).clone()
    assert loss(perfect, targets) < value.detach()
    doubled = (
        LOSSES.build(dict(type=name, **cfg, loss_weight=2.0)) if "loss_weight" in _params(loss) else None
    )
    if doubled is not None:
        assert torch.allclose(doubled(out.detach(), targets), 2 * loss(out.detach(), targets), rtol=1e-4)


def _params(module) -> set[str]:
    import inspect

    return set(inspect.signature(type(module).__init__).parameters)


@pytest.mark.parametrize("name,cfg", _cases(DECODERS))
def test_decoder_contract(name, cfg):
    decoder = DECODERS.build(dict(type=name, **cfg))
    kind = getattr(decoder, "input_kind", "heatmap")
    _, _, targets = _pred_and_targets(kind)
    kp, vis = _keypoints()
    output = targets["heatmaps"] if kind == "heatmap" else targets["coords"]
    coords, conf = decoder(output, (SIZE, SIZE))
    assert coords.shape == (2, K, 2) and conf.shape == (2, K)
    assert ((conf >= 0) & (conf <= 1)).all()
    err = (coords - kp).norm(dim=-1)[vis > 0]
    assert (err < 2.0).all(), f"{name} misplaces clean targets by up to {err.max():.2f} input px"
    traced = torch.jit.trace(lambda t: decoder(t, (SIZE, SIZE)), output)
    t_coords, t_conf = traced(output)
    assert torch.allclose(t_coords, coords) and torch.allclose(t_conf, conf)


@pytest.mark.parametrize("name,cfg", _cases(DECODERS))
def test_decoder_exports_to_onnx(name, cfg, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")

    class Wrapped(torch.nn.Module):
        def __init__(self, decoder):
            super().__init__()
            self.decoder = decoder

        def forward(self, x):
            return self.decoder(x, (SIZE, SIZE))

    decoder = DECODERS.build(dict(type=name, **cfg))
    kind = getattr(decoder, "input_kind", "heatmap")
    _, _, targets = _pred_and_targets(kind)
    output = targets["heatmaps"] if kind == "heatmap" else targets["coords"]
    path = tmp_path / "decoder with space.onnx"
    torch.onnx.export(
        Wrapped(decoder).eval(),
        (output,),
        str(path),
        opset_version=17,
        dynamo=False,
        input_names=["x"],
        output_names=["coords", "conf"],
    )
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    o_coords, o_conf = sess.run(None, {"x": output.numpy()})
    coords, conf = decoder(output, (SIZE, SIZE))
    np.testing.assert_allclose(o_coords, coords.numpy(), atol=1e-3)
    np.testing.assert_allclose(o_conf, conf.numpy(), atol=1e-5)


def _samples(n: int, k: int, size: int = SIZE):
    from zoo.structures import LandmarkSample

    kp, vis = _keypoints(n, k, size)
    samples = []
    for i in range(n):
        s = LandmarkSample(metainfo=dict(warp=np.diag([0.5, 0.25, 1.0]), img_shape=(size, size)))
        s.keypoints, s.keypoints_visible = kp[i].numpy(), vis[i].numpy()
        samples.append(s)
    return samples


@pytest.mark.parametrize("name,cfg", _cases(MODELS, _is_detector))
def test_detector_contract(name, cfg):
    torch.manual_seed(0)
    model = MODELS.build(dict(type=name, **cfg))
    k = model.num_keypoints
    assert len(model.landmark_symbols) == k and isinstance(model.landmark_set, str)
    images = [torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=_samples(2, k)), True)
    model.train()
    losses = model(**data, mode="loss")
    assert torch.isfinite(losses["loss"]) and losses["loss"].requires_grad
    total, _ = model.parse_losses(losses)
    assert torch.allclose(total, losses["loss"])  # parts are logged, not summed twice
    total.backward()
    _grads_ok(model)

    model.eval()
    with torch.no_grad():
        coords, scores = model(data["inputs"], mode="tensor")
    assert coords.shape == (2, k, 2) and scores.shape == (2, k)
    assert ((coords > -SIZE / 4) & (coords < SIZE * 1.25)).all()
    preds = model(
        **model.data_preprocessor(dict(inputs=images, data_samples=_samples(2, k)), False), mode="predict"
    )
    for p, c in zip(preds, coords):
        np.testing.assert_allclose(p.pred_input_keypoints, c.numpy(), rtol=1e-5, atol=1e-4)
        # warp diag(0.5, 0.25): original = input / (0.5, 0.25)
        np.testing.assert_allclose(p.pred_keypoints, c.numpy() / [0.5, 0.25], rtol=1e-5, atol=1e-3)
        assert p.pred_scores.shape == (k,)
