"""ONNX int8: ONNX Runtime static quantization (QDQ), calibrated on real images of the model's own data.

Static QDQ with per-channel weights, uint8 activations x int8 weights (U8S8, the VNNI fast path), after
``quant_pre_process``, runs clearly faster than fp32 ONNX Runtime on a CPU; *dynamic* quantization leaves the
convolutions in float and is much slower. The decoder (argmax, logs, gathers) and the layer that feeds it stay in
float: they cost little and sub-pixel decoding needs the precision.

Weights use 7 of their 8 bits (``reduce_range``): without AVX-512 VNNI (many CPUs have AVX2 only), ONNX
Runtime's u8 x s8 kernels add pairs of products in saturating 16-bit registers. Full 8-bit weights saturate
them and move a trained model's landmarks by whole input pixels now and then; 7-bit weights cannot saturate,
lose far less and run at the same speed.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from zoo.registry import EXPORTERS

from .errors import ExportError
from .metadata import stamp_onnx
from .onnx_export import INPUT_NAME, OnnxExporter, export_onnx

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


def _pre_process(quant_pre_process, src, dst) -> None:
    """Shape inference + graph cleanup before quantizing. Symbolic inference cannot resolve every shape of
    the decoder's dynamic-batch reshapes on its own; merging symbols resolves them, and plain ONNX shape
    inference is the last resort (only the convolutions' shapes matter to the quantizer)."""
    attempts = (dict(auto_merge=True), dict(skip_symbolic_shape=True))
    for i, kwargs in enumerate(attempts):
        try:
            quant_pre_process(str(src), str(dst), **kwargs)
            return
        except Exception:  # onnxruntime raises a bare Exception("Incomplete symbolic shape inference")
            if i == len(attempts) - 1:
                raise


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over preprocessed (1, C, H, W) arrays."""

    def __init__(self, batches: list[np.ndarray]):
        self._it = iter(batches)

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}


def quantize_qdq(fp32_path, out, calibration: list[np.ndarray], per_channel: bool = True,
                 method: str = "minmax", nodes_to_exclude: list[str] | None = None,
                 reduce_range: bool = True) -> Path:
    """fp32 ONNX -> static QDQ int8 ONNX (U8S8) calibrated on ``calibration``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if method not in methods:
        raise ExportError(f"int8 calibration method must be one of {', '.join(methods)}, got {method!r}")
    with tempfile.TemporaryDirectory(prefix="zoo-int8-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        _pre_process(quant_pre_process, fp32_path, pre)
        exclude = float_nodes(pre) if nodes_to_exclude is None else nodes_to_exclude
        quantize_static(str(pre), str(out), _Reader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=per_channel, reduce_range=reduce_range,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=exclude, calibrate_method=methods[method],
                        extra_options={"ActivationSymmetric": False,
                                       "WeightSymmetric": True})
    return Path(out)


@EXPORTERS.register_module()
class OnnxInt8Exporter(OnnxExporter):
    """ONNX int8 by ONNX Runtime static quantization (QDQ, per-channel, U8S8), calibrated on real images.

    Args:
        calib_images: how many images calibrate the activation ranges (the config's test/val data after
            the self-check's images, or the images given to ``export``).
        per_channel: per-output-channel weight scales (much better for convolutions).
        method: 'minmax' (default), 'entropy' or 'percentile'.
        keep_last_float: leave the layer that feeds the decoder in float.
        reduce_range: 7-bit weights, exact on CPUs without VNNI (see the module docstring).
        **kwargs: tolerances (int8's own defaults: 2 input px, 0.1 mm MRE), opset, check size.
    """

    format = "onnx-int8"
    suffix = ".int8.onnx"
    default_tolerance_px = 2.0
    default_tolerance_mre = 0.1
    needs_calibration = True

    def __init__(self, calib_images: int = 32, per_channel: bool = True, method: str = "minmax",
                 keep_last_float: bool = True, reduce_range: bool = True, **kwargs):
        super().__init__(**kwargs)
        if self.dynamo:
            raise ExportError("the int8 exporter quantizes the legacy exporter's graph (its module-scoped node "
                              "names say which nodes are the decoder); drop dynamo=True")
        self.calib_images = int(calib_images)
        self.per_channel = bool(per_channel)
        self.method = method
        self.keep_last_float = bool(keep_last_float)
        self.reduce_range = bool(reduce_range)

    def convert(self, model, meta, out, example, calibration=None):
        if not calibration:
            raise ExportError("int8 export needs calibration images (the config's dataset or --calib-images)")
        with tempfile.TemporaryDirectory(prefix="zoo-onnx-") as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            export_onnx(model, example, fp32, self.opset, self.dynamo)
            exclude = None
            if not self.keep_last_float:
                exclude = float_nodes(fp32, keep_last=False)
            quantize_qdq(fp32, out, calibration, self.per_channel, self.method, exclude, self.reduce_range)
        block = {**meta.get("export", {}), "opset": self.opset, "quantization": {
            "kind": "static QDQ", "activations": "uint8", "weights": "int8" + (" (7-bit range)" if self.reduce_range else ""),
            "per_channel": self.per_channel,
            "method": self.method, "float_layers": "decoder" + (" and last layer" if self.keep_last_float else "")}}
        stamp_onnx(out, {**meta, "export": block})
        return Path(out)
