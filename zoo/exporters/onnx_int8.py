"""ONNX int8: ONNX Runtime static quantization (QDQ), calibrated on real images of the model's own data.

How the graph is quantized is :mod:`zoo.exporters.qdq`. What this exporter adds is the way out when the
self-check fails: a few nodes often carry most of the quantization error where it matters, and keeping
just those in fp32 brings the int8 model back within tolerance at nearly the full int8 speed. So on a
failed check each quantized node's effect is measured (:mod:`zoo.exporters.int8_fallback`), and the
best nodes are kept in fp32 until the self-check passes or ``max_fp32_nodes`` is reached. The nodes kept
are named in the file's metadata and in the check report; when the check still fails, the error names
the tolerance options and the difference measured.

Every attempt reuses one fp32 graph and one calibration per graph, so it costs a quantization pass and
a check, not a new export.
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

from zoo.modelfile.exported import stamp_onnx
from zoo.registry import EXPORTERS

from .errors import ExportCheckError, ExportError
from .onnx_export import OnnxExporter, export_onnx
from .qdq import FEATURE_PARTS, float_nodes, pre_process, quantize, quantize_qdq

__all__ = ["FEATURE_PARTS", "OnnxInt8Exporter", "float_nodes", "quantize_qdq"]


def _role(meta: dict) -> str:
    return "refine" if meta.get("graph_role") == "refine" else "global"


@EXPORTERS.register_module()
class OnnxInt8Exporter(OnnxExporter):
    """ONNX int8 by ONNX Runtime static quantization (QDQ, per-channel, U8S8), calibrated on real images.

    Args:
        calib_images: how many images calibrate the activation ranges (the config's test/val data after
            the self-check's images, or the images given to ``export``).
        per_channel: per-output-channel weight scales (much better for convolutions).
        method: 'minmax' (default), 'entropy' or 'percentile'.
        keep_last_float: leave the layer that feeds the decoder in float.
        reduce_range: 7-bit weights, exact on CPUs without VNNI (see :mod:`zoo.exporters.qdq`).
        max_fp32_nodes: at most this many of the most sensitive quantized nodes are kept in fp32 when the
            self-check fails (module docstring); 0: fail at once.
        log: called with one line per step of that search (default: silent).
        **kwargs: tolerances (int8's own defaults: 2 input px, 0.1 mm MRE), opset, check size.
    """

    format = "onnx-int8"
    suffix = ".int8.onnx"
    default_tolerance_px = 2.0
    default_tolerance_mre = 0.1
    needs_calibration = True

    def __init__(self, calib_images: int = 32, per_channel: bool = True, method: str = "minmax",
                 keep_last_float: bool = True, reduce_range: bool = True, max_fp32_nodes: int = 16,
                 log=None, **kwargs):
        super().__init__(**kwargs)
        if self.dynamo:
            raise ExportError("the int8 exporter quantizes the legacy exporter's graph (its module-scoped node "
                              "names say which nodes are the decoder); drop dynamo=True")
        if int(max_fp32_nodes) < 0:
            raise ExportError(f"max_fp32_nodes must be 0 or more, got {max_fp32_nodes}")
        self.calib_images = int(calib_images)
        self.per_channel = bool(per_channel)
        self.method = method
        self.keep_last_float = bool(keep_last_float)
        self.reduce_range = bool(reduce_range)
        self.max_fp32_nodes = int(max_fp32_nodes)
        self.log = log or (lambda message: None)
        self._work: Path | None = None  # one export's fp32 graphs and calibrations, shared by its attempts
        self._graphs: dict[str, dict] = {}  # role -> that graph's fp32 and int8 files, for the measurements
        self._fp32_nodes: dict[str, list[str]] = {}  # role -> nodes kept in fp32 by the search
        self._eager = None  # (detector, stamped meta) of the export in progress

    # -- one graph ---------------------------------------------------------------------------------------
    def convert(self, model, meta, out, example, calibration=None):
        if not calibration:
            raise ExportError("int8 export needs calibration images (the config's dataset or --calib-images)")
        if self._work is None:  # called on its own, not through export()
            with tempfile.TemporaryDirectory(prefix="zoo-onnx-") as tmp:
                return self._convert(model, meta, Path(out), example, calibration, Path(tmp))
        return self._convert(model, meta, Path(out), example, calibration, self._work)

    def _convert(self, model, meta, out: Path, example, calibration, work: Path) -> Path:
        role = _role(meta)
        fp32, pre = work / f"{role}.fp32.onnx", work / f"{role}.pre.onnx"
        if not pre.is_file():
            export_onnx(model, example, fp32, self.opset, self.dynamo)
            pre_process(fp32, pre)
        base = float_nodes(pre, keep_last=self.keep_last_float)
        kept = self._fp32_nodes.get(role, [])
        quantize(pre, out, calibration, base + kept, self.per_channel, self.method, self.reduce_range,
                 calibration_cache=work / f"{role}.calibration.json")
        if kept:
            from .int8_sensitivity import keep_in_fp32

            keep_in_fp32(pre, out, out, kept, skip=base)
        int8 = work / f"{role}.int8.onnx"
        shutil.copyfile(out, int8)
        self._graphs[role] = {"pre": pre, "int8": int8, "float": base}
        if role == "global":  # what the fallback's measurements compare with
            self._eager = (model, meta)
        quantization = {
            "kind": "static QDQ", "activations": "uint8",
            "weights": "int8" + (" (7-bit range)" if self.reduce_range else ""), "per_channel": self.per_channel,
            "method": self.method, "float_layers": "decoder" + (" and last layer" if self.keep_last_float else "")}
        if any(self._fp32_nodes.values()):  # every graph of the model lists all of them
            quantization["fp32_nodes"] = {r: list(n) for r, n in self._fp32_nodes.items() if n}
            quantization["fp32_nodes_why"] = ("the most sensitive quantized nodes, kept in fp32 until the export's "
                                              "self-check passed")
        block = {**meta.get("export", {}), "opset": self.opset, "quantization": quantization}
        stamp_onnx(out, {**meta, "export": block})
        return out

    # -- the whole model, with the fp32 fallback -------------------------------------------------------------
    def export(self, checkpoint, out=None, images=None, check: bool = True):
        with tempfile.TemporaryDirectory(prefix="zoo-int8-") as tmp:
            self._work, self._graphs, self._fp32_nodes, self._eager = Path(tmp), {}, {}, None
            try:
                return self._export_searching(checkpoint, out, images, check)
            finally:
                self._work, self._graphs, self._fp32_nodes, self._eager = None, {}, {}, None

    def _export_searching(self, checkpoint, out, images, check: bool):
        try:
            return super().export(checkpoint, out, images=images, check=check)
        except ExportCheckError as exc:
            failed = exc
        if self.max_fp32_nodes == 0:
            raise ExportCheckError(f"{failed}\n{self._advice(failed.report, 0, 0)}", failed.report) from None
        from zoo.inference import Predictor
        from zoo.inference.backends import TorchBackend
        from zoo.modelfile import checkpoint_config

        from .int8_fallback import Measure, fallback_sets, rank_nodes
        from .int8_sensitivity import SwitchableGraph

        self.log(f"int8 self-check failed ({failed.report.failures[0]}); measuring each quantized node's effect ...")
        model, meta = self._eager
        check_set = self._images(checkpoint_config(meta, checkpoint), images)[0]
        graphs = {role: SwitchableGraph(g["pre"], g["int8"], skip=g["float"], threads=self.threads)
                  for role, g in self._graphs.items()}
        measure = Measure(graphs, Predictor(TorchBackend(model), meta), check_set)
        ranked, _ = rank_nodes(measure, self.log)
        kept = 0
        for fp32 in fallback_sets(measure, ranked, self.tolerance_px, self.max_fp32_nodes, self.log):
            self._fp32_nodes = fp32
            kept = sum(len(nodes) for nodes in fp32.values())
            try:
                result = super().export(checkpoint, out, images=images, check=check)
            except ExportCheckError as exc:
                failed = exc
                self.log(f"  still failing: {exc.report.failures[0]}")
                continue
            self._drop_failed_attempt(result.path)
            result.report.fp32_nodes = {r: list(v) for r, v in fp32.items()}
            if result.report_path is not None:  # the report file was written before the nodes were known
                result.report_path.write_text(json.dumps(result.report.to_dict(), indent=2), encoding="utf-8")
            return result
        raise ExportCheckError(f"{failed}\n{self._advice(failed.report, kept, len(ranked))}", failed.report) from None

    def _drop_failed_attempt(self, out: Path) -> None:
        """A passing attempt replaces the earlier attempts' ``.failed`` files (they were this export's)."""
        for path in (self._failed_name(out), self._failed_name(self.refine_out(out))):
            path.unlink(missing_ok=True)

    def _advice(self, report, kept: int, ranked: int) -> str:
        """What the user can do, with the figures the options are compared with."""
        tried = (f"Keeping the {kept} most sensitive of the {ranked} quantized nodes in fp32 did not bring it within "
                 f"tolerance. " if kept else "")
        figures = [f"max coordinate difference {report.max_diff_input_px:.3f} input px (--tolerance-px, now "
                   f"{report.tolerance_px:g})"]
        options = [f"--tolerance-px {math.ceil(report.max_diff_input_px * 100) / 100:g}"]
        if report.mre_change is not None and report.tolerance_mre is not None \
                and report.mre_change > report.tolerance_mre:
            figures.append(f"MRE change {report.mre_change:+.4f} {report.mre_unit} (--tolerance-mre, now "
                           f"{report.tolerance_mre:g})")
            options.append(f"--tolerance-mre {math.ceil(report.mre_change * 1000) / 1000:g}")
        more = "" if kept >= ranked and kept else ", keep more nodes in fp32 with --max-fp32-nodes N"
        return (f"{tried}Measured: {'; '.join(figures)}. To accept this int8 model pass {' '.join(options)}{more}, "
                f"or export --format onnx (fp32).")
