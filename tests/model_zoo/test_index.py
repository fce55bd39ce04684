"""The published model index: generated files up to date, every entry's config builds, the shipped model
runs right after install and scores on real ISBI images what its metafile says it scores on Test1."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from zoo.model_zoo import model_entries


def test_generated_files_are_up_to_date(repo_root):
    run = subprocess.run([sys.executable, str(repo_root / "tools" / "model_index.py"), "--check"],
                         capture_output=True, text=True, cwd=repo_root)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("entry", model_entries(), ids=lambda e: e.name)
def test_every_entry_config_builds_the_model_its_weights_fit(entry, repo_root):
    from zoo.engine.config import load_config
    from zoo.model_zoo import read_weights, resolve_model
    from zoo.models.weights import without_pretrained
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    cfg = load_config(repo_root / entry.config)
    model = MODELS.build(without_pretrained(cfg.model))
    assert len(model.landmark_symbols) == entry.num_landmarks
    if entry.shipped:
        state = read_weights(resolve_model(entry.name))["state_dict"]
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not missing and not unexpected  # the config in configs/ still describes the shipped weights


@pytest.mark.realdata
def test_shipped_isbi19_on_real_test1_images(isbi_data):
    """Three Test1 images through ``zoo.load('isbi19')``: each image's MRE within what Test1 as a whole
    allows for most images (the metafile's per-image distribution has its median near 1 mm)."""
    import zoo
    from zoo.data.datasets.isbi2015 import read_isbi_annotation

    model = zoo.load("isbi19")
    errors = []
    for number in (151, 200, 250):
        image = isbi_data / "RawImage" / "Test1Data" / f"{number}.jpg"
        if not image.is_file():
            image = image.with_suffix(".bmp")
        truth = read_isbi_annotation(isbi_data / "AnnotationsByMD" / "400_senior" / f"{number}.txt")
        result = model.predict(image, spacing_mm=0.1)
        errors.append(np.linalg.norm(result.coords() - truth, axis=1).mean() * 0.1)
    assert max(errors) < 3.0 and np.mean(errors) < 2.2, errors
