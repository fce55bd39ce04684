"""Runtimes behind the predictor. Each takes a normalised (N, C, H, W) float32 array and returns
``(coords (N, K, 2) in input px, scores (N, K))`` -- the detector's ``tensor`` mode, eager or exported."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zoo.registry import ZooError

META_KEY = "zoo_meta"


class ModelFileError(ZooError):
    """A model file is unreadable or carries no zoo metadata, so it cannot be used without guessing."""


class TorchBackend:
    """An eager ``LandmarkDetector`` rebuilt from a checkpoint's own config."""

    name = "torch"

    def __init__(self, model, channels_last: bool = False):
        import torch

        self.model = model.eval()
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    @classmethod
    def from_checkpoint(cls, path, checkpoint: dict | None = None, **kwargs) -> tuple["TorchBackend", dict]:
        from mmengine.config import Config

        from zoo.engine.safe_checkpoint import safe_load
        from zoo.models.weights import without_pretrained
        from zoo.registry import MODELS

        checkpoint = checkpoint if checkpoint is not None else safe_load(path)
        meta = checkpoint.get(META_KEY)
        if not meta:
            raise ModelFileError(
                f"{path} has no zoo metadata (preprocessing, landmark names), so inference would have to guess; "
                f"use a checkpoint saved by `zoo train`, or export one from it")
        cfg = Config.fromstring(meta["config"], file_format=".py")
        model_cfg = without_pretrained(cfg.model)
        model = MODELS.build(model_cfg)
        state = checkpoint.get("state_dict", checkpoint)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelFileError(f"{path} does not fit its own config: missing {list(missing)[:5]}, "
                                 f"unexpected {list(unexpected)[:5]}")
        return cls(model, **kwargs), meta

    def __call__(self, batch: np.ndarray):
        import torch

        x = torch.from_numpy(batch)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            coords, scores = self.model(x, mode="tensor")
        return coords.float().numpy(), scores.float().numpy()

    def member(self, index: int) -> "TorchBackend":
        """An ensemble's ``index``-th member as a backend of its own (the predictor runs each, then averages)."""
        return type(self)(self.model.members[index], channels_last=self.channels_last)

    def refine(self, patches: np.ndarray):
        """A two-stage model's refine graph: normalised patches -> (coords patch px, scores)."""
        import torch

        x = torch.from_numpy(patches)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            coords, scores = self.model.refine_tensor(x)
        return coords.float().numpy(), scores.float().numpy()


def refine_graph_path(path, meta: dict) -> Path | None:
    """The refine graph beside a two-stage model's exported global graph (``meta['refine']['graph']``)."""
    if meta.get("graph_role") == "refine":
        raise ModelFileError(f"{path} is the refine graph of a two-stage model; open its global graph "
                             f"{meta.get('refine_of', '')!s} instead (the predictor runs both)")
    name = (meta.get("refine") or {}).get("graph")
    if not meta.get("refine"):
        return None
    if not name:
        raise ModelFileError(f"{path} is a two-stage model but names no refine graph; re-export it with `zoo export`")
    sibling = Path(path).with_name(name)
    if not sibling.is_file():
        raise ModelFileError(f"{path} needs its refine graph {sibling.name} beside it (both come from one `zoo export`)")
    return sibling


class TorchScriptBackend:
    name = "torchscript"

    def __init__(self, path):
        import torch

        extra = {f"{META_KEY}.json": ""}
        self.module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        if not extra[f"{META_KEY}.json"]:
            raise ModelFileError(f"{path} carries no {META_KEY}.json; export it with `zoo export`")
        self.meta = json.loads(extra[f"{META_KEY}.json"])
        sibling = refine_graph_path(path, self.meta)
        self.refine_module = torch.jit.load(str(sibling), map_location="cpu") if sibling else None

    def __call__(self, batch: np.ndarray):
        import torch

        with torch.inference_mode():
            coords, scores = self.module(torch.from_numpy(batch))
        return coords.numpy(), scores.numpy()

    def refine(self, patches: np.ndarray):
        import torch

        with torch.inference_mode():
            coords, scores = self.refine_module(torch.from_numpy(patches))
        return coords.numpy(), scores.numpy()


def ort_session_options(threads: int | None = None, spinning: bool = False):
    """ONNX Runtime CPU session options as the zoo runs them: all graph optimisations, ``threads``
    intra-op threads (ORT's default: the cores), and worker threads that sleep between runs unless
    ``spinning``. Spinning workers keep a core busy for a while after every run, which on a small
    machine slows whatever runs next: the patch cutting between a two-stage model's graphs, another
    request, another runtime (measured in ``benchmarks/two_stage_latency.py``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OnnxBackend:
    """ONNX Runtime on the CPU, threads = cores unless told otherwise."""

    name = "onnxruntime"

    def __init__(self, path, threads: int | None = None, spinning: bool = False):
        import onnxruntime as ort

        options = ort_session_options(threads, spinning)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelFileError(f"cannot load ONNX model {path}: {exc}") from None
        props = self.session.get_modelmeta().custom_metadata_map
        if META_KEY not in props:
            raise ModelFileError(f"{path} carries no '{META_KEY}' metadata; export it with `zoo export`")
        self.meta = json.loads(props[META_KEY])
        self.input_name = self.session.get_inputs()[0].name
        sibling = refine_graph_path(path, self.meta)
        self.refine_session = None
        if sibling is not None:
            try:
                self.refine_session = ort.InferenceSession(str(sibling), options, providers=["CPUExecutionProvider"])
            except Exception as exc:
                raise ModelFileError(f"cannot load the refine graph {sibling}: {exc}") from None

    def __call__(self, batch: np.ndarray):
        coords, scores = self.session.run(None, {self.input_name: batch})
        return coords, scores

    def refine(self, patches: np.ndarray):
        name = self.refine_session.get_inputs()[0].name
        coords, scores = self.refine_session.run(None, {name: patches})
        return coords, scores


def open_backend(path, threads: int | None = None, channels_last: bool = False):
    """Pick the runtime by file type; returns ``(backend, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        backend = OnnxBackend(path, threads)
        return backend, backend.meta
    if suffix in (".ts", ".torchscript") or path.name.endswith(".torchscript.pt"):
        backend = TorchScriptBackend(path)
        return backend, backend.meta
    if threads:
        import torch

        torch.set_num_threads(threads)
    return TorchBackend.from_checkpoint(path, channels_last=channels_last)
