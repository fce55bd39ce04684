"""The tiny board's files: an ISBI-layout tree of synthetic cephalograms, a two-stage recipe on it, its
one-stage row and a board file. Shared by the board tests (``conftest.py`` builds the fixtures from them)."""
from __future__ import annotations

import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


#: images: 8 training (6 train, 2 pick the checkpoint), 3 test
ISBI_TRAIN, ISBI_TEST = 8, 3


def _blob_cephalogram(seed: int, hw=(160, 128)):
    """A dark image with 19 bright blobs, the landmarks (what the tiny models can learn in a few steps)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    h, w = hw
    points = np.stack([rng.uniform(20, w - 20, 19), rng.uniform(20, h - 20, 19)], 1)
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.full(hw, 20.0)
    for x, y in points:
        img += 200.0 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 2.0 ** 2))
    return np.clip(img, 0, 255).astype(np.uint8), points


def write_isbi_tree(root: Path) -> Path:
    """``RawImage/{TrainingData,Test1Data}`` and ``AnnotationsByMD/400_senior`` as the ISBI 2015 release lays
    them out, with synthetic images (0.1 mm per pixel, as the reader states for every ISBI image)."""
    import cv2

    numbers = [("TrainingData", i) for i in range(1, ISBI_TRAIN + 1)] + \
              [("Test1Data", i) for i in range(151, 151 + ISBI_TEST)]
    for folder, i in numbers:
        img, points = _blob_cephalogram(i)
        image = root / "RawImage" / folder / f"{i:03d}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(image), img)
        ann = root / "AnnotationsByMD" / "400_senior" / f"{i:03d}.txt"
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text("".join(f"{x:.1f},{y:.1f}\n" for x, y in points), encoding="utf-8")
    return root


_TINY_STAGE = "dict(backbone=dict(type='LeaderboardTinyNet', width=4), neck=dict(type='HRNetV2Neck'))"
_PREPROCESSOR = ("dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53], "
                 "std=[58.395, 57.12, 57.375], channels=3)")


def write_tiny_recipe(folder: Path, data_root: Path) -> Path:
    """The board's recipe in miniature: two stages (64 px global input, 32 px patches), train on images 1-6,
    pick on 7-8 (two validations, as the recipe's schedule has them), Test1 once."""
    path = folder / "two-stage_tiny_recipe.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [r'{REPO / "configs/_base_/default_runtime.py"}']
        tiny = {_TINY_STAGE}
        model = dict(type='TwoStageDetector', landmark_set='isbi2015', patch_size=32, patch_scale=2.0,
                     data_preprocessor={_PREPROCESSOR},
                     global_stage=dict(tiny, head=dict(type='HeatmapHead', output_stride=4, sigma=1.5),
                                       decoder=dict(type='DarkDecoder', blur_sigma=1.5),
                                       loss=dict(type='HeatmapMSELoss')),
                     refine_stage=dict(tiny, head=dict(type='HeatmapHead', output_stride=2, sigma=1.5,
                                                       channels=8),
                                       decoder=dict(type='SoftArgmaxDecoder', beta=20.0),
                                       loss=dict(type='HeatmapMSELoss')),
                     test_cfg=dict(iters=1, min_score=0.05))
        data_root = r'{data_root}'
        train_pipeline = [dict(type='LoadCephalogram', channels=3),
                          dict(type='RefinePatches', patch_size=32, patch_scale=2.0, jitter=4.0),
                          dict(type='LetterboxResize', size=(64, 64)),
                          dict(type='RandomAffine', rotate=5.0, prob=1.0), dict(type='PackLandmarkInputs')]
        test_pipeline = [dict(type='LoadCephalogram', channels=3),
                         dict(type='RefinePatches', patch_size=32, patch_scale=2.0, test_mode=True),
                         dict(type='LetterboxResize', size=(64, 64)), dict(type='PackLandmarkInputs')]
        loader = dict(batch_size=2, num_workers=0, collate_fn=dict(type='pseudo_collate'))
        train_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=True),
                                dataset=dict(type='ISBI2015Dataset', data_root=data_root, split='train',
                                             indices='0:6', pipeline=train_pipeline))
        val_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                              dataset=dict(type='ISBI2015Dataset', data_root=data_root, split='train',
                                           indices='6:8', test_mode=True, pipeline=test_pipeline))
        test_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                               dataset=dict(type='ISBI2015Dataset', data_root=data_root, split='test1',
                                            test_mode=True, pipeline=test_pipeline))
        val_evaluator = dict(type='LandmarkMetric')
        test_evaluator = val_evaluator
        train_cfg = dict(by_epoch=False, max_iters=100, val_interval=50)
        optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4),
                             clip_grad=dict(max_norm=5.0))
        param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
                           dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=100, eta_min=1e-6)]
    """), encoding="utf-8")
    return path


def write_tiny_single_stage(folder: Path, recipe: Path) -> Path:
    """The recipe's global stage alone: the board's one-stage row (same data, augmentation and schedule)."""
    path = folder / "hm_tiny.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [r'{recipe}']
        model = dict(_delete_=True, type='LandmarkDetector', landmark_set='isbi2015',
                     data_preprocessor={_PREPROCESSOR},
                     backbone=dict(type='LeaderboardTinyNet', width=4), neck=dict(type='HRNetV2Neck'),
                     head=dict(type='HeatmapHead', output_stride=4, sigma=1.5),
                     decoder=dict(type='DarkDecoder', blur_sigma=1.5), loss=dict(type='HeatmapMSELoss'))
        train_pipeline = [dict(type='LoadCephalogram', channels=3),
                          dict(type='LetterboxResize', size=(64, 64)),
                          dict(type='RandomAffine', rotate=5.0, prob=1.0), dict(type='PackLandmarkInputs')]
        test_pipeline = [dict(type='LoadCephalogram', channels=3),
                         dict(type='LetterboxResize', size=(64, 64)), dict(type='PackLandmarkInputs')]
        train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
        val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
        test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
    """), encoding="utf-8")
    return path


def write_board(folder: Path, recipe: Path, single_stage: Path, rows: str = "") -> Path:
    """A board file over the tiny recipe, its results, report and plots all inside ``folder``."""
    path = folder / "board_tiny.yml"
    path.write_text(textwrap.dedent(f"""
        name: tiny
        recipe: {recipe}
        results: {folder / "results"}
        report: {folder / "LEADERBOARD.md"}
        images: {folder / "images"}
        rows:
          - name: two-stage_tiny
            reference: true
          - name: hm_tiny
            config: {single_stage}
    """) + rows, encoding="utf-8")
    return path
