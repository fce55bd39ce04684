"""Exporters: ONNX fp32, TorchScript and ONNX int8, each verified against the eager model on real images.

``EXPORTERS.build(dict(type='OnnxExporter')).export(checkpoint, out)`` loads the checkpoint safely,
converts it with its ``zoo_meta`` inside the file, and fails past the tolerance.
"""
from .base import BaseExporter, ExportResult, load_checkpoint
from .errors import ExportCheckError, ExportError
from .onnx_export import OnnxExporter, export_onnx
from .onnx_int8 import OnnxInt8Exporter
from .qdq import quantize_qdq
from .selfcheck import CheckReport, self_check
from .torchscript_export import TorchScriptExporter

#: ``zoo export --format`` name -> registered exporter
FORMATS = {"onnx": "OnnxExporter", "torchscript": "TorchScriptExporter", "onnx-int8": "OnnxInt8Exporter"}

__all__ = ["BaseExporter", "CheckReport", "ExportCheckError", "ExportError", "ExportResult", "FORMATS",
           "OnnxExporter", "OnnxInt8Exporter", "TorchScriptExporter", "export_onnx", "load_checkpoint",
           "quantize_qdq", "self_check"]
