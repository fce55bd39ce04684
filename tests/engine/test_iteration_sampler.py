"""Iteration-based training reads its data through mmengine's InfiniteSampler (no 2 s restart per pass)."""
from __future__ import annotations

from mmengine.config import Config

from zoo.engine.runner import _endless_sampler_for_iteration_training


def _cfg(train_cfg: dict, sampler: dict) -> Config:
    return Config(dict(train_cfg=train_cfg,
                       train_dataloader=dict(batch_size=2, sampler=sampler),
                       val_dataloader=dict(batch_size=2, sampler=dict(type="DefaultSampler", shuffle=False))))


def test_iteration_training_swaps_default_for_infinite_and_keeps_shuffle_and_seed():
    cfg = _cfg(dict(by_epoch=False, max_iters=10), dict(type="DefaultSampler", shuffle=False, seed=7))
    _endless_sampler_for_iteration_training(cfg)
    assert cfg.train_dataloader.sampler == dict(type="InfiniteSampler", shuffle=False, seed=7)
    assert cfg.val_dataloader.sampler.type == "DefaultSampler"  # validation passes over the set once

    cfg = _cfg(dict(type="IterBasedTrainLoop", max_iters=10), dict(type="DefaultSampler"))
    _endless_sampler_for_iteration_training(cfg)
    assert cfg.train_dataloader.sampler == dict(type="InfiniteSampler", shuffle=True, seed=None)


def test_epoch_training_and_other_samplers_are_left_alone():
    cfg = _cfg(dict(by_epoch=True, max_epochs=2), dict(type="DefaultSampler", shuffle=True))
    _endless_sampler_for_iteration_training(cfg)
    assert cfg.train_dataloader.sampler.type == "DefaultSampler"

    custom = dict(type="MyBalancedSampler", shuffle=True)
    cfg = _cfg(dict(by_epoch=False, max_iters=10), custom)
    _endless_sampler_for_iteration_training(cfg)
    assert cfg.train_dataloader.sampler == custom
