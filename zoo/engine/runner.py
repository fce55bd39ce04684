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


def _accepted_keys(cls) -> set[str] | None:
    """The keywords a dataset class takes (its own and its bases'), or None when one of them takes ``**kwargs``
    that go somewhere this cannot see."""
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names - {"self"}
    return None


def _check_dataset_keys(phase: str, ds_cfg) -> None:
    """A dataset entry with keys its reader does not take, named with the way out.

    The usual cause is a child config that changes a dataset's ``type`` and merges into its base's entry: an
    ISBI base leaves ``split`` and ``annotator`` behind, which a Label Studio reader does not take. mmengine would
    raise ``TypeError: __init__() got an unexpected keyword argument 'split'`` naming neither the config key nor
    the fix; ``_delete_=True`` alone drops the base's ``pipeline`` too, which fails only at the first batch.
    """
    from .config import ConfigError

    accepted = _accepted_keys(DATASETS.get(ds_cfg["type"]))
    if accepted is None:
        return
    extra = sorted(k for k in ds_cfg if k not in accepted and k not in ("type", "_scope_"))
    if extra:
        step = "train_pipeline" if phase == "train" else "test_pipeline"
        raise ConfigError(
            f"{phase}_dataloader.dataset: {ds_cfg['type']} does not take {', '.join(repr(k) for k in extra)} (keys "
            f"it takes: {', '.join(sorted(accepted - {'self'}))}). A dataset of another type than its base's "
            f"replaces the base's entry whole and restates the pipeline: `{phase}_dataloader = dict(dataset=dict("
            f"_delete_=True, type='{ds_cfg['type']}', ..., pipeline=_base_.{step}))`; or let `zoo train --data "
            f"YOUR_DATA` write the config")


def check_data(cfg, phases=("train", "val", "test")) -> None:
    """Raise the dataset's own clear error if a split's data is absent, before building a model.

    The readers check their layout in ``__init__``; building them without a pipeline and without reading
    image headers costs a directory listing and the annotation files. A training dataset without a pipeline is
    refused here too: its samples would reach the model without ``inputs`` (mmengine's ``KeyError: 'inputs'``
    after the model is built). When training is among ``phases``, a test split that cannot be read says that
    ``--no-test`` trains without it: it would otherwise fail only after the whole run.
    """
    from zoo.data.errors import DataNotFoundError

    from .config import ConfigError

    for phase, ds_cfg in _dataset_cfgs(cfg, phases):
        _check_dataset_keys(phase, ds_cfg)
        if not ds_cfg.get("pipeline"):
            step = "train_pipeline" if phase == "train" else "test_pipeline"
            raise ConfigError(f"{phase}_dataloader.dataset has no pipeline, so its images are never loaded: add "
                              f"`pipeline=_base_.{step}` to it (a `_delete_=True` entry drops the base's)")
        probe = dict(ds_cfg, pipeline=[], serialize_data=False)
        if "check_images" in DATASETS.get(ds_cfg["type"]).__init__.__code__.co_varnames:
            probe["check_images"] = False
        try:
            dataset = DATASETS.build(probe)
        except DataNotFoundError as exc:
            if phase != "test" or "train" not in phases:
                raise
            raise DataNotFoundError(f"{exc}\nThis is the test split, evaluated after training: `--no-test` trains "
                                    f"without it.", reason=exc.reason) from None
        if len(dataset) == 0:
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
    if not torch.cuda.is_available() and cfg.get("env_cfg", {}).get("dist_cfg"):
        cfg.env_cfg.dist_cfg["backend"] = "gloo"  # nccl needs CUDA; gloo is what CPU processes talk over
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


def _runner_class():
    """mmengine's Runner, logging the devices it really uses.

    mmengine logs ``GPU number: <world size>`` and the config's ``dist_cfg`` (``nccl``) for every run, so a
    CPU-only machine read "GPU number: 1" and a backend it never starts: a new user wondered whether the GPU
    was found. Here the log names the device and the process count, and the backend only when processes talk.
    """
    from collections import OrderedDict

    import torch
    from mmengine.runner import Runner
    from mmengine.utils.dl_utils import collect_env

    class ZooRunner(Runner):
        def _log_env(self, env_cfg: dict) -> None:
            env = collect_env()
            runtime = OrderedDict((k, v) for k, v in env_cfg.items() if self._distributed or k != "dist_cfg")
            runtime.update(self._randomness_cfg)
            runtime["seed"] = self._seed
            device = "cuda" if torch.cuda.is_available() else "cpu"
            per = "one GPU each" if device == "cuda" else "on the CPU"
            runtime["Devices"] = f"{self._world_size} process{'es' if self._world_size > 1 else ''} {per}"
            runtime["Distributed launcher"] = self._launcher
            runtime["Distributed training"] = self._distributed
            lines = "\n    ".join(f"{k}: {v}" for k, v in env.items())
            run_lines = "\n    ".join(f"{k}: {v}" for k, v in runtime.items())
            dash = "-" * 60
            self.logger.info(f"\n{dash}\nSystem environment:\n    {lines}\n\nRuntime environment:\n    {run_lines}\n"
                             f"{dash}\n")
            if self.cfg._cfg_dict:
                self.logger.info(f"Config:\n{self.cfg.pretty_text}")

    return ZooRunner


def build_runner(cfg):
    try:
        return _runner_class().from_cfg(cfg)
    except TypeError as exc:
        # A config key that no component accepts surfaces as an unexpected keyword argument.
        raise ZooError(f"config error: {exc}") from None


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
