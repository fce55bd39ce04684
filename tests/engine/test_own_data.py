"""``zoo train --data``: the seed users' case (a lab's Label Studio export, no ISBI data) from annotations to a model
in one command, and the bad exports it refuses before training, each with its fix.

Training runs use the real recipes shrunk to a 128 px input, 32 px patches and 2 iterations (``_tiny_recipe``), so
each end-to-end test takes seconds; which recipe the command picks is tested without training."""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from zoo.data.labelstudio import predictions_to_tasks
from zoo.data.landmark_sets import get_landmark_set
from zoo.data.synthetic import SYMBOLS_31, make_sample
from zoo.engine.own_data import (
    RECIPES,
    OwnDataError,
    choose_recipe,
    configs_dir,
    plan_run,
    read_own_data,
    split_indices,
)
from zoo.modelfile import safe_load

ISBI = list(get_landmark_set("isbi2015").symbols)
SIZE = (128, 160)  # (W, H) of the synthetic cephalograms


def write_export(folder: Path, n: int, symbols, *, seed: int = 5, rename=None, first: int = 0) -> Path:
    """A Label Studio JSON export of ``n`` synthetic cephalograms labelled with ``symbols``, as a lab makes one:
    the zoo's pre-annotations (``predictions_to_tasks``) accepted by an annotator, images in ``images/`` under the
    names Label Studio's upload prefix hides."""
    entries = []
    for i in range(first, first + n):
        sample = make_sample(seed, i, SIZE, 30.0)
        image = folder / "images" / f"ceph {i:02d}.jpg"
        image.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(image), sample.image)
        points = dict(zip(SYMBOLS_31, sample.keypoints))
        entries.append({"image": f"/data/upload/3/8f3a2c1d-ceph {i:02d}.jpg", "width": SIZE[0], "height": SIZE[1],
                        "landmarks": {(rename or {}).get(s, s): {"x": float(points[s][0]), "y": float(points[s][1]),
                                                                 "confidence": 1.0} for s in symbols}})
    tasks = []
    for k, task in enumerate(predictions_to_tasks({"model": {}, "predictions": entries}), first + 1):
        result = [{key: v for key, v in r.items() if key != "score"} for r in task["predictions"][0]["result"]]
        tasks.append({"id": k, "data": task["data"], "annotations": [{"id": 100 + k, "result": result}]})
    export = folder / "project-1-at-2025.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    return export


