"""A tiny synthetic dataset and a tiny config, so training tests run in seconds on 2 cores."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    from zoo.data.synthetic import generate

    return generate(tmp_path_factory.mktemp("synth data") / "ceph 31", n=12, seed=3, size=(128, 160))


def write_config(folder: Path, data_root: Path, max_iters=4, interval=2, extra: str = "") -> Path:
    """A complete config: HRNet-W18-small heatmaps on 128 px synthetic cephalograms."""
    path = folder / "tiny_synthetic.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [r'{REPO / "configs/_base_/models/hrnet_heatmap.py"}',
                  r'{REPO / "configs/_base_/schedules/adamw_cosine.py"}',
                  r'{REPO / "configs/_base_/default_runtime.py"}']
        model = dict(landmark_set='ceph31', backbone=dict(arch='hrnet_w18_small'))
        input_size = (128, 128)
        data_root = r'{data_root}'
        train_pipeline = [dict(type='LoadCephalogram', channels=3),
                          dict(type='LetterboxResize', size=input_size),
                          dict(type='RandomAffine', rotate=5.0, prob=1.0),
                          dict(type='PackLandmarkInputs')]
        test_pipeline = [dict(type='LoadCephalogram', channels=3),
                         dict(type='LetterboxResize', size=input_size),
                         dict(type='PackLandmarkInputs')]
        train_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                                collate_fn=dict(type='pseudo_collate'),
                                dataset=dict(type='Ceph31Dataset', data_root=data_root, split='train',
                                             pipeline=train_pipeline))
        val_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='pseudo_collate'),
                              dataset=dict(type='Ceph31Dataset', data_root=data_root, split='valid',
                                           pipeline=test_pipeline, test_mode=True))
        test_dataloader = val_dataloader
        val_evaluator = dict(type='LandmarkMetric')
        test_evaluator = val_evaluator
        train_cfg = dict(by_epoch=False, max_iters={max_iters}, val_interval={interval})
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
        default_hooks = dict(checkpoint=dict(interval={interval}, max_keep_ckpts=3),
                             logger=dict(interval=1))
    """) + textwrap.dedent(extra))
    return path


@pytest.fixture
def make_config():
    return write_config


@pytest.fixture
def tiny_config(tmp_path, tiny_data) -> Path:
    return write_config(tmp_path, tiny_data)
