"""Config faults: exit code 2, one line saying what and where, no traceback unless ``--debug``.

Driven through ``zoo.cli.main`` (the ``zoo`` command) in this process. Already covered in
``tests/engine/test_training.py``: a misspelled head key (``model.head.sigmaa``), a misspelled component
type, a missing config file and a missing data root (as subprocesses of ``tools/train.py``).
"""
from __future__ import annotations

import pytest
from reliability_helpers import fast_config

pytestmark = pytest.mark.timeout(300)

FILES = {
    "not valid Python": ("bad_syntax.py", "model = dict(type='LandmarkDetector'\nx = 1\n", "SyntaxError"),
    "_base_ that does not exist": ("bad_base.py", "_base_ = ['./no_such_base.py']\nmodel = dict()\n",
                                   "no_such_base.py"),
    "undefined name": ("name_error.py", "model = dict(type=undefined_thing)\n", "undefined_thing"),
}
OPTIONS = {
    "unknown dataset key": ("train_dataloader.dataset.splt=train", "splt"),
    "unknown backbone key": ("model.backbone.depht=18", "depht"),
    "str for an int (max_iters)": ("train_cfg.max_iters=abc", "max_iters=abc"),
    "str for a float (lr)": ("optim_wrapper.optimizer.lr=fast", "lr=fast"),
    "str for batch_size": ("train_dataloader.batch_size=two", "batch_size"),
    "list for a float (sigma)": ("model.head.sigma=[1,2]", "list"),
    "unknown landmark set": ("model.landmark_set=isbi2051", "isbi2015"),
    "option without '='": ("model.head.sigma", "key=value"),
    "zero iterations": ("train_cfg.max_iters=0", "train_cfg.max_iters must be at least 1, got 0"),
    "negative iterations": ("train_cfg.max_iters=-5", "train_cfg.max_iters must be at least 1, got -5"),
    "zero epochs": ("train_cfg.max_epochs=0", "train_cfg.max_epochs must be at least 1, got 0"),
}


def _zoo(argv, capsys) -> tuple[int, str]:
    from mmengine.logging import MMLogger

    from zoo.cli import main

    # mmengine keeps its loggers for the process; one made under an earlier test's capture would write to that
    # test's closed stream ("--- Logging error ---"), so each in-process call starts with fresh loggers
    MMLogger._instance_dict.clear()
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    return exit_info.value.code, capsys.readouterr().err


def _one_line(code, err, *expected) -> str:
    assert code == 2, err[-3000:]
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err[-3000:]
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def config(tmp_path, tiny_data):
    return fast_config(tmp_path, tiny_data, max_iters=2, interval=2)


@pytest.mark.parametrize("fault", sorted(FILES))
def test_broken_config_files(fault, tmp_path, capsys, tally):
    name, text, expected = FILES[fault]
    path = tmp_path / "configs dir" / name
    path.parent.mkdir()
    path.write_text(text)
    code, err = _zoo(["train", path, "--work-dir", tmp_path / "w"], capsys)
    _one_line(code, err, path.name, expected)  # what, and where: the file
    tally(f"config fault: {fault}")


@pytest.mark.parametrize("fault", sorted(OPTIONS))
def test_wrong_keys_and_types(fault, config, tmp_path, capsys, tally):
    option, expected = OPTIONS[fault]
    code, err = _zoo(["train", config, "--work-dir", tmp_path / "w", "--no-test", "--cfg-options", option], capsys)
    _one_line(code, err, expected)
    assert not list((tmp_path / "w").glob("*.pth")), "training ran on a broken config"
    tally(f"config fault: {fault}")


def test_zero_iterations_are_refused_before_anything_is_built(config, tmp_path, capsys, tally):
    """Without an iteration-based scheduler (whose "end should be larger than begin" was the only symptom), a
    run of 0 iterations used to "train", save nothing and exit 0."""
    work = tmp_path / "w"
    code, err = _zoo(["train", config, "--work-dir", work, "--cfg-options", "train_cfg.max_iters=0",
                      "param_scheduler=[]"], capsys)
    _one_line(code, err, "train_cfg.max_iters must be at least 1, got 0: a run of 0 iterations trains "
              "nothing")
    assert not work.exists()  # refused before the Runner made its work dir
    tally("config fault: zero iterations with no scheduler to trip on")


def test_missing_checkpoint_for_zoo_test(tmp_path, capsys, tally):
    code, err = _zoo(["test", tmp_path / "no such.pth"], capsys)
    _one_line(code, err, "no such.pth", "not found")
    tally("config fault: zoo test on a missing checkpoint")


def test_debug_shows_the_traceback(tmp_path):
    from zoo.cli import main
    from zoo.engine.config import ConfigError

    path = tmp_path / "bad_syntax.py"
    path.write_text("model = dict(\n")
    with pytest.raises(ConfigError, match="SyntaxError"):
        main(["--debug", "train", str(path), "--debug"])
