"""ONNX fp32: the whole detector, decoder included, so the graph ends in input-pixel coordinates."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from zoo.modelfile.exported import stamp_onnx
from zoo.registry import EXPORTERS

from .base import BaseExporter
from .errors import ExportError

INPUT_NAME = "input"
OUTPUT_NAMES = ("coords", "scores")


def tensor_mode(model):
    """The detector's export graph as a one-input module: normalised images -> (coords, scores)."""
    import torch

    class TensorMode(torch.nn.Module):
        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, x):
            return self.detector(x, mode="tensor")

    return TensorMode(model).eval()


def export_onnx(model, example: np.ndarray, out: str | Path, opset: int = 17, dynamo: bool = False) -> Path:
    """Write ``model``'s tensor mode as ONNX with a dynamic batch axis (no metadata yet).

    The legacy TorchScript-based exporter is the default: the dynamo one needs ``onnxscript``, which the
    zoo does not depend on, exports an HRNet many times slower, and its graph runs no faster in ONNX Runtime.
    Node names keep the module path (``/backbone/...``, ``/decoder/...``), which the int8 exporter uses to leave
    the decoder in float.
    """
    import torch

    out = Path(out)
    wrapped = tensor_mode(model)
    x = torch.from_numpy(np.ascontiguousarray(example, dtype=np.float32))
    kwargs = dict(input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES), opset_version=opset,
                  dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAMES[0]: {0: "batch"},
                                OUTPUT_NAMES[1]: {0: "batch"}})
    if dynamo:
        try:
            import onnxscript  # noqa: F401
        except ImportError:
            raise ExportError("the dynamo ONNX exporter needs `onnxscript` (pip install onnxscript); "
                              "the default legacy exporter does not") from None
        kwargs.pop("dynamic_axes")
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1, max=1024)},)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings about the legacy exporter
        torch.onnx.export(wrapped, (x,), str(out), dynamo=dynamo, **kwargs)
    import onnx

    onnx.checker.check_model(str(out))
    return out


@EXPORTERS.register_module()
class OnnxExporter(BaseExporter):
    """ONNX fp32 with the decoder inside the graph and a dynamic batch, for ONNX Runtime on CPU.

    Args:
        opset: ONNX opset (17: every backbone here exports with the legacy exporter).
        dynamo: use torch's dynamo exporter (needs ``onnxscript``).
        **kwargs: tolerances and check size, see :class:`BaseExporter`.
    """

    format = "onnx"
    suffix = ".onnx"
    dynamic_batch = True
    default_tolerance_px = 0.1
    default_tolerance_mre = 0.02

    def __init__(self, opset: int = 17, dynamo: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.opset = int(opset)
        self.dynamo = bool(dynamo)

    def convert(self, model, meta, out, example, calibration=None):
        export_onnx(model, example, out, self.opset, self.dynamo)
        stamp_onnx(out, {**meta, "export": {**meta.get("export", {}), "opset": self.opset,
                                            "exporter": "dynamo" if self.dynamo else "torchscript"}})
        return Path(out)
