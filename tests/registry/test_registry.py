"""Registries: lookups, suggestions for typos, mmengine Runner wiring, origins."""
from __future__ import annotations

import pytest
from mmengine.registry import MODELS as MM_MODELS

from zoo.registry import ALL, BACKBONES, MODELS, ORIGINS, UnknownComponentError, load_plugins


def test_every_kind_has_a_registry():
    assert set(ALL) == {
        "datasets", "transforms", "backbones", "necks", "heads", "decoders", "losses", "models", "metrics",
        "hooks", "exporters",
    }


def test_typo_suggests_the_close_name():
    load_plugins()
    with pytest.raises(UnknownComponentError) as err:
        BACKBONES.build(dict(type="HRNetBackbon"))
    message = str(err.value)
    assert "HRNetBackbone" in message and "did you mean" in message.lower()
    assert "zoo::backbone" in message
    assert isinstance(err.value, KeyError)  # callers that catch KeyError still do


def test_membership_does_not_raise():
    assert "NoSuchThing" not in BACKBONES


def test_runner_finds_zoo_models_through_mmengine_root():
    load_plugins()
    # what Runner.build_model does with default_scope='zoo': switch from mmengine's root to our child
    with MM_MODELS.switch_scope_and_registry("zoo") as registry:
        assert registry is MODELS
        cls = registry.get("LandmarkDetector")
        assert registry.get("BaseDataPreprocessor") is not None  # mmengine's own, through the parent
    assert cls is MODELS.get("LandmarkDetector")


def test_builtin_plugins_register_their_backbones():
    load_plugins()
    assert ORIGINS[("backbones", "HRNetBackbone")] == "hrnet"
    assert ORIGINS[("backbones", "ResNetBackbone")] == "resnet"
