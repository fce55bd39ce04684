"""Checkpoints: plain-data runner state, refusal of code-carrying pickles, atomic writes, RNG round trip."""
import os
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from zoo import modelfile
from zoo.engine import run_state


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_message_hub_state_round_trips_through_weights_only(tmp_path):
    buf = HistoryBuffer()
    for v in (1.0, 2.5, 3.0):
        buf.update(v)
    state = {"log_scalars": {"train/loss": buf}, "runtime_info": {"best": np.float64(0.5), "arr": np.arange(3)},
             "resumed_keys": {"train/loss": True}}
    path = tmp_path / "ckpt.pth"
    torch.save({"message_hub": run_state.to_plain(state)}, path)
    loaded = run_state.from_plain(modelfile.safe_load(path)["message_hub"])
    restored = loaded["log_scalars"]["train/loss"]
    assert isinstance(restored, HistoryBuffer)
    assert restored.mean() == pytest.approx(buf.mean()) and restored.current() == 3.0
    assert loaded["runtime_info"]["best"] == 0.5
    np.testing.assert_array_equal(loaded["runtime_info"]["arr"], np.arange(3))


def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with path.open("wb") as f:
        pickle.dump({"state_dict": {}, "payload": _RunsCode(marker)}, f)
    with pytest.raises(modelfile.UnsafeCheckpointError, match="refused to load"):
        modelfile.safe_load(path)
    assert not marker.exists()


def test_truncated_checkpoint_is_a_named_error(tmp_path):
    path = tmp_path / "half.pth"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(modelfile.CheckpointError, match="half.pth"):
        modelfile.safe_load(path)


def test_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "latest.pth"
    modelfile.atomic_write_bytes(b"good", target)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        modelfile.atomic_write_bytes(b"partial", target)
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pth"]  # no temporary left behind


def test_rng_state_round_trip(tmp_path):
    state = run_state.rng_state()
    path = tmp_path / "rng.pth"
    torch.save(state, path)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    run_state.set_rng_state(modelfile.safe_load(path))
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected



@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    """A published model is read by others (a server's user): not 0600 as mkstemp makes it, but what the umask
    gives any new file. Every model file the zoo writes (checkpoints, weights files, calibrations) goes through
    this writer."""
    old = os.umask(umask)
    try:
        written = modelfile.atomic_write_bytes(b"x", tmp_path / "plain.bin")
        saved = modelfile.save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "model.pth")
    finally:
        os.umask(old)
    assert written.stat().st_mode & 0o777 == mode and saved.stat().st_mode & 0o777 == mode
    assert not list(tmp_path.glob(".*.tmp"))
