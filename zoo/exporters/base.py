"""The export workflow every format shares: load a checkpoint safely, convert, stamp metadata, self-check.

A format only implements :meth:`BaseExporter.convert` (model -> file). :meth:`BaseExporter.export` does
the rest, and an export that fails its check is renamed ``<name>.failed<suffix>`` (kept for inspection,
never mistaken for a good file) and raises :class:`ExportCheckError` with the figures.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ExportCheckError, ExportError
from .samples import CheckImage, dataset_images, split, user_images
from .selfcheck import CheckReport, self_check


@dataclass
class ExportResult:
    path: Path
    report: CheckReport | None
    report_path: Path | None = None


def load_checkpoint(path) -> tuple[object, dict]:
    """``(eager model in eval mode, zoo_meta)``; a checkpoint without metadata is refused."""
    from zoo.inference.backends import ModelFileError, TorchBackend, is_exported

    path = Path(path)
    if is_exported(path):
        raise ExportError(f"{path} is already an exported model; export from the training checkpoint (.pth)")
    try:
        backend, meta = TorchBackend.from_checkpoint(path)
    except ModelFileError as exc:
        raise ExportError(str(exc)) from None
    return backend.model.eval(), meta


class BaseExporter:
    """Base of the exporters: subclasses set ``format``/``suffix``/default tolerances and implement ``convert``.

    Args:
        tolerance_px: largest allowed coordinate difference between the eager and the exported model,
            in model-input pixels (resolution-independent; the report also gives original pixels).
        tolerance_mre: largest allowed MRE increase (mm when the check images' pixel spacing is known,
            else original px); only applies when the images have truth. None: not checked.
        check_images: how many real images the self-check runs on.
        threads: ONNX Runtime threads for the check (default: all cores).
    """

    format = ""
    suffix = ""
    default_tolerance_px = 0.1
    default_tolerance_mre: float | None = 0.05
    dynamic_batch = False
    needs_calibration = False
    calib_images = 0

    def __init__(self, tolerance_px: float | None = None, tolerance_mre: float | None = None,
                 check_images: int = 8, threads: int | None = None):
        self.tolerance_px = float(self.default_tolerance_px if tolerance_px is None else tolerance_px)
        self.tolerance_mre = self.default_tolerance_mre if tolerance_mre is None else float(tolerance_mre)
        self.check_images = int(check_images)
        self.threads = threads

    # -- what a format implements --------------------------------------------------------------------
    def convert(self, model, meta: dict, out: Path, example: np.ndarray,
                calibration: list[np.ndarray] | None = None) -> Path:
        """Write the exported model (with ``meta`` inside) to ``out``; ``example`` is one normalised
        (1, C, H, W) float32 input, ``calibration`` a list of such inputs (int8 only)."""
        raise NotImplementedError

    def default_out(self, checkpoint: Path) -> Path:
        return checkpoint.with_name(checkpoint.stem + self.suffix)

    def _failed_name(self, out: Path) -> Path:
        """``x.failed.onnx`` / ``x.failed.torchscript.pt``: still opens with the right runtime."""
        suffix = self.suffix if out.name.endswith(self.suffix) else out.suffix
        return out.with_name(out.name[:len(out.name) - len(suffix)] + ".failed" + suffix)

    # -- the shared workflow ---------------------------------------------------------------------------
    def export(self, checkpoint, out=None, images=None, check: bool = True) -> ExportResult:
        """Export ``checkpoint`` to ``out`` and check it on real images (the config's dataset, else ``images``)."""
        from zoo.inference import Predictor
        from zoo.model_zoo import resolve_if_name
        from zoo.modelfile import checkpoint_config

        named = resolve_if_name(checkpoint)
        if out is None and named is not checkpoint:  # a model name: write here, not into the package's folder
            out = Path(str(checkpoint) + self.suffix)
        checkpoint = Path(named)
        model, meta = load_checkpoint(checkpoint)
        if meta.get("members"):
            raise ExportError(f"{checkpoint} is an ensemble of {len(meta['members'])} detectors, which no single "
                              f"graph holds; export each member's checkpoint (`zoo predict` and `zoo serve` run the "
                              f"ensemble from this file)")
        out = Path(out) if out else self.default_out(checkpoint)
        out.parent.mkdir(parents=True, exist_ok=True)
        cfg = checkpoint_config(meta, checkpoint)
        eager = Predictor(None, meta)
        if check or self.needs_calibration or images:
            check_set, calib_set, source, calib_source = self._images(cfg, images)
            example_img = eager.load(check_set[0].path, str(check_set[0].path))
            example = eager.preprocess(example_img)[0]
        else:  # an unchecked fp32 export needs only the input's shape
            check_set, calib_set, source, calib_source = [], [], "", ""
            example_img = None
            w, h = eager.input_size
            example = np.zeros((1, eager.channels, h, w), np.float32)
        calibration = [eager.preprocess(eager.load(i.path, str(i.path)))[0] for i in calib_set] \
            if self.needs_calibration else None
        from zoo.modelfile.exported import export_meta

        info = {"source_checkpoint": checkpoint.name}
        if calibration is not None:
            info["calibration"] = {"images": len(calibration), "source": calib_source}
        stamped = export_meta(meta, self.format, **info)
        two_stage = meta.get("refine") is not None
        refine_out = self.refine_out(out) if two_stage else None
        if two_stage:  # the global graph names its refine graph; the predictor crops between the two
            stamped["refine"] = {**stamped["refine"], "graph": refine_out.name}
        tmp = out.with_name(f".partial-{out.name}")
        try:
            self.convert(model, stamped, tmp, example, calibration)
            if two_stage:
                self._convert_refine(model, eager, stamped, refine_out, out.name, example_img,
                                     calib_set if self.needs_calibration else [])
        except ExportError:
            tmp.unlink(missing_ok=True)
            raise
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise ExportError(f"{self.format} export of {checkpoint} failed: {type(exc).__name__}: {exc}") from exc
        report = None
        if check:
            failed = self._failed_name(out)
            try:
                report = self_check(model, meta, tmp, check_set, fmt=self.format, tolerance_px=self.tolerance_px,
                                    tolerance_mre=self.tolerance_mre, image_source=source,
                                    check_batch=self.dynamic_batch, threads=self.threads)
            except Exception as exc:
                self._keep_failed(tmp, failed, refine_out)
                if isinstance(exc, ExportError):
                    raise
                raise ExportError(f"{checkpoint} -> {self.format}: the exported file could not be checked "
                                  f"(kept as {failed}): {type(exc).__name__}: {exc}") from exc
            if not report.passed:
                self._keep_failed(tmp, failed, refine_out)
                raise ExportCheckError(f"{checkpoint} -> {self.format}: the exported model disagrees with the "
                                       f"eager one; kept as {failed} for inspection.\n{report.summary()}", report)
        os.replace(tmp, out)
        report_path = None
        if report is not None:
            report_path = out.with_name(out.name + ".check.json")
            report_path.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
        return ExportResult(out, report, report_path)

    def refine_out(self, out: Path) -> Path:
        """Where a two-stage model's refine graph goes: ``x.onnx`` -> ``x.refine.onnx``."""
        suffix = self.suffix if out.name.endswith(self.suffix) else out.suffix
        return out.with_name(out.name[:len(out.name) - len(suffix)] + ".refine" + suffix)

    def _keep_failed(self, tmp: Path, failed: Path, refine_out: Path | None) -> None:
        os.replace(tmp, failed)
        if refine_out is not None and refine_out.exists():
            os.replace(refine_out, self._failed_name(refine_out))

    def _convert_refine(self, model, eager, stamped: dict, refine_out: Path, global_name: str, example_img,
                        calib_set: list) -> None:
        """Export the refine stage as its own graph (normalised patches -> patch px, scores), written whole
        beside the global graph. Its example and int8 calibration are patches cut where the eager global
        stage puts them on real images: what the refine graph sees when serving."""
        from zoo.inference.backends import TorchBackend

        eager = type(eager)(TorchBackend(model), stamped)

        def patches_of(img) -> np.ndarray:
            coords, _ = eager.global_array(img)
            patches, _ = eager.refine.crop(img, coords)
            return eager.refine.normalise(patches)

        if example_img is not None:
            first = patches_of(example_img)
        else:  # an unchecked fp32 export needs only the shape
            p = eager.refine.patch_size
            first = np.zeros((len(eager.symbols), eager.refine.channels, p, p), np.float32)
        calibration = [patches_of(eager.load(i.path, str(i.path))) for i in calib_set] if calib_set else None
        meta = {**stamped, "graph_role": "refine", "refine_of": global_name}
        tmp = refine_out.with_name(f".partial-{refine_out.name}")
        try:
            self.convert(model.refine_graph(), meta, tmp, first, calibration)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, refine_out)

    def _images(self, cfg, images) -> tuple[list[CheckImage], list[CheckImage], str, str]:
        """(check images, calibration images, where the check images come from, where calibration's come from)."""
        given = user_images(images) if images else []
        data, why = dataset_images(cfg)
        n_calib = self.calib_images if self.needs_calibration else 0
        if data:
            check, calib = split(data, self.check_images, n_calib)
            source = calib_source = why
        elif given:
            check, calib, source = given[:self.check_images], given[:n_calib], "the given images"
            calib_source = source
        else:
            raise ExportError(f"no real images to check the export on: {why}; pass some with --calib-images "
                              "IMG... (a folder works too), or point the config's data_root at the dataset")
        if given and self.needs_calibration:
            calib = given[:n_calib]
            calib_source = f"{len(calib)} given image(s)"
        return check, calib, source, calib_source
