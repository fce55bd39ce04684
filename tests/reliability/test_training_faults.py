"""Training faults: an infinite loss stops training with a clear message, and a full disk during a real
Runner save leaves the previous checkpoint whole; in both cases training then resumes from it.

NaN is covered by
``tests/engine/test_training.py::test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint``
(a subprocess); here +inf and -inf, in this process through the same ``run_cli`` as ``zoo train``.
The disk fills up inside the atomic backend's write (half the bytes go out, then ENOSPC), the way a real
full disk fails, during mmengine's own ``save_checkpoint``.
"""
from __future__ import annotations

import errno
import os
import shutil

import pytest
from reliability_helpers import fast_config

from zoo.modelfile import safe_load

pytestmark = pytest.mark.timeout(300)


def _train(argv, capsys) -> tuple[int, str]:
    from zoo.engine.entry import run_cli

    code = run_cli("train", [str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def trained_two(tmp_path_factory, tiny_data):
    """A config and a work dir holding ``iter_2.pth`` from a healthy run (shared, copied per test)."""
    from zoo.engine.entry import run_cli

    folder = tmp_path_factory.mktemp("healthy run")
    config = fast_config(folder, tiny_data, max_iters=2, interval=2)
    work = folder / "work"
    assert run_cli("train", [str(config), "--work-dir", str(work), "--no-test"]) == 0
    assert (work / "iter_2.pth").is_file()
    return config, work


def _copy(work, tmp_path):
    dest = tmp_path / "work copy"
    shutil.copytree(work, dest)
    (dest / "last_checkpoint").write_text(str(dest / "iter_2.pth"))
    return dest


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_infinite_loss_stops_and_keeps_the_last_good_checkpoint(value, trained_two, tmp_path, capsys, tally):
    config, healthy = trained_two
    work = _copy(healthy, tmp_path)
    good = (work / "iter_2.pth").read_bytes()
    code, err = _train([config, "--work-dir", work, "--resume", "--no-test", "--cfg-options",
                        "train_cfg.max_iters=4", f"model.loss.loss_weight={value}"], capsys)
    assert code == 2, err[-2000:]
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "inf" in line and "iteration 3" in line and "training stopped" in line, line
    assert "Traceback" not in err
    assert (work / "iter_2.pth").read_bytes() == good
    assert not (work / "iter_4.pth").exists()
    assert safe_load(work / "iter_2.pth")["meta"]["iter"] == 2  # resumable (shown after a full disk below)
    tally("non-finite loss (+inf / -inf)")


def test_disk_full_during_a_runner_save_keeps_the_previous_checkpoint(trained_two, tmp_path, capsys, monkeypatch,
                                                                     tally):
    from zoo.modelfile import atomic as sc

    config, healthy = trained_two
    work = _copy(healthy, tmp_path)
    good = (work / "iter_2.pth").read_bytes()
    real_fdopen = os.fdopen
    hits = []

    class FillsUp:
        """A file that takes half the bytes, then the disk is full."""

        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            hits.append(len(data))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()
            return False

    def fdopen(fd, mode="r", *args, **kwargs):
        fh = real_fdopen(fd, mode, *args, **kwargs)
        return FillsUp(fh) if "w" in mode else fh

    monkeypatch.setattr(sc.os, "fdopen", fdopen)
    code, err = _train([config, "--work-dir", work, "--resume", "--no-test", "--cfg-options",
                        "train_cfg.max_iters=4"], capsys)
    monkeypatch.setattr(sc.os, "fdopen", real_fdopen)
    assert hits, "the save never reached the atomic backend"
    assert code == 2, err[-2000:]
    line = next(line for line in err.splitlines() if line.startswith("error:"))
    assert "iter_4.pth" in line and "No space left on device" in line, line
    assert (work / "iter_2.pth").read_bytes() == good
    assert not (work / "iter_4.pth").exists()
    assert not [p.name for p in work.iterdir() if p.name.startswith(".")], "a partial temporary was left behind"
    assert safe_load(work / "iter_2.pth")["meta"]["iter"] == 2

    code, err = _train([config, "--work-dir", work, "--resume", "--no-test", "--cfg-options",
                        "train_cfg.max_iters=4"], capsys)  # space freed: resume from the kept checkpoint
    assert code == 0, err[-2000:]
    assert safe_load(work / "iter_4.pth")["meta"]["iter"] == 4
    tally("disk full (ENOSPC) during a Runner checkpoint save")
