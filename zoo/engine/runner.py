"""Building mmengine's Runner from a zoo config: the one place train and test are wired.

Before the Runner builds anything, the datasets are checked for presence, so a missing data root stops
with the expected layout and the way out, not a traceback from a dataloader worker.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from zoo.registry import DATASETS, ZooError, load_plugins

from .run_state import install as install_safe_checkpoints

_ZOO_HOOKS = ("ZooCheckpointHook", "NonFiniteLossHook")


def _dataset_cfgs(cfg, phases):
    for phase in phases:
        loader = cfg.get(f"{phase}_dataloader")
        if loader and loader.get("dataset"):
            yield phase, loader["dataset"]


def check_data(cfg, phases=("train", "val", "test")) -> None:
    """Raise the dataset's own clear error if a split's data is absent, before building a model.

    The readers check their layout in ``__init__``; building them without a pipeline and without reading
    image headers costs a directory listing and the annotation files.
    """
    for phase, ds_cfg in _dataset_cfgs(cfg, phases):
        probe = dict(ds_cfg, pipeline=[], serialize_data=False)
        if "check_images" in DATASETS.get(ds_cfg["type"]).__init__.__code__.co_varnames:
            probe["check_images"] = False
        if len(DATASETS.build(probe)) == 0:
            raise ZooError(f"the {phase} split of {ds_cfg['type']} (data_root={ds_cfg.get('data_root')!r}, "
                           f"split={ds_cfg.get('split')!r}, indices={ds_cfg.get('indices')!r}) holds no samples")


def check_schedule(cfg) -> None:
    """Refuse ``train_cfg.max_iters`` / ``max_epochs`` below 1, before anything is built.

    mmengine takes them as they are: with no iteration-based scheduler a run of 0 iterations "trained",
    saved nothing and exited 0; with one, it failed after building the model with "end should be larger
    than begin" from the scheduler, naming neither key.
    """
    from .config import ConfigError

    train_cfg = cfg.get("train_cfg") or {}
    for key in ("max_iters", "max_epochs"):
        value = train_cfg.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not value >= 1:
            unit = "iterations" if key == "max_iters" else "epochs"
            raise ConfigError(f"train_cfg.{key} must be at least 1, got {value!r}: a run of {value} {unit} "
                              "trains nothing")


def _ensure_zoo_hooks(cfg) -> None:
    hooks = list(cfg.get("custom_hooks") or [])
    present = {h.get("type") for h in hooks}
    for name in _ZOO_HOOKS:
        if name not in present:
            hooks.append(dict(type=name))
    cfg.custom_hooks = hooks


def _time_budget(cfg, minutes: float) -> None:
    """``--minutes``: a ``TimeBudgetHook`` with that budget, replacing one the config may carry."""
    hooks = [h for h in (cfg.get("custom_hooks") or []) if h.get("type") != "TimeBudgetHook"]
    cfg.custom_hooks = [*hooks, dict(type="TimeBudgetHook", minutes=float(minutes))]


def _endless_sampler_for_iteration_training(cfg) -> None:
    """Iteration-based training reads the training set through an ``InfiniteSampler``.

    With a ``DefaultSampler`` mmengine's iteration loop restarts the loader at every end of the training set
    and sleeps 2 s each time (a deadlock guard in ``_InfiniteDataloaderIterator``): on a training set of a few
    hundred images that pause comes every few dozen iterations, a real share of a CPU run. Shuffle and seed are
    kept.
    """
    loader = cfg.get("train_dataloader")
    train_cfg = cfg.get("train_cfg") or {}
    iteration_based = train_cfg.get("by_epoch") is False or train_cfg.get("type") == "IterBasedTrainLoop"
    if not loader or not iteration_based:
        return
    sampler = loader.get("sampler") or {}
    if sampler.get("type") == "DefaultSampler":
        loader.sampler = dict(type="InfiniteSampler", shuffle=sampler.get("shuffle", True), seed=sampler.get("seed"))


def _tensorboard_if_installed(cfg) -> None:
    """Log to TensorBoard where it is installed; where it is not, drop a TensorBoard backend that the config
    carries (a checkpoint trained on a machine that had it must still test on one that has not)."""
    vis = cfg.get("visualizer") or dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")])
    backends = list(vis.get("vis_backends") or [])
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        kept = [b for b in backends if b.get("type") != "TensorboardVisBackend"]
        if len(kept) != len(backends):
            vis["vis_backends"] = kept
            cfg.visualizer = vis
        return
    if not any(b.get("type") == "TensorboardVisBackend" for b in backends):
        backends.append(dict(type="TensorboardVisBackend"))
    vis["vis_backends"] = backends
    cfg.visualizer = vis


def latest_checkpoint(work_dir) -> Path | None:
    """The checkpoint ``--resume`` continues from: mmengine's ``last_checkpoint`` pointer when it names a
    file, else the highest ``iter_N.pth``/``epoch_N.pth`` in the work dir.

    mmengine writes the pointer with a plain ``open('w')`` after each save, so a kill at that moment
    leaves it empty ("checkpoint not found: ."); the checkpoints themselves are written whole or not at
    all, so any of them is safe to resume from.
    """
    work = Path(work_dir)
    for stale in work.glob(".*.tmp"):  # a write the kill interrupted; never a checkpoint
        stale.unlink(missing_ok=True)
    pointer = work / "last_checkpoint"
    if pointer.is_file():
        named = pointer.read_text(errors="replace").strip()
        if named and Path(named).is_file():
            return Path(named)
    numbered = [(int(m.group(2)), p) for p in work.glob("*.pth")
                if (m := re.fullmatch(r"(iter|epoch)_(\d+)\.pth", p.name))]
    return max(numbered)[1] if numbered else None


def prepare(cfg, *, work_dir=None, resume=None, amp=False, launcher="none", load_from=None, phases=None,
            minutes=None):
    """Fill the run-specific parts of a config in place and check its schedule and data."""
    import torch

    if "train" in (phases or ("train", "val", "test")):
        check_schedule(cfg)
    load_plugins()
    install_safe_checkpoints()
    cfg.setdefault("default_scope", "zoo")
    if work_dir:
        cfg.work_dir = str(work_dir)
    elif not cfg.get("work_dir"):
        name = Path(cfg.filename).stem if cfg.filename else "run"
        cfg.work_dir = str(Path("work_dirs") / name)
    cfg.launcher = launcher
    if launcher != "none" and not torch.cuda.is_available():
        from .distributed import setup_cpu_distributed

        cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
        setup_cpu_distributed(cfg)
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume in ("auto", True, "") else str(resume)
        if cfg.load_from is None:
            latest = latest_checkpoint(cfg.work_dir)
            cfg.load_from = None if latest is None else str(latest)
            cfg.resume = latest is not None  # nothing saved yet: start from the beginning, as mmengine does
    if load_from:
        cfg.load_from = str(load_from)
    if cfg.get("load_from"):
        from zoo.model_zoo import resolve_if_name

        cfg.load_from = str(resolve_if_name(cfg.load_from))  # a model zoo name fine-tunes from its verified weights
    if amp:
        if torch.cuda.is_available():
            cfg.optim_wrapper.type = "AmpOptimWrapper"
            cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        else:
            from .cpu_autocast import native_bf16

            if native_bf16():
                cfg.optim_wrapper.type = "CPUAutocastOptimWrapper"
            else:
                logging.getLogger("zoo").warning(
                    "--amp: no CUDA device, and this CPU has no native bf16 (AVX512-BF16 or AMX), where bf16 "
                    "would be slower than fp32; training in fp32")
    _ensure_zoo_hooks(cfg)
    if minutes is not None:
        _time_budget(cfg, minutes)
    _endless_sampler_for_iteration_training(cfg)
    _tensorboard_if_installed(cfg)
    check_data(cfg, phases or ("train", "val", "test"))
    return cfg


def build_runner(cfg):
    from mmengine.runner import Runner

    try:
        return Runner.from_cfg(cfg)
    except TypeError as exc:
        # A config key that no component accepts surfaces as an unexpected keyword argument.
        raise ZooError(f"config error: {exc}") from None


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
