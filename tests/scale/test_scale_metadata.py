"""What a model file says about its scale: the pixel size it was trained at and its training anatomy's size, written
by training and by ``zoo checkpoint calibrate``, checked when a file opens, and derived from the stored config for a
file written before either existed (the shipped ``isbi19``, whose file is read, never changed)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ISBI19_META = REPO / "zoo" / "model_zoo" / "weights" / "isbi19.json"


def _isbi19_meta() -> dict:
    return json.loads(ISBI19_META.read_text())


def test_the_shipped_model_reads_its_pixel_size_and_anatomy_from_its_configs_dataset():
    from zoo.inference.scale import model_anatomy, model_pixel_size

    meta = _isbi19_meta()
    assert "train_mm_per_pixel" not in meta["preprocess"] and "anatomy" not in meta
    mm, source = model_pixel_size(meta)
    assert mm == 0.1 and "ISBI2015Dataset" in source
    anatomy = model_anatomy(meta, meta["landmark_symbols"])
    assert anatomy.num_shapes == 150 and anatomy.mean_mm == pytest.approx(44.37, abs=0.01)
    assert anatomy.default_threshold().suspect == pytest.approx(1.31, abs=0.01)


def test_the_isbi_anatomy_is_what_its_annotations_measure(isbi_data):
    """``ISBI2015Dataset.ANATOMY`` is a measurement, not a guess: TrainingData 001-150 measured again."""
    from zoo.calibration import dataset_samples_spacings, training_scale
    from zoo.data.datasets import ISBI2015Dataset
    from zoo.data.landmark_sets import get_landmark_set

    _, shapes, labelled, spacings = dataset_samples_spacings(dict(type="ISBI2015Dataset", split="train"), isbi_data)
    mm, anatomy = training_scale(spacings, shapes, labelled, list(get_landmark_set("isbi2015").symbols))
    assert mm == 0.1
    declared = ISBI2015Dataset.ANATOMY
    assert anatomy["num_shapes"] == declared["num_shapes"] == 150
    assert anatomy["mean_mm"] == pytest.approx(declared["mean_mm"], abs=1e-3)
    assert anatomy["sd_mm"] == pytest.approx(declared["sd_mm"], abs=1e-3)


def test_a_model_of_another_landmark_set_borrows_no_anatomy():
    from zoo.inference.scale import model_anatomy

    meta = _isbi19_meta()
    meta["config"]["train_dataloader"]["dataset"]["landmark_set"] = "aariz"
    assert model_anatomy(meta, ["S", "N", "Or"]) is None


@pytest.mark.parametrize("field, value, message", [
    ("train_mm_per_pixel", 0.0, "train_mm_per_pixel must be between"),
    ("train_mm_per_pixel", "0.1", "train_mm_per_pixel must be a number"),
    ("anatomy", {"symbols": ["S", "N"], "mean_mm": 40.0, "sd_mm": 3.0, "num_shapes": 10}, "3 or more"),
    ("anatomy", {"symbols": ["S", "N", "Or"], "mean_mm": 40.0, "sd_mm": 50.0, "num_shapes": 10}, "sd_mm < mean_mm"),
    ("anatomy", {"symbols": ["S", "N", "Xx"], "mean_mm": 40.0, "sd_mm": 3.0, "num_shapes": 10}, "does not find"),
    ("anatomy", {"symbols": ["S", "N", "Or"], "mean_mm": 40.0}, "incomplete"),
])
def test_a_damaged_scale_is_refused_when_the_model_opens(field, value, message):
    from zoo.modelfile.meta import MetadataError, check_meta

    meta = _isbi19_meta()
    if field == "train_mm_per_pixel":
        meta["preprocess"][field] = value
    else:
        meta[field] = value
    with pytest.raises(MetadataError, match=message):
        check_meta(meta, "damaged.safetensors")


def test_a_model_file_with_its_scale_opens_and_wins_over_its_config():
    from zoo.inference.scale import model_anatomy, model_pixel_size
    from zoo.modelfile.meta import check_meta

    meta = _isbi19_meta()
    meta["preprocess"]["train_mm_per_pixel"] = 0.125
    meta["anatomy"] = {"symbols": ["S", "N", "Me", "Go"], "mean_mm": 40.0, "sd_mm": 2.0, "num_shapes": 12,
                       "source": "twelve"}
    check_meta(meta, "fine.safetensors")
    assert model_pixel_size(meta) == (0.125, "preprocess.train_mm_per_pixel")
    assert model_anatomy(meta, meta["landmark_symbols"]).source == "twelve"


CONFIG = """
_base_ = [r'{repo}/configs/_base_/models/hrnet_heatmap.py', r'{repo}/configs/_base_/default_runtime.py']
model = dict(landmark_set='ceph31', backbone=dict(arch='hrnet_w18_small'))
input_size = (64, 64)
data_root = r'{root}'
pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
            dict(type='PackLandmarkInputs')]
train_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                        collate_fn=dict(type='pseudo_collate'),
                        dataset=dict(type='Ceph31Dataset', data_root=data_root, split='train', pipeline=pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='pseudo_collate'),
                      dataset=dict(type='Ceph31Dataset', data_root=data_root, split='valid', pipeline=pipeline,
                                   test_mode=True))
val_evaluator = dict(type='LandmarkMetric')
test_dataloader, test_evaluator = val_dataloader, val_evaluator
train_cfg = dict(by_epoch=False, max_iters=2, val_interval=2)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
"""


def test_training_writes_the_pixel_size_and_anatomy_of_its_data(tmp_path, one_torch_thread):
    from zoo.data.datasets import Ceph31Dataset
    from zoo.data.synthetic import generate
    from zoo.engine.entry import train
    from zoo.inference import Predictor
    from zoo.modelfile import safe_load

    root = generate(tmp_path / "synthetic 31", n=16, seed=1, size=(128, 160))
    config = tmp_path / "tiny.py"
    config.write_text(textwrap.dedent(CONFIG.format(repo=REPO, root=root)))
    train(str(config), work_dir=str(tmp_path / "work"), test_after=False)
    meta = safe_load(next((tmp_path / "work").glob("iter_2.pth")))["zoo_meta"]
    data = Ceph31Dataset(data_root=str(root), split="train", test_mode=True)
    spacings = [data.get_data_info(i)["spacing"] for i in range(len(data))]
    assert meta["preprocess"]["train_mm_per_pixel"] == pytest.approx(float(np.median(spacings)))
    anatomy = meta["anatomy"]
    assert anatomy["num_shapes"] == len(data) and "p1" not in anatomy["symbols"] and len(anatomy["symbols"]) == 29
    assert 30 < anatomy["mean_mm"] < 80 and anatomy["source"].startswith(f"{len(data)} training annotations")
    predictor = Predictor.from_path(next((tmp_path / "work").glob("iter_2.pth")))
    assert predictor.model_mm == meta["preprocess"]["train_mm_per_pixel"] and predictor.anatomy.num_shapes == len(data)
