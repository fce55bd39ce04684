"""Static QDQ quantization of an fp32 ONNX graph with ONNX Runtime, the decoder left in float.

Static QDQ with per-channel weights and uint8 activations x int8 weights (U8S8), after
``quant_pre_process``, is the combination ONNX Runtime's CPU int8 convolution kernels run fast; *dynamic*
quantization would leave the convolutions in float and gain nothing. The decoder (argmax, logs, gathers)
and, by default, the layer that feeds it stay in float: they cost little and sub-pixel decoding needs
the precision.

Weights use 7 of their 8 bits (``reduce_range``): on CPUs without AVX-512 VNNI, ONNX Runtime's u8 x s8
kernels add pairs of products in saturating 16-bit registers, and full-range weights can overflow them,
which moves landmarks by whole pixels; 7-bit weights cannot overflow there and cost no speed.
"""
from __future__ import annotations

import inspect
import tempfile
from pathlib import Path

import numpy as np

from .errors import ExportError
from .onnx_export import INPUT_NAME

_QUANTIZABLE = ("Conv", "ConvTranspose", "Gemm", "MatMul")

#: the parts of a detector that are quantized; everything else (the decoder, coordinate arithmetic) stays float
FEATURE_PARTS = ("backbone", "neck", "head")


def _part(name: str) -> str | None:
    """The detector part a node belongs to, from its module-scoped name (``/detector/backbone/...``)."""
    parts = name.strip("/").split("/")
    if parts and parts[0] == "detector":  # the tensor-mode wrapper's attribute
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else None


def float_nodes(model_path, quantized_parts=FEATURE_PARTS, keep_last: bool = True) -> list[str]:
    """Names of the nodes to leave in float: all but the feature extractor's (``quantized_parts``), so the
    decoder and the coordinate arithmetic stay exact, and (``keep_last``) the last convolution/linear layer,
    whose output the decoder reads."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    names = [n.name for n in graph.node if _part(n.name) not in quantized_parts]
    if len(names) == len(graph.node):
        raise ExportError("no node of the ONNX graph belongs to the backbone/neck/head (node names lost their "
                          "module paths), so the int8 exporter cannot tell the decoder apart")
    if keep_last:
        excluded = set(names)
        last = [n.name for n in graph.node if n.op_type in _QUANTIZABLE and n.name not in excluded]
        names += last[-1:]
    return names


def pre_process(src, dst) -> Path:
    """Shape inference + graph cleanup before quantizing. Symbolic inference cannot resolve every shape of
    the decoder's dynamic-batch reshapes on its own; merging symbols resolves them, and plain ONNX shape
    inference is the last resort (only the convolutions' shapes matter to the quantizer)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    attempts = (dict(auto_merge=True), dict(skip_symbolic_shape=True))
    for i, kwargs in enumerate(attempts):
        try:
            quant_pre_process(str(src), str(dst), **kwargs)
            return Path(dst)
        except Exception:  # onnxruntime raises a bare Exception("Incomplete symbolic shape inference")
            if i == len(attempts) - 1:
                raise
    return Path(dst)


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over preprocessed (N, C, H, W) arrays."""

    def __init__(self, batches: list[np.ndarray]):
        self._it = iter(batches)

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}


def _can_cache_calibration() -> bool:
    """Whether this onnxruntime's ``quantize_static`` can keep the calibrated ranges in a file."""
    from onnxruntime.quantization import quantize_static

    return "calibration_cache_path" in inspect.signature(quantize_static).parameters


def quantize(pre, out, calibration: list[np.ndarray], exclude: list[str], per_channel: bool = True,
             method: str = "minmax", reduce_range: bool = True, calibration_cache=None) -> Path:
    """A pre-processed fp32 graph -> QDQ int8 (U8S8), the nodes named in ``exclude`` left in float.

    ``calibration_cache``: a file that keeps the calibrated ranges, so quantizing the same graph again with
    other nodes excluded skips the calibration pass (the ranges do not depend on which nodes are excluded);
    ignored by an onnxruntime too old to keep them."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if method not in methods:
        raise ExportError(f"int8 calibration method must be one of {', '.join(methods)}, got {method!r}")
    cache = {"calibration_cache_path": str(calibration_cache)} \
        if calibration_cache is not None and _can_cache_calibration() else {}
    quantize_static(str(pre), str(out), _Reader(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, reduce_range=reduce_range,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=list(exclude), calibrate_method=methods[method],
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True}, **cache)
    return Path(out)


def quantize_qdq(fp32_path, out, calibration: list[np.ndarray], per_channel: bool = True,
                 method: str = "minmax", nodes_to_exclude: list[str] | None = None,
                 reduce_range: bool = True) -> Path:
    """fp32 ONNX -> static QDQ int8 ONNX (U8S8) calibrated on ``calibration``; ``nodes_to_exclude``
    defaults to :func:`float_nodes`."""
    with tempfile.TemporaryDirectory(prefix="zoo-int8-") as tmp:
        pre = pre_process(fp32_path, Path(tmp) / "pre.onnx")
        exclude = float_nodes(pre) if nodes_to_exclude is None else nodes_to_exclude
        return quantize(pre, out, calibration, exclude, per_channel, method, reduce_range)
