"""Tiny models and images for the export tests: HRNet-W18-small heatmaps at 64 px and a ResNet-18 ruler
regressor, random weights, saved as real zoo checkpoints (state_dict + zoo_meta) in a temporary folder."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

SIZE = 64


def tiny_config_text(model: str, data_root: str) -> str:
    if model == "hrnet":
        model_cfg = """dict(type='LandmarkDetector', landmark_set='isbi2015',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
    neck=dict(type='HRNetV2Neck'), head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
    decoder=dict(type='DarkDecoder', blur_sigma=1.0), loss=dict(type='HeatmapMSELoss'))"""
    else:
        model_cfg = """dict(type='LandmarkDetector', landmark_set='ruler',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[127.5, 127.5, 127.5], std=[64.0, 64.0, 64.0],
                           channels=3),
    backbone=dict(type='ResNetBackbone', depth=18, pretrained=False),
    head=dict(type='RegressionHead'), decoder=dict(type='RegressionDecoder'), loss=dict(type='L1CoordLoss'))"""
    return f"""default_scope = 'zoo'
input_size = ({SIZE}, {SIZE})
model = {model_cfg}
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
test_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='ISBI2015Dataset', data_root={data_root!r}, split='test1', annotator='senior',
                 landmark_set='isbi2015', pipeline=test_pipeline, test_mode=True))
ruler_mm = {'10.0' if model == 'ruler' else 'None'}
"""


@pytest.fixture(scope="session", autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export with space")


@pytest.fixture(scope="session")
def images(workdir) -> dict[str, Path]:
    """Cephalogram-like test images (a bright skull-ish blob on dark) plus the bad ones."""
    import cv2

    folder = workdir / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    out = {}
    for i in range(3):
        h, w = 240 + 20 * i, 200
        img = np.zeros((h, w, 3), np.uint8)
        cv2.ellipse(img, (w // 2 + 5 * i, h // 2), (70, 90), 15 * i, 0, 360, (180, 170, 160), -1)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        out[f"rgb{i}"] = folder / f"case {i}.jpg"
        cv2.imwrite(str(out[f"rgb{i}"]), img)
    gray = cv2.cvtColor(cv2.imread(str(out["rgb0"])), cv2.COLOR_BGR2GRAY)
    out["gray"] = folder / "gray.png"
    cv2.imwrite(str(out["gray"]), gray)
    out["deep16"] = folder / "deep16.png"
    cv2.imwrite(str(out["deep16"]), gray.astype(np.uint16) * 256 + 7)
    bad = workdir / "bad"
    bad.mkdir()
    out["notimage"] = bad / "notes.jpg"
    out["notimage"].write_bytes(b'{"this": "is json"}')
    data = out["rgb1"].read_bytes()
    out["truncated"] = bad / "cut.jpg"
    out["truncated"].write_bytes(data[: len(data) // 2])
    ok, buf = cv2.imencode(".png", np.zeros((8, 8), np.uint8))
    huge = bytearray(buf.tobytes())
    huge[16:24] = struct.pack(">II", 50000, 50000)  # the header claims 2.5 gigapixels
    out["huge"] = bad / "huge.png"
    out["huge"].write_bytes(bytes(huge))
    return out


@pytest.fixture(scope="session")
def hrnet_ckpt(workdir, untrained_checkpoint) -> Path:
    return untrained_checkpoint(tiny_config_text("hrnet", str(workdir / "no data here")), workdir / "tiny_hrnet.py",
                                workdir / "tiny_hrnet.pth")


@pytest.fixture(scope="session")
def ruler_ckpt(workdir, untrained_checkpoint) -> Path:
    return untrained_checkpoint(tiny_config_text("ruler", str(workdir / "no data here")), workdir / "tiny_ruler.py",
                                workdir / "tiny_ruler.pth")


@pytest.fixture(scope="session")
def good_images(images) -> list[Path]:
    return [images["rgb0"], images["rgb1"], images["rgb2"]]


@pytest.fixture(scope="session")
def exports(hrnet_ckpt, ruler_ckpt, good_images, workdir) -> dict:
    """Each format exported once per session (the slow part), self-checked on the synthetic images."""
    from zoo.registry import EXPORTERS

    out = {}
    for fmt, type_ in (("onnx", "OnnxExporter"), ("torchscript", "TorchScriptExporter")):
        out[fmt] = EXPORTERS.build(dict(type=type_, check_images=3)).export(hrnet_ckpt, images=good_images)
    out["onnx-int8"] = EXPORTERS.build(dict(type="OnnxInt8Exporter", check_images=3, calib_images=3)).export(
        ruler_ckpt, images=good_images)
    return out


def _two_stage_helpers():
    """The two-stage tests' tiny model and data (``tests/models/two_stage_helpers.py``), shared, not copied."""
    import importlib.util
    import sys

    name = "two_stage_helpers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "models" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def two_stage_ckpt(tmp_path_factory) -> Path:
    """An HRNet-W18-small two-stage checkpoint (64 px input, 32 px patches) beside 3 ISBI-layout test images."""
    return _two_stage_helpers()._two_stage_checkpoint(tmp_path_factory.mktemp("two stage bench"))
