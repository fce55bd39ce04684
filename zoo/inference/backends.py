"""Runtimes behind the predictor. Each takes a normalised (N, C, H, W) float32 array and returns
``(coords (N, K, 2) in input px, scores (N, K))`` -- the detector's ``tensor`` mode, eager or exported."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.modelfile import (
    META_KEY,
    ModelFileError,
    UntrustedCodeError,
    checkpoint_config,
    checkpoint_meta,
    exported_meta,
)

#: ONNX operators that iterate a data-dependent number of times: a graph of 2**62 ``Loop`` iterations hangs
#: whoever runs it, and the zoo's exporters never write one (a detector's graph is a fixed feed-forward pass)
UNBOUNDED_OPS = ("Loop", "Scan")


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
    def from_checkpoint(cls, path, checkpoint: dict | None = None, **kwargs) -> tuple[TorchBackend, dict]:
        """The model a checkpoint describes, built only from registered components (its config is plain data,
        checked before anything is built) and checked against the metadata the predictor will trust. A weights
        file's tensors are read only once the model is built, and only those the model has."""
        from zoo.modelfile import is_weights_file, read_meta, read_weights, safe_load
        from zoo.models.weights import without_pretrained
        from zoo.registry import MODELS

        lazy_weights = checkpoint is None and is_weights_file(path)
        if lazy_weights:
            checkpoint = {META_KEY: read_meta(path)}
        elif checkpoint is None:
            checkpoint = safe_load(path)
        meta = checkpoint_meta(checkpoint, path)
        cfg = checkpoint_config(meta, path)
        model = MODELS.build(without_pretrained(cfg.model))
        if lazy_weights:
            checkpoint = read_weights(path, expected=model.state_dict())
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

    def member(self, index: int) -> TorchBackend:
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
        raise ModelFileError(f"{path} needs its refine graph {sibling.name} beside it (both come from one "
                             f"`zoo export`)")
    return sibling


TORCHSCRIPT_RISK = (
    "a TorchScript file is a program: torch.jit.load runs code the file carries (its __setstate__ can write any "
    "file before the zoo checks anything, its forward can read any file into the predictions)")


class TorchScriptBackend:
    """Opened only with ``trust=True``: see :data:`TORCHSCRIPT_RISK`. ONNX files carry no code and need no trust."""

    name = "torchscript"

    def __init__(self, path, trust: bool = False):
        import torch

        if not trust:
            raise UntrustedCodeError(
                f"refused to open {path}: {TORCHSCRIPT_RISK}. Open it only if you trust where it came from, with "
                f"--trust (zoo.load(..., trust=True)); or use the model's ONNX export, which carries no code")

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
        _refuse_unbounded_graph(path)
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
            _refuse_unbounded_graph(sibling)
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


def _refuse_unbounded_graph(path) -> None:
    """Refuse a graph holding an operator that loops a data-dependent number of times, before ORT runs it."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ModelFileError(f"cannot load ONNX model {path}: {exc}") from None
    graphs, found = [model.graph, *(f for f in model.functions)], set()
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            if node.op_type in UNBOUNDED_OPS:
                found.add(node.op_type)
            graphs.extend(a.g for a in node.attribute if a.HasField("g"))
            graphs.extend(g for a in node.attribute for g in a.graphs)
    if found:
        raise ModelFileError(f"refused {path}: its graph holds {', '.join(sorted(found))}, which can run for as long "
                             f"as the file says; the zoo's exports never do (re-export the model with `zoo export`)")


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


def open_backend(path, threads: int | None = None, channels_last: bool = False, device: str | None = None,
                 trust: bool = False):
    """Pick the runtime by file type (a model name first becomes its verified file); returns ``(backend, meta)``.
    ``trust`` opens TorchScript files, which run their own code (:data:`TORCHSCRIPT_RISK`)."""
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
        backend = TorchScriptBackend(path, trust=trust)
        return backend, backend.meta
    if threads:
        import torch

        torch.set_num_threads(threads)
    return TorchBackend.from_checkpoint(path, channels_last=channels_last, device=device)
