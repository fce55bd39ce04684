"""``zoo checkpoint calibrate`` end to end on a tiny synthetic dataset: the calibrated copy carries a shape model,
thresholds and uncertainty, its predictions carry a verdict and per-landmark radii, and none of the validation
images it was calibrated on is flagged."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

CONFIG = """
default_scope = 'zoo'
input_size = (64, 64)
data_root = r'{root}'
model = dict(type='LandmarkDetector', landmark_set='ceph31',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
    neck=dict(type='HRNetV2Neck'), head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
    decoder=dict(type='DarkDecoder', blur_sigma=1.0), loss=dict(type='HeatmapMSELoss'))
test_pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
                 dict(type='PackLandmarkInputs')]
train_dataloader = dict(batch_size=2, dataset=dict(type='Ceph31Dataset', data_root=data_root, split='train',
                                                   pipeline=test_pipeline))
val_dataloader = dict(batch_size=2, dataset=dict(type='Ceph31Dataset', data_root=data_root, split='valid',
                                                 pipeline=test_pipeline, test_mode=True))
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, one_torch_thread, untrained_checkpoint) -> Path:
    from zoo.data.synthetic import generate

    folder = tmp_path_factory.mktemp("calibrate me")
    root = generate(folder / "synthetic 31", n=80, seed=0, size=(128, 160))
    return untrained_checkpoint(textwrap.dedent(CONFIG.format(root=root)), folder / "tiny.py", folder / "tiny.pth")


@pytest.fixture(scope="module")
def calibrated(checkpoint) -> Path:
    from zoo.cli import main

    out = checkpoint.with_name("tiny calibrated.pth")
    main(["checkpoint", "calibrate", str(checkpoint), "--out", str(out)])
    return out


def test_the_calibrated_copy_carries_shape_thresholds_uncertainty_and_orientation(calibrated):
    from zoo.modelfile import safe_load

    meta = safe_load(calibrated)["zoo_meta"]
    quality = meta["quality"]
    assert quality["shape"]["num_shapes"] == 64 and "p1" not in quality["shape"]["symbols"]
    assert set(quality["thresholds"]) == {"confidence", "shape_distance", "orientation_margin", "scale_error"}
    assert quality["calibrated_on"]["validation_images"] == 8
    assert len(quality["uncertainty"]["base"]) == 31
    # the pixel size the validation images were read at, which is the training images' (#39), and their anatomy
    assert quality["calibrated_on"]["read_mm_per_pixel"] == meta["preprocess"]["train_mm_per_pixel"]
    assert 0.9 < meta["preprocess"]["train_mm_per_pixel"] / (205 / 128) < 1.1
    assert meta["anatomy"]["num_shapes"] == 64 and len(meta["anatomy"]["symbols"]) == 29
    assert meta["canonical_orientation"]["profile_faces"] in ("right", "left")


def test_predictions_carry_a_verdict_and_radii_and_the_validation_images_pass(calibrated, checkpoint):
    from zoo.calibration import dataset_samples_spacings
    from zoo.inference import Predictor

    predictor = Predictor.from_path(calibrated)
    samples, _, _, spacings = dataset_samples_spacings(predictor.meta["config"]["val_dataloader"]["dataset"])
    # each image with its own pixel size (a wrong one now reads it at the wrong scale, and the gate says so)
    entries = [predictor.predict(path, spacing_mm=mm) for (path, _, _), mm in zip(samples, spacings)]
    assert [e["quality"]["status"] for e in entries] == ["ok"] * 8, [e["quality"] for e in entries]
    lm = entries[0]["landmarks"]["S"]
    assert lm["uncertainty_px"] > 0 and lm["uncertainty_mm"] == pytest.approx(lm["uncertainty_px"] * spacings[0])
    assert entries[0]["uncertainty_coverage"] == 0.9
    noise = np.random.default_rng(0).integers(0, 255, (160, 128), dtype=np.uint8)
    assert predictor.predict(noise)["quality"]["status"] in ("ok", "suspect", "reject")
    plain = Predictor.from_path(checkpoint).predict(samples[0][0])
    assert plain["quality"]["status"] == "unchecked" and "uncertainty_px" not in plain["landmarks"]["S"]


def test_a_weights_file_keeps_its_tensors_byte_for_byte(checkpoint, tmp_path):
    from safetensors.torch import load_file

    from zoo.calibration import write_calibrated
    from zoo.model_zoo import write_weights
    from zoo.modelfile import safe_load
    from zoo.modelfile.weights import read_meta

    weights = write_weights(safe_load(checkpoint), tmp_path / "tiny.safetensors")
    out, _ = write_calibrated(weights, tmp_path / "tiny calibrated.safetensors")
    before, after = load_file(str(weights)), load_file(str(out))
    assert before.keys() == after.keys() and all(before[k].equal(after[k]) for k in before)
    assert read_meta(out)["quality"]["format"] == 1


def test_calibrate_refuses_exports_and_mismatched_outputs(checkpoint, tmp_path):
    from zoo.calibration import CalibrationError, write_calibrated

    with pytest.raises(CalibrationError, match="exported graph"):
        write_calibrated(tmp_path / "model.onnx", tmp_path / "out.onnx")
    with pytest.raises(CalibrationError, match="same kind"):
        write_calibrated(checkpoint, tmp_path / "out.safetensors")


def test_a_damaged_quality_block_is_refused_when_the_model_opens(calibrated):
    from zoo.modelfile import safe_load
    from zoo.modelfile.meta import MetadataError, check_meta

    meta = safe_load(calibrated)["zoo_meta"]
    meta["quality"]["thresholds"]["confidence"] = {"suspect": 0.1, "reject": 0.9}
    with pytest.raises(MetadataError, match="quality: quality threshold 'confidence'"):
        check_meta(meta, "damaged.pth")
    meta["quality"] = {"format": 99}
    with pytest.raises(MetadataError, match="format 99"):
        check_meta(meta, "damaged.pth")


def test_exported_files_say_the_canonical_orientation():
    from zoo.modelfile.exported import orientation_text

    facing = {"profile_faces": "right", "upright": True, "source": "mean of 130 training annotations"}
    assert "profile facing right, upright" in orientation_text({"canonical_orientation": facing})
    assert "not recorded" in orientation_text({})


def test_an_onnx_export_judges_and_bounds_as_the_checkpoint_does(calibrated, tmp_path):
    import onnx

    from zoo.calibration import dataset_samples
    from zoo.inference import Predictor
    from zoo.registry import EXPORTERS

    result = EXPORTERS.build(dict(type="OnnxExporter")).export(calibrated, tmp_path / "tiny.onnx", check=False)
    props = {p.key: p.value for p in onnx.load(str(result.path), load_external_data=False).metadata_props}
    assert "profile facing" in props["canonical_orientation"]
    eager, exported = Predictor.from_path(calibrated), Predictor.from_path(result.path)
    samples, _, _ = dataset_samples(eager.meta["config"]["val_dataloader"]["dataset"])
    a, b = eager.predict(samples[0][0]), exported.predict(samples[0][0])
    assert a["quality"]["status"] == b["quality"]["status"] == "ok"
    assert np.allclose([lm["uncertainty_px"] for lm in a["landmarks"].values()],
                       [lm["uncertainty_px"] for lm in b["landmarks"].values()], rtol=0.05)
