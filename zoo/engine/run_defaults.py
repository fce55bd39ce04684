"""The run around a model file: what ``zoo test MODEL`` uses for everything a model file may not decide.

A model file carries its model, transforms and datasets (:data:`zoo.modelfile.stored_config.CARRIED`); where logs go,
which hooks run, how the metric is configured and how many dataloader workers start are the user's, so they come
from here (and from ``--work-dir`` / ``--cfg-options``), the same for every file. They match the training runtime of
``configs/_base_/default_runtime.py`` minus training: a checkpoint tests exactly as it was validated.
"""
from __future__ import annotations

import copy
import os

_RUN = dict(
    default_scope="zoo",
    default_hooks=dict(
        timer=dict(type="IterTimerHook"),
        logger=dict(type="LoggerHook", interval=10),
    ),
    env_cfg=dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
                 dist_cfg=dict(backend="nccl")),
    log_processor=dict(by_epoch=False, window_size=10),
    log_level="INFO",
    randomness=dict(seed=0, deterministic=False),
    visualizer=dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]),
    test_cfg=dict(type="TestLoop"),
    test_evaluator=dict(type="LandmarkMetric"),
)
#: only for a file whose model was validated: mmengine wants a validation loader, loop and metric all or none
_VALIDATION = dict(val_cfg=dict(type="ValLoop"), val_evaluator=dict(type="LandmarkMetric"))
#: a dataloader's workers are processes on the user's machine: a file does not get to start 64 of them
MAX_WORKERS = 2


def loader_defaults(phase: str) -> dict:
    return dict(num_workers=min(MAX_WORKERS, os.cpu_count() or 1), persistent_workers=False,
                sampler=dict(type="DefaultSampler", shuffle=phase == "train"), collate_fn=dict(type="pseudo_collate"))


def complete_model_file_config(cfg) -> None:
    """Fill, in place, the run sections of a config rebuilt from a model file (which carries none of them), for
    evaluating it: a model file carries no training recipe (optimizer, schedule), so its training set is left out."""
    cfg.pop("train_dataloader", None)
    run = {**_RUN, **(_VALIDATION if cfg.get("val_dataloader") else {})}
    for key, value in run.items():
        cfg[key] = copy.deepcopy(value)
    for phase in ("val", "test"):
        loader = cfg.get(f"{phase}_dataloader")
        if loader:
            loader.update(loader_defaults(phase))
