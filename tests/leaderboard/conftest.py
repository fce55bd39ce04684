"""Tiny leaderboards on synthetic cephalograms: two small models from a throwaway third-party plugin."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "leaderboard_throwaway_plugin"


class _Throwaway:
    """A plugin object the way a lab would write one, registered at run time (no entry point, no zoo edit)."""

    from zoo import hookimpl

    @staticmethod
    @hookimpl
    def zoo_register(registry):
        from torch import nn

        class LeaderboardTinyNet(nn.Module):
            """Two-stage plain CNN (strides 4 and 8), a third-party backbone for the leaderboard tests."""

            # `pretrained`: the zoo's checkpoint loader (TorchBackend.from_checkpoint) passes pretrained=False
            # to every backbone it rebuilds, so a backbone without the keyword cannot be exported or timed.
            def __init__(self, in_channels: int = 3, width: int = 8, pretrained: bool = False):
                super().__init__()

                def block(cin, cout):
                    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout),
                                         nn.ReLU(inplace=True))

                self.stem = nn.Sequential(block(in_channels, width), block(width, width * 2))
                self.down = block(width * 2, width * 4)
                self.out_channels = [width * 2, width * 4]
                self.out_strides = [4, 8]

            def forward(self, x):
                a = self.stem(x)
                return [a, self.down(a)]

        registry.BACKBONES.register_module(module=LeaderboardTinyNet)


@pytest.fixture(scope="session")
def throwaway_plugin() -> str:
    from zoo.registry import load_plugins
    from zoo.registry.plugins import PLUGINS, register_plugin

    load_plugins()
    if PLUGIN not in PLUGINS:
        record = register_plugin(_Throwaway, PLUGIN)
        assert record.status == "loaded", record.error
    return PLUGIN


@pytest.fixture(scope="session")
def lb_data(tmp_path_factory) -> Path:
    from zoo.data.synthetic import generate

    return generate(tmp_path_factory.mktemp("leaderboard data") / "synth ceph", n=12, seed=5, size=(128, 160))


_HEADS = {
    "heatmap": "head=dict(type='HeatmapHead', output_stride=4, sigma=1.5, channels=16), "
               "decoder=dict(type='DarkDecoder', blur_sigma=1.0), loss=dict(type='HeatmapMSELoss')",
    "regression": "head=dict(type='RegressionHead', hidden_channels=0, dropout=0.0), "
                  "decoder=dict(type='RegressionDecoder'), loss=dict(type='SmoothL1CoordLoss', beta=0.01)",
}


def write_tiny_config(folder: Path, name: str, data_root: Path, kind: str) -> Path:
    """A complete 64 px config: the throwaway plugin's backbone with a heatmap or a regression head."""
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [r'{REPO / "configs/_base_/schedules/adamw_cosine.py"}',
                  r'{REPO / "configs/_base_/default_runtime.py"}']
        model = dict(type='LandmarkDetector', landmark_set='ceph31',
                     data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                                            std=[58.395, 57.12, 57.375], channels=3),
                     backbone=dict(type='LeaderboardTinyNet', width=8), neck=dict(type='IdentityNeck'),
                     {_HEADS[kind]})
        input_size = (64, 64)
        data_root = r'{data_root}'
        train_pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
                          dict(type='RandomAffine', rotate=5.0, prob=1.0), dict(type='PackLandmarkInputs')]
        test_pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
                         dict(type='PackLandmarkInputs')]
        train_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                                collate_fn=dict(type='pseudo_collate'),
                                dataset=dict(type='Ceph31Dataset', data_root=data_root, split='train',
                                             pipeline=train_pipeline))
        val_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='pseudo_collate'),
                              dataset=dict(type='Ceph31Dataset', data_root=data_root, split='test',
                                           pipeline=test_pipeline, test_mode=True))
        test_dataloader = val_dataloader
        val_evaluator = dict(type='LandmarkMetric')
        test_evaluator = val_evaluator
        optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
    """))
    return path


@pytest.fixture(scope="session")
def tiny_configs(tmp_path_factory, lb_data, throwaway_plugin) -> list[Path]:
    folder = tmp_path_factory.mktemp("leaderboard configs")
    return [write_tiny_config(folder, "tiny_heatmap", lb_data, "heatmap"),
            write_tiny_config(folder, "tiny_regression", lb_data, "regression")]


@pytest.fixture(scope="session")
def isbi_tree(tmp_path_factory) -> Path:
    from board_helpers import write_isbi_tree

    return write_isbi_tree(tmp_path_factory.mktemp("isbi layout") / "isbi 2015")


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory, isbi_tree, throwaway_plugin) -> tuple[Path, Path]:
    """(the tiny two-stage recipe, its one-stage row's config)."""
    from board_helpers import write_tiny_recipe, write_tiny_single_stage

    folder = tmp_path_factory.mktemp("board configs")
    recipe = write_tiny_recipe(folder, isbi_tree)
    return recipe, write_tiny_single_stage(folder, recipe)