def _tiny_recipe(folder: Path, recipe: str) -> Path:
    """``recipe`` (a key of RECIPES) at a 128 px input, 32 px patches, 2 iterations, no workers."""
    path = folder / f"tiny {recipe}.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [{str(configs_dir() / RECIPES[recipe])!r}]
        input_size = (128, 128)
        patch_size = 32
        max_iters = 2
        model = dict(patch_size=patch_size, patch_scale=2.0, test_cfg=dict(views=None))
        train_pipeline = [
            dict(type='LoadCephalogram', channels=3, keep_gray=True),
            dict(type='RefinePatches', patch_size=patch_size, patch_scale=2.0, jitter=10.0, num_patches=None),
            dict(type='LetterboxResize', size=input_size, pad_value=0),
            dict(type='PackLandmarkInputs'),
        ]
        test_pipeline = [
            dict(type='LoadCephalogram', channels=3, keep_gray=True),
            dict(type='RefinePatches', patch_size=patch_size, patch_scale=2.0, test_mode=True),
            dict(type='LetterboxResize', size=input_size, pad_value=0),
            dict(type='PackLandmarkInputs'),
        ]
        loader = dict(batch_size=2, num_workers=0, persistent_workers=False)
        train_dataloader = dict(loader, dataset=dict(pipeline=train_pipeline))
        val_dataloader = dict(loader, dataset=dict(pipeline=test_pipeline))
        test_dataloader = dict(loader, dataset=dict(pipeline=test_pipeline))
        train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
        optim_wrapper = dict(type='OptimWrapper')
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
        default_hooks = dict(checkpoint=dict(interval=max_iters), logger=dict(interval=1))
        custom_hooks = []
    """), encoding="utf-8")
    return path


def _run_log(work: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in work.glob("*/*.log"))


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def test_a_ruler_only_export_trains_a_ruler_model(tmp_path, zoo_cli):
    """The seed lab's first export labels only the ruler's p1/p2: no shipped model shares them, so it trains from
    scratch, validates on a seeded split, says why it has no quality gate, and the model predicts."""
    export = write_export(tmp_path / "ruler export", 10, ["p1", "p2"])
    work = tmp_path / "work dir"
    code, out, err = zoo_cli(["train", "--data", export, "--recipe", _tiny_recipe(tmp_path, "scratch_few"),
                           "--work-dir", work])
    assert code == 0, err[-3000:]
    assert "landmark set ruler (2)" in out and "8 images to train, 2 to validate, no test split" in out
    assert "from scratch: no shipped model shares a landmark with p1, p2" in out
    assert "no shape model: a shape model needs 3 or more anatomical landmarks" in out
    assert "no verdict thresholds: 2 validation images, the thresholds need 8" in out
    model = safe_load(work / "model.pth")
    assert model["zoo_meta"]["landmark_symbols"] == ["p1", "p2"] and "quality" not in model["zoo_meta"]
    assert f'zoo predict "{work / "model.pth"}" YOUR_IMAGE.jpg' in out
    assert "--ruler-mm" in out  # a ruler model measures the pixel size itself
    split = json.loads((work / "split.json").read_text())
    assert len(split["train"]) == 8 and len(split["validation"]) == 2 and split["test"] == []
    assert sorted(p.suffix for p in (work / "validation").iterdir()) == [".png", ".png"]
    config = (work / "config.py").read_text()  # the whole resolved config of the run, no _base_ left
    assert "_base_" not in config and "LabelStudioDataset" in config and "load_from = None" in config
    log = _run_log(work)
    assert "Devices: 1 process on the CPU" in log and "GPU number" not in log and "nccl" not in log

    code, out, err = zoo_cli(["predict", work / "model.pth", tmp_path / "ruler export" / "images" / "ceph 00.jpg",
                           "--threads", "1"])
    assert code == 0 and "p1" in out and "quality: UNCHECKED" in out, err


def test_a_19_landmark_export_fine_tunes_isbi19_and_borrows_its_gate(tmp_path, zoo_cli):
    """A lab's 19 ISBI landmarks under its own names: the label map reads them, isbi19 is the start (every landmark
    shared), the fine-tuned model borrows isbi19's shape model and thresholds (too few images for its own), fits its
    radii on its validation images, and `zoo checkpoint calibrate` on the kept checkpoint names the way forward."""
    export = write_export(tmp_path / "lab export", 10, ISBI, rename={"S": "Sela", "Pog'": "Soft pogonion"})
    work = tmp_path / "fine tuned"
    code, out, err = zoo_cli(["train", "--data", export, "--from", "isbi19", "--label-map", "Sela=S",
                           "--label-map", "Soft pogonion=Pog'", "--recipe", _tiny_recipe(tmp_path, "finetune"),
                           "--work-dir", work])
    assert code == 0, err[-3000:]
    assert "landmark set isbi2015 (19)" in out and "8 images to train, 2 to validate" in out
    assert "start: from isbi19: 19 of 19 landmarks shared by symbol" in out
    assert "shape: isbi19" in out and "thresholds: isbi19 (2 validation images, the thresholds need 8)" in out
    meta = safe_load(work / "model.pth")["zoo_meta"]
    sources = meta["quality"]["calibrated_on"]["sources"]
    assert sources["shape"].startswith("isbi19") and sources["thresholds"].startswith("isbi19")
    assert meta["quality"]["shape"]["num_shapes"] == 130  # isbi19's own training shapes
    assert "uncertainty" not in sources  # 2 validation images give no landmark its 3 errors
    config = (work / "config.py").read_text()
    assert "isbi19.safetensors" in config and "'Soft pogonion'," in config  # label pairs: keys must be names
    assert len(list((work / "validation").glob("*.png"))) == 2

    best = next(work.glob("best_*.pth"))
    code, _, err = zoo_cli(["checkpoint", "calibrate", best, "--out", tmp_path / "strict.pth"])
    assert code == 2 and "8 fully annotated shapes; the shape model needs at least 10" in err
    assert "--fallback START_MODEL" in err and not (tmp_path / "strict.pth").exists()
    code, out, err = zoo_cli(["checkpoint", "calibrate", best, "--out", tmp_path / "borrowed.pth",
                           "--fallback", "isbi19"])
    assert code == 0 and "thresholds: isbi19" in out, err


def test_the_python_api_trains_the_same(tmp_path):
    import zoo

    export = write_export(tmp_path / "api export", 8, ["p1", "p2"], seed=7)
    result = zoo.train(export, start=None, work_dir=tmp_path / "api run", quiet=True,
                       recipe=_tiny_recipe(tmp_path, "scratch_few"))
    assert result.model.is_file() and result.config.is_file() and len(result.pictures) == 2
    assert result.validation["samples"] == 2 and result.test is None
    prediction = zoo.load(result.model, threads=1).predict(str(tmp_path / "api export" / "images" / "ceph 00.jpg"))
    assert set(prediction.landmarks) == {"p1", "p2"} and prediction.status == "unchecked"


def test_a_test_split_is_evaluated_only_when_given(tmp_path, zoo_cli):
    export = write_export(tmp_path / "train", 8, ["p1", "p2"])
    test = write_export(tmp_path / "test", 3, ["p1", "p2"], first=20)
    work = tmp_path / "with test"
    code, out, err = zoo_cli(["train", "--data", export, "--test", test, "--from", "none", "--recipe",
                           _tiny_recipe(tmp_path, "scratch_few"), "--work-dir", work])
    assert code == 0, err[-3000:]
    assert "6 images to train, 2 to validate, 3 to test" in out and "MRE_px" in out
    assert f"zoo test \"{work / 'model.pth'}\"" in out
    assert len(json.loads((work / "split.json").read_text())["test"]) == 3
    summary = json.loads((work / "summary.json").read_text())
    assert summary["test_images"] == 3 and summary["test"]["MRE_px"] > 0 and summary["validation_images"] == 2


def test_a_folder_with_its_own_splits_fine_tunes_across_landmark_sets(tmp_path, zoo_cli):
    """An Aariz-layout folder (the synthetic set: train/valid/test, 31 landmarks with the ruler): its own validation
    and test splits are used, and isbi19 starts the 19 landmarks it shares while the 12 new ones start fresh."""
    from zoo.data.synthetic import generate

    folder = generate(tmp_path / "my clinic", n=20, seed=3, size=SIZE)
    work = tmp_path / "ceph31 run"
    code, out, err = zoo_cli(["train", "--data", folder, "--recipe", _tiny_recipe(tmp_path, "finetune"),
                           "--work-dir", work])
    assert code == 0, err[-3000:]
    assert "16 images to train, 2 to validate, 2 to test" in out and "landmark set ceph31 (31)" in out
    assert "from isbi19: 19 of 31 landmarks shared by symbol; 12 new (" in out
    assert "19 of 31 landmarks share weights by symbol" in _run_log(work)
    summary = json.loads((work / "summary.json").read_text())
    assert summary["test_images"] == 2 and summary["landmark_set"] == "ceph31"
    assert safe_load(work / "model.pth")["zoo_meta"]["landmark_symbols"] == list(get_landmark_set("ceph31").symbols)


# -- what it picks, without training ---------------------------------------------------------------------------
def test_the_split_is_seeded_and_keeps_enough_on_each_side():
    assert split_indices(18, 0.2, 0) == split_indices(18, 0.2, 0)
    train, val = split_indices(18, 0.2, 0)
    assert len(val) == 4 and sorted(train + val) == list(range(18)) and not set(train) & set(val)
    assert split_indices(18, 0.2, 1) != (train, val)
    assert len(split_indices(6, 0.2, 0)[1]) == 2  # at least two validate
    with pytest.raises(OwnDataError, match="5 annotated images: a model needs at least 6"):
        split_indices(5, 0.2, 0)


def test_the_recipe_suits_the_start_and_the_number_of_images(tmp_path):
    assert choose_recipe(14, "isbi19")[0] == "finetune" and choose_recipe(400, "isbi19")[0] == "finetune"
    assert choose_recipe(14, None)[0] == "scratch_few" and choose_recipe(120, None)[0] == "scratch"
    for recipe in RECIPES.values():
        assert (configs_dir() / recipe).is_file()
    lab = read_own_data(write_export(tmp_path / "lab", 8, ISBI), decode=False)
    plan = plan_run(lab, work_dir=tmp_path / "w")
    assert plan.start == "isbi19" and plan.recipe.name == Path(RECIPES["finetune"]).name
    ruler = read_own_data(write_export(tmp_path / "ruler", 8, ["p1", "p2"]), decode=False)
    plan = plan_run(ruler, start="isbi19", work_dir=tmp_path / "w")
    assert plan.start is None and "isbi19 shares no landmark with p1, p2" in plan.start_reason
    assert plan.recipe.name == Path(RECIPES["scratch_few"]).name


def test_a_start_model_of_another_architecture_is_refused(tmp_path, untrained_checkpoint):
    heatmap = untrained_checkpoint(textwrap.dedent("""
        default_scope = 'zoo'
        input_size = (64, 64)
        model = dict(type='LandmarkDetector', landmark_set='isbi2015',
            data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1], channels=3),
            backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
            neck=dict(type='HRNetV2Neck'), head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
            decoder=dict(type='DarkDecoder', blur_sigma=2.0), loss=dict(type='HeatmapMSELoss'))
        test_pipeline = [dict(type='LoadCephalogram', channels=3), dict(type='LetterboxResize', size=input_size),
                         dict(type='PackLandmarkInputs')]
    """), tmp_path / "heatmap.py", tmp_path / "heatmap model.pth")
    lab = read_own_data(write_export(tmp_path / "lab", 8, ISBI), decode=False)
    with pytest.raises(OwnDataError, match="another architecture than the recipe .* --recipe CONFIG"):
        plan_run(lab, start=str(heatmap), work_dir=tmp_path / "w")


# -- bad input: one clear message before anything is trained -----------------------------------------------------
@pytest.fixture
def lab(tmp_path) -> Path:
    return write_export(tmp_path / "lab export", 10, ISBI)


def _refused(args, zoo_cli, work: Path) -> str:
    code, _, err = zoo_cli(["train", "--data", *args, "--work-dir", work])
    assert code == 2 and "error: " in err, err  # (a reader's warning may come first)
    assert not work.exists() or not any(work.iterdir()), "nothing is written before the data is good"
    return err


def test_an_export_of_three_images_is_refused(lab, tmp_path, zoo_cli):
    three = lab.with_name("three.json")
    three.write_text(json.dumps(json.loads(lab.read_text())[:3]))
    err = _refused([three], zoo_cli, tmp_path / "w")
    assert "3 annotated images: a model needs at least 6 (4 to learn from, 2 to pick the checkpoint on); annotate " \
           "3 more (nothing was trained)" in err


def test_images_missing_on_disk_name_the_images_option(lab, tmp_path, zoo_cli):
    for image in sorted((lab.parent / "images").iterdir())[:2]:
        image.unlink()
    err = _refused([lab], zoo_cli, tmp_path / "w")
    assert "2 x unmatched image" in err and "ceph 00.jpg" in err and "--images DIR" in err
    elsewhere = tmp_path / "the images"
    shutil.move(str(lab.parent / "images"), str(elsewhere))
    write_export(tmp_path / "scratch", 10, ISBI)  # the two deleted images again, in a folder named with --images
    for image in (tmp_path / "scratch" / "images").iterdir():
        if not (elsewhere / image.name).exists():
            shutil.copy(image, elsewhere / image.name)
    data = read_own_data(lab, images=elsewhere, decode=False)
    assert len(data.role("pool")[0].samples) == 10


def test_two_landmark_sets_in_one_export_are_refused(lab, tmp_path, zoo_cli):
    ruler = write_export(tmp_path / "ruler", 4, ["p1", "p2"], first=10)
    shutil.copytree(tmp_path / "ruler" / "images", lab.parent / "images", dirs_exist_ok=True)
    mixed = lab.with_name("mixed.json")
    mixed.write_text(json.dumps(json.loads(lab.read_text()) + json.loads(ruler.read_text())))
    err = _refused([mixed], zoo_cli, tmp_path / "w")
    assert "two landmark sets mixed in mixed.json: 10 images label landmarks of 'isbi2015', 4 only p1, p2" in err
    assert "train one set at a time" in err


def test_labels_the_model_does_not_know_are_refused_with_suggestions(tmp_path, zoo_cli):
    export = write_export(tmp_path / "own names", 10, ISBI, rename={"S": "Sela", "Pog'": "SoftPog"})
    err = _refused([export], zoo_cli, tmp_path / "w")
    assert "unknown labels: 'Sela' (did you mean S 'Sella'?), 'SoftPog' (did you mean Pog' 'Soft tissue " \
           "pogonion'?)" in err and "--label-map LABEL=SYMBOL" in err


def test_options_of_the_other_kind_of_run_are_refused(lab, tmp_path, zoo_cli):
    code, _, err = zoo_cli(["train", "--data", lab, "--load-from", "isbi19"])
    assert code == 2 and "with --data the start model is --from MODEL" in err
    code, _, err = zoo_cli(["train", str(configs_dir() / RECIPES["finetune"]), "--images", tmp_path])
    assert code == 2 and "--images goes with --data" in err
    code, _, err = zoo_cli(["train"])
    assert code == 2 and "give a CONFIG, or --data YOUR_ANNOTATIONS" in err


def test_a_second_run_into_a_trained_work_dir_is_refused(lab, tmp_path, zoo_cli):
    work = tmp_path / "used"
    work.mkdir()
    (work / "iter_600.pth").write_bytes(b"a trained run")
    code, _, err = zoo_cli(["train", "--data", lab, "--work-dir", work])
    assert code == 2 and "already holds a trained run: --resume continues it" in err
    assert (work / "iter_600.pth").read_bytes() == b"a trained run"


def test_the_written_config_restates_the_pipelines_and_data(lab, tmp_path):
    from mmengine.config import Config

    from zoo.engine.own_data import write_run_config

    plan = plan_run(read_own_data(lab, spacing=0.1, decode=False), work_dir=tmp_path / "w")
    cfg = Config.fromfile(str(write_run_config(plan)))
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.type == val.type == "LabelStudioDataset" and "split" not in train and train.spacing == 0.1
    assert sorted(train.indices + val.indices) == list(range(10)) and val.test_mode
    assert [s["type"] for s in train.pipeline][:2] == ["LoadCephalogram", "RefinePatches"]
    assert cfg.test_dataloader is None and cfg.model.landmark_set == "isbi2015"
    assert np.isclose(cfg.optim_wrapper.optimizer.lr, 2e-4)  # the recipe's, not the command's


# -- the hand-written way (configs/README.md): each mistake of the first users is one message before building --------
def _copied_recipe(tmp_path: Path, export: Path, dataset: str) -> Path:
    """The README's old advice: copy the fine-tuning recipe and point its dataset at the export."""
    path = tmp_path / "my finetune.py"
    path.write_text(textwrap.dedent(f"""
        _base_ = [{str(configs_dir() / 'two_stage/two-stage_hrnet-w18-small_b6-ft_isbi19-18img-256.py')!r}]
        train_dataloader = dict(dataset=dict({dataset}type='LabelStudioDataset', data_root={str(export.parent)!r},
                                             ann_file={export.name!r}, landmark_set='isbi2015'))
    """), encoding="utf-8")
    return path


