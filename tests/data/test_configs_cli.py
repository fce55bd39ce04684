"""The base dataset configs build real datasets; ``zoo data synth`` / ``zoo data check`` work end to end."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from zoo.cli import _register_commands, app
from zoo.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
BASES = REPO / "configs" / "_base_" / "datasets"
REQUIRED = ("dataset_type", "data_root", "landmark_set", "input_size", "train_pipeline", "test_pipeline",
            "train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator", "test_evaluator")


@pytest.mark.parametrize("name", ["isbi2015", "synthetic31", "ceph31", "aariz", "p1p2"])
def test_base_config_has_every_key(name):
    cfg = Config.fromfile(str(BASES / f"{name}.py"))
    for key in REQUIRED:
        assert key in cfg, f"{name}.py lacks {key}"
    assert cfg.val_evaluator.type == "LandmarkMetric" and len(cfg.input_size) == 2
    for split in ("train", "val", "test"):
        loader = cfg[f"{split}_dataloader"]
        assert loader.sampler.type == "DefaultSampler" and loader.sampler.shuffle == (split == "train")
        assert loader.dataset.type == cfg.dataset_type
        assert DATASETS.get(loader.dataset.type) is not None
    assert cfg.test_pipeline[-1]["type"] == "PackLandmarkInputs"
    assert any(t["type"] == "LetterboxResize" and tuple(t["size"]) == tuple(cfg.input_size) for t in cfg.test_pipeline)


def _build(loader_cfg, **override):
    ds_cfg = dict(loader_cfg.dataset)
    ds_cfg.update(override)
    return DATASETS.build(ds_cfg)


def test_synthetic31_config_generates_then_trains_a_batch(tmp_path, monkeypatch):
    cfg = Config.fromfile(str(BASES / "synthetic31.py"))
    from zoo.data.datasets import ceph31

    assert cfg.data_root == ceph31.SYNTHETIC_ROOT  # the one root generation is allowed into
    root = str(tmp_path / "syn 31")
    monkeypatch.setattr(ceph31, "SYNTHETIC_ROOT", root)  # stands in for it, outside the checkout
    cfg.merge_from_dict({"train_dataloader.dataset.data_root": root,
                         "train_dataloader.dataset.synthesize_if_missing": dict(n=4, seed=0, size=(128, 160))})
    ds = _build(cfg.train_dataloader)
    assert len(ds) == 2 and ds.metainfo["landmark_set"] == "ceph31"
    out = ds[0]
    assert tuple(out["inputs"].shape) == (3, 256, 256)
    sample = out["data_samples"]
    assert sample.keypoints.shape == (31, 2) and sample.spacing > 0
    val = _build(cfg.val_dataloader, data_root=root)
    packed = val[0]["data_samples"]
    from zoo.structures import to_original

    np.testing.assert_allclose(to_original(packed.keypoints, packed.warp), packed.ori_keypoints, atol=0.01)


def test_isbi_config_on_real_data(real_isbi):
    cfg = Config.fromfile(str(BASES / "isbi2015.py"))
    train = _build(cfg.train_dataloader, data_root=str(real_isbi), indices=2)
    test = _build(cfg.test_dataloader, data_root=str(real_isbi), indices=2)
    assert len(train) == 2 and len(test) == 2
    assert tuple(train[0]["inputs"].shape) == (3, 512, 512)
    assert test[1]["data_samples"].img_path.endswith("152.jpg")


def test_missing_config_data_raises_before_any_work(tmp_path):
    from zoo.data import DataNotFoundError

    cfg = Config.fromfile(str(BASES / "ceph31.py"))
    with pytest.raises(DataNotFoundError, match="zoo data synth"):
        _build(cfg.train_dataloader, data_root=str(tmp_path / "absent"))


def _run(args):
    """Run the zoo CLI in-process, returning (exit code, output)."""
    from typer.testing import CliRunner

    _register_commands()
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_cli_synth_and_check(tmp_path):
    out = tmp_path / "cli synth"
    code, text = _run(["data", "synth", str(out), "--n", "3", "--size", "96x120", "--seed", "2"])
    assert code == 0, text
    assert "wrote 3 synthetic cephalograms" in text and (out / "train" / "Cephalograms" / "synth_0000.jpg").is_file()
    code, text = _run(["data", "check", str(out)])
    assert code == 0, text
    assert "Ceph31Dataset" in text and "samples: 1 readable, 0 with problems" in text and "96x120 x1" in text
    # break an image: the check reports it by file and fails
    (out / "train" / "Cephalograms" / "synth_0000.jpg").write_bytes(b"GIF89a not a ceph")
    code, text = _run(["data", "check", str(out), "--split", "train"])
    assert code == 1
    assert "synth_0000.jpg: not a JPEG/PNG/BMP/TIFF image" in text and "1 x unreadable image" in text


def test_cli_check_a_config(real_isbi):
    code, text = _run(["data", "check", str(BASES / "isbi2015.py"), "--no-decode"])
    assert code == 0, text
    assert text.count("samples: 150 readable") == 2 and "0.1 mm/px x150" in text
