"""A Runner's resume state as plain data, and mmengine's checkpoint I/O routed through the model-file package.

mmengine's message hub pickles ``HistoryBuffer`` objects and numpy arrays, which ``weights_only=True`` loading
refuses; allow-listing numpy's reconstruction would allow ``builtins.getattr``, which is not safe. So what is saved
is made plain here (tensors, numbers, strings, lists, dicts) and rebuilt after loading, and every checkpoint mmengine
reads goes through :func:`zoo.modelfile.safe_load`.

A resumed state is a file too: the paths it names (the best checkpoint mmengine deletes when a better one comes,
the last checkpoint it publishes) are kept only inside the run's own work dir (:func:`confine_paths`).
"""
from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import torch

from zoo.modelfile import atomic_write_bytes, safe_load

_BUFFER_TAG = "__zoo_history_buffer__"
_NDARRAY_TAG = "__zoo_ndarray__"
#: runtime_info keys of mmengine's CheckpointHook that hold file paths it later deletes or publishes
_PATH_KEYS = ("best_ckpt", "last_ckpt")


def to_plain(obj):
    """Replace HistoryBuffers, numpy arrays and numpy scalars by tagged plain data and tensors."""
    from mmengine.logging import HistoryBuffer

    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {_BUFFER_TAG: True, "log": torch.from_numpy(np.asarray(logs, dtype=np.float64)),
                "count": torch.from_numpy(np.asarray(counts, dtype=np.float64)), "max_length": obj.max_length}
    if isinstance(obj, np.ndarray):
        return {_NDARRAY_TAG: True, "tensor": torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj):
    """Inverse of :func:`to_plain`."""
    from mmengine.logging import HistoryBuffer

    if isinstance(obj, dict):
        if obj.get(_BUFFER_TAG):
            buf = HistoryBuffer(obj["log"].numpy().tolist(), obj["count"].numpy().tolist(), obj["max_length"])
            return buf
        if obj.get(_NDARRAY_TAG):
            return obj["tensor"].numpy()
        return {k: from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    return obj


def rng_state() -> dict:
    """Python, numpy and torch random states as plain data, so a resumed run draws what it would have."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {"kind": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


_installed = False
#: the model whose checkpoint the next strict load reads (``zoo test``): a weights file is then read only as far as
#: that model's tensors go (see :func:`zoo.modelfile.read_weights`)
_strict_model: dict = {}


def expect_model(model) -> None:
    """Make mmengine's next checkpoint loads read a weights file only for ``model``'s own tensors (None: any)."""
    _strict_model.clear()
    if model is not None:
        _strict_model["state"] = model.state_dict()


def install() -> None:
    """Route mmengine's local checkpoint loading through :func:`safe_load` and its writes through renames."""
    global _installed
    if _installed:
        return
    from mmengine.fileio.backends import LocalBackend, register_backend
    from mmengine.runner.checkpoint import CheckpointLoader

    from zoo.modelfile import is_weights_file, read_weights

    class AtomicLocalBackend(LocalBackend):
        """mmengine's local storage, but a file appears whole or not at all."""

        def put(self, obj: bytes, filepath) -> None:
            atomic_write_bytes(obj, filepath)

    register_backend("local", AtomicLocalBackend, force=True, prefixes="")

    @CheckpointLoader.register_scheme(prefixes="", force=True)
    def load_from_safe_local(filename, map_location):  # noqa: ANN001
        if "state" in _strict_model and is_weights_file(filename):
            return read_weights(filename, expected=_strict_model["state"])
        return safe_load(filename, map_location=map_location)

    _installed = True


def confine_paths(message_hub: dict, work_dir, logger=None) -> dict:
    """``message_hub`` with the file paths of its runtime info kept only where they lie inside ``work_dir``.

    mmengine's CheckpointHook deletes the "previous best" checkpoint when a better one comes and publishes the last
    and best ones at the end of a run, at whatever path the resumed state names: a shared checkpoint could name any
    file. A path outside the run's work dir is dropped (mmengine then keeps no previous best), with a warning."""
    info = message_hub.get("runtime_info") if isinstance(message_hub, dict) else None
    if not isinstance(info, dict):
        return message_hub
    root = Path(work_dir).resolve()
    for key in [k for k in info if k in _PATH_KEYS or str(k).startswith("best_ckpt_")]:
        value = info[key]
        inside = isinstance(value, str) and value and Path(value).resolve().is_relative_to(root)
        if not inside:
            del info[key]
            (logger or logging.getLogger("zoo")).warning(
                f"resume: dropped {key}={value!r} from the resumed state: it is not inside this run's work dir "
                f"{root}, and the run deletes or rewrites the files its state names")
    return message_hub