def test_a_copied_recipe_pointed_at_an_export_names_delete_and_the_pipeline(lab, tmp_path, zoo_cli):
    work = tmp_path / "w"
    code, _, err = zoo_cli(["train", _copied_recipe(tmp_path, lab, ""), "--work-dir", work])
    assert code == 2 and "LabelStudioDataset does not take 'annotator', 'split'" in err
    assert "_delete_=True" in err and "pipeline=_base_.train_pipeline" in err
    code, _, err = zoo_cli(["train", _copied_recipe(tmp_path, lab, "_delete_=True, "), "--work-dir", work])
    assert code == 2 and "train_dataloader.dataset has no pipeline" in err and "pipeline=_base_.train_pipeline" in err
    assert not list(work.glob("*.pth"))


def test_a_missing_test_split_stops_training_before_it_starts(lab, tmp_path, zoo_cli):
    config = _copied_recipe(tmp_path, lab, "_delete_=True, pipeline=_base_.train_pipeline, ")
    work = tmp_path / "w"
    code, _, err = zoo_cli(["train", config, "--work-dir", work, "--cfg-options",
                         f"test_dataloader.dataset.data_root={tmp_path / 'no isbi here'}"])
    assert code == 2 and "ISBI" in err and "`--no-test` trains without it" in err
    assert not list(work.glob("*.pth")) and not list(work.glob("*/*.log")), "nothing was built or trained"
