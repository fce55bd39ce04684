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


def checkpoint_meta(checkpoint: dict, path) -> dict:
    """A loaded checkpoint's ``zoo_meta``, checked (``zoo.engine.metadata.check_meta``) before anything trusts it."""
    from zoo.engine.metadata import check_meta

    meta = checkpoint.get(META_KEY)
    if not meta:
        raise ModelFileError(
            f"{path} has no zoo metadata (preprocessing, landmark names), so inference would have to guess; "
            f"use a checkpoint saved by `zoo train`, or export one from it")
    return check_meta(meta, path)


def checkpoint_config(meta: dict, path):
    """The config stored in a checkpoint's metadata, rebuilt as plain data (nothing runs or is imported)."""
    from zoo.engine.stored_config import config_from_data

    if "config" not in meta:
        raise ModelFileError(f"{path} carries no config in its zoo metadata, so its model cannot be rebuilt")
    return config_from_data(meta["config"], str(path))


def exported_meta(text, path) -> dict:
    """The ``zoo_meta`` JSON an exported file carries, parsed and checked."""
    from zoo.engine.metadata import check_meta

    try:
        meta = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: its {META_KEY} metadata is not valid JSON ({exc})") from None
    return check_meta(meta, path)


class TorchBackend:
    """An eager ``LandmarkDetector`` rebuilt from a checkpoint's own config, on the CPU or a CUDA device."""

    name = "torch"

    def __init__(self, model, channels_last: bool = False, device: str | None = None):
        import torch

        self.device = torch.device(device or "cpu")
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ModelFileError(f"device {device!r} asked for, but this torch sees no CUDA device "
                                 f"(torch {torch.__version__}); use device='cpu'")
        self.model = model.eval().to(self.device)
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    def _tensor(self, array: np.ndarray):
        import torch

        x = torch.from_numpy(array).to(self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    @classmethod
    def from_checkpoint(cls, path, checkpoint: dict | None = None, **kwargs) -> tuple["TorchBackend", dict]:
        """The model a checkpoint describes, built only from registered components (its config is plain data,
        checked before anything is built) and checked against the metadata the predictor will trust."""
        from zoo.engine.safe_checkpoint import safe_load
        from zoo.models.weights import without_pretrained
        from zoo.registry import MODELS

        checkpoint = checkpoint if checkpoint is not None else safe_load(path)
        meta = checkpoint_meta(checkpoint, path)
        cfg = checkpoint_config(meta, path)
        model = MODELS.build(without_pretrained(cfg.model))
        state = checkpoint.get("state_dict", checkpoint)
        if not isinstance(state, dict):
            raise ModelFileError(f"{path}: its state_dict is a {type(state).__name__}, not a dict of tensors")
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ModelFileError(f"{path} does not fit its own config: missing {list(missing)[:5]}, "
                                 f"unexpected {list(unexpected)[:5]}")
        built = list(getattr(model, "landmark_symbols", meta["landmark_symbols"]))
        if built != list(meta["landmark_symbols"]):
            raise ModelFileError(f"{path}: its config builds a model of {len(built)} landmarks, its metadata names "
                                 f"{len(meta['landmark_symbols'])}; the predictions would be mislabelled")
        return cls(model, **kwargs), meta

    def __call__(self, batch: np.ndarray):
        import torch

        with torch.inference_mode():
            coords, scores = self.model(self._tensor(batch), mode="tensor")
        return coords.float().cpu().numpy(), scores.float().cpu().numpy()

    def member(self, index: int) -> "TorchBackend":
        """An ensemble's ``index``-th member as a backend of its own (the predictor runs each, then averages)."""
        return type(self)(self.model.members[index], channels_last=self.channels_last, device=str(self.device))

    def refine(self, patches: np.ndarray):
        """A two-stage model's refine graph: normalised patches -> (coords patch px, scores)."""
        import torch

        with torch.inference_mode():
            coords, scores = self.model.refine_tensor(self._tensor(patches))
        return coords.float().cpu().numpy(), scores.float().cpu().numpy()


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
        self.meta = exported_meta(extra[f"{META_KEY}.json"], path)
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
    request, another runtime (see the two-stage latency benchmark,
    ``projects/two_stage_isbi/scripts/two_stage_latency.py``)."""
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
        self.meta = exported_meta(props[META_KEY], path)
        self.input_name = self.session.get_inputs()[0].name
        sibling = refine_graph_path(path, self.meta)
        _check_graph_shapes(self.session, self.meta, path)
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


def _check_graph_shapes(session, meta: dict, path) -> None:
    """The graph's static input and output sizes must be the ones its metadata promises."""
    pre = meta["preprocess"]
    expected_in = [pre["channels"], pre["input_size"][1], pre["input_size"][0]]
    shape = session.get_inputs()[0].shape
    if len(shape) != 4 or any(isinstance(d, int) and d != e for d, e in zip(shape[1:], expected_in)):
        raise ModelFileError(f"{path}: its graph takes input {shape}, its metadata says (N, {expected_in[0]}, "
                             f"{expected_in[1]}, {expected_in[2]})")
    k = session.get_outputs()[0].shape
    if len(k) >= 2 and isinstance(k[1], int) and k[1] != len(meta["landmark_symbols"]):
        raise ModelFileError(f"{path}: its graph outputs {k[1]} landmarks, its metadata names "
                             f"{len(meta['landmark_symbols'])}")


def is_torchscript(path) -> bool:
    path = Path(path)
    return path.suffix.lower() in (".ts", ".torchscript") or path.name.endswith(".torchscript.pt")


def is_exported(path) -> bool:
    """An ONNX or TorchScript file, as opposed to a checkpoint or weights file a model is rebuilt from."""
    return Path(path).suffix.lower() == ".onnx" or is_torchscript(path)


def open_backend(path, threads: int | None = None, channels_last: bool = False, device: str | None = None):
    """Pick the runtime by file type (a model name first becomes its verified file); returns ``(backend, meta)``."""
    from zoo.model_zoo import resolve_model

    path = resolve_model(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    if is_exported(path) and device not in (None, "cpu"):
        raise ModelFileError(f"{path}: exported models run on the CPU here; device={device!r} needs the training "
                             f"checkpoint or weights file (.pth, .safetensors)")
    if path.suffix.lower() == ".onnx":
        backend = OnnxBackend(path, threads)
        return backend, backend.meta
    if is_torchscript(path):
        backend = TorchScriptBackend(path)
        return backend, backend.meta
    if threads:
        import torch

        torch.set_num_threads(threads)
    return TorchBackend.from_checkpoint(path, channels_last=channels_last, device=device)
