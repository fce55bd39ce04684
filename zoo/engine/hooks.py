"""Hooks the zoo adds to mmengine's Runner: self-describing safe checkpoints, and a stop on NaN loss."""
from __future__ import annotations

import math

import torch
from mmengine.hooks import Hook

from zoo.modelfile import without_config_text
from zoo.registry import HOOKS, ZooError

from .run_state import confine_paths, expect_model, from_plain, install, rng_state, set_rng_state, to_plain


class NonFiniteLossError(ZooError):
    """Training produced a NaN or infinite loss; it was stopped before anything was saved from that state."""


@HOOKS.register_module()
class ZooCheckpointHook(Hook):
    """Makes every checkpoint loadable with ``weights_only=True`` and complete for inference.

    Before saving: the message hub becomes plain data, the RNG states are recorded and ``zoo_meta`` (config,
    landmark set, preprocessing, the training images' orientation, pixel size and anatomy size) is added. After
    loading: the message hub and RNG are rebuilt when resuming, and when fine-tuning from another landmark set the
    per-landmark head weights are matched by symbol.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:
        install()
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        expect_model(model if runner.cfg.get("zoo_strict_load") else None)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        from zoo.modelfile.meta import build_zoo_meta

        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        checkpoint["message_hub"] = to_plain(checkpoint.get("message_hub", {}))
        checkpoint["meta"] = to_plain(without_config_text(checkpoint.get("meta", {})))
        checkpoint["rng_state"] = rng_state()
        checkpoint["zoo_meta"] = build_zoo_meta(runner.cfg, model)
        facing = self._training_orientation(runner, model)
        if facing is not None:
            checkpoint["zoo_meta"]["canonical_orientation"] = facing
        mm, anatomy = self._training_scale(runner, model)
        if mm is not None:  # the pixel size every image is read at (#39)
            meta = checkpoint["zoo_meta"]
            meta["preprocess"] = {**meta["preprocess"], "train_mm_per_pixel": mm}
            if anatomy is not None:
                meta["anatomy"] = anatomy

    def _training_orientation(self, runner, model):
        """Which way the training images face (from their annotations, once per run): what an export tells a
        reader about the orientation the model reads in."""
        if not hasattr(self, "_facing"):
            from zoo.calibration import dataset_orientation

            loop = runner._train_loop  # built by the time a checkpoint is saved in training; not built here if not
            dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
            self._facing = dataset_orientation(dataset, model.landmark_symbols) if dataset is not None else None
        return self._facing

    def _training_scale(self, runner, model):
        """The training images' pixel size and anatomy size (from their annotations, once per run): the scale the
        predictor reads every image at, and estimates an unknown pixel size against (``zoo.inference.scale``)."""
        if not hasattr(self, "_scale"):
            from zoo.calibration import dataset_scale

            loop = runner._train_loop
            dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
            self._scale = dataset_scale(dataset, model.landmark_symbols) if dataset is not None else (None, None)
        return self._scale

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if "message_hub" in checkpoint:
            checkpoint["message_hub"] = from_plain(checkpoint["message_hub"])
            if runner._resume:  # mmengine deletes and publishes the checkpoints a resumed state names
                confine_paths(checkpoint["message_hub"], runner.work_dir, runner.logger)
        if "meta" in checkpoint:
            # mmengine's resume runs Config.fromstring(meta['config']): a file's text must never run
            checkpoint["meta"] = from_plain(without_config_text(checkpoint["meta"]))
        if runner._resume and "rng_state" in checkpoint:
            set_rng_state(checkpoint["rng_state"])
        source = (checkpoint.get("zoo_meta") or {}).get("landmark_symbols")
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        target = list(getattr(model, "landmark_symbols", []) or [])
        if source and target and list(source) != target and "state_dict" in checkpoint:
            remap_landmark_weights(checkpoint["state_dict"], model.state_dict(), list(source), target, runner.logger)
        if "state_dict" in checkpoint:
            check_fit(checkpoint["state_dict"], model.state_dict(), strict=runner.cfg.get("zoo_strict_load", False),
                      logger=runner.logger)


def check_fit(state: dict, own: dict, strict: bool, logger=None) -> None:
    """Say plainly when a checkpoint does not fit the model (mmengine would only log and go on).

    Evaluating a checkpoint of another architecture would score random weights, so ``zoo test`` is strict;
    fine-tuning (``load_from``) tolerates a different head and logs what it left at its fresh init.
    """
    from zoo.modelfile import CheckpointError

    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or reshaped):
        return
    summary = (f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]}), "
               f"{len(reshaped)} of another shape (e.g. {reshaped[:3]})")
    if strict:
        raise CheckpointError(f"the checkpoint does not fit this model's architecture: {summary}. Is it a "
                              f"checkpoint of another config? `zoo test CKPT` alone uses the checkpoint's own config.")
    if logger is not None:
        logger.warning(f"checkpoint and model differ: {summary}; those weights keep their fresh init")


def remap_landmark_weights(state: dict, own: dict, source: list[str], target: list[str], logger=None) -> None:
    """Fine-tuning across landmark sets: keep the rows of per-landmark outputs whose symbols both sets share.

    A head parameter is per-landmark when its first dimension is K (heatmap channels) or 2K (x/y regression)
    in both the checkpoint and the model; shared symbols copy over, the rest keep the model's fresh init. Heads
    inside a stage count too (``global_stage.head.``, ``refine_stage.head.`` of a two-stage detector), so the
    shipped two-stage model starts a model of another landmark set with every landmark they share.
    """
    shared = [(source.index(s), target.index(s)) for s in target if s in source]
    ks, kt = len(source), len(target)
    for key in list(state):
        if not (key.startswith("head.") or ".head." in key) or key not in own:
            continue
        old, new = state[key], own[key]
        if old.dim() == 0 or old.shape[1:] != new.shape[1:]:
            continue
        for per in (1, 2):
            if old.shape[0] == per * ks and new.shape[0] == per * kt:
                merged = new.clone()
                for i_src, i_dst in shared:
                    merged[per * i_dst:per * i_dst + per] = old[per * i_src:per * i_src + per]
                state[key] = merged
                break
    if logger is not None:
        logger.info(f"fine-tuning across landmark sets: {len(shared)} of {kt} landmarks share weights by symbol "
                    f"({', '.join(target[d] for _, d in shared)})")


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first NaN or infinite loss, naming the iteration; the last checkpoint stays."""

    priority = "HIGHEST"

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs:
            return
        for name, value in outputs.items():
            scalar = float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else float(value)
            if not math.isfinite(scalar):
                raise NonFiniteLossError(
                    f"{name} became {scalar} at iteration {runner.iter + 1}; training stopped. The last good "
                    f"checkpoint in {runner.work_dir} is untouched. Lower the learning rate or check the data "
                    f"(`zoo data check`)."
                )


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Trains in channels-last memory format: oneDNN's CPU convolutions run faster that way.

    The arithmetic is the same up to rounding. Parameters are converted in place, so the optimizer keeps its
    references; inputs need no change (a convolution with channels-last weights returns channels-last
    outputs), and checkpoints load into a model of either layout.
    """

    priority = "VERY_HIGH"

    def before_train(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)
