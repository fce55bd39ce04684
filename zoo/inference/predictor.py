"""The one predictor: image -> landmarks in original pixels, from a checkpoint or an exported model.

``zoo test`` (through the same letterbox function), ``zoo predict``, ``zoo serve``, the export self-check
and the leaderboard all come here, and the preprocessing comes *only* from the model's own metadata
(a served model once normalised with the wrong mean/std and squashed instead of letterboxing).

Each image is read at the pixel size the model was trained at (:mod:`zoo.inference.scale`): the given one, a DICOM
header's, a plausible ruler's, or the anatomy's estimate from the global stage's first answer, in that order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.models.refinement import RefineSpec, refine_landmarks
from zoo.models.shape_decoding import reconsider
from zoo.quality import REJECT, SUSPECT, QualityModel, unchecked
from zoo.registry import ZooError
from zoo.structures import apply_warp, to_original

from .backends import open_backend
from .scale import ESTIMATE, SCALE_MODES, ScaleReading, factor_for, model_anatomy, model_pixel_size, resample_warp

DEFAULT_MIN_CONFIDENCE = 0.25
#: ``auto``: find the image's orientation (mirrored, quarter turns) and read it in the model's; ``fixed``: trust it
ORIENTATION_MODES = ("auto", "fixed")
RULER = ("p1", "p2")


class PredictionError(ZooError):
    """One image could not be predicted; the message names it."""


def _dicom_header(image, label: str):
    """The DICOM header of a path or a file's bytes, or None for any other image (an array, a JPEG...)."""
    from zoo.data import dicom

    if isinstance(image, (bytes, bytearray, memoryview)):
        return dicom.read_header(bytes(image), label) if dicom.is_dicom(bytes(image[:dicom.HEAD_BYTES])) else None
    if isinstance(image, (str, Path)):
        try:
            with Path(image).open("rb") as fh:
                head = fh.read(dicom.HEAD_BYTES)
        except OSError:
            return None  # the loader names the missing or unreadable file
        return dicom.read_header(image, label) if dicom.is_dicom(head) else None
    return None


class Predictor:
    """Runs a model on images exactly as it was evaluated.

    Args:
        backend: callable normalised batch -> (coords input px, scores).
        meta: the model's ``zoo_meta`` (preprocess, landmark symbols, ruler length).
        min_confidence: landmarks scoring below are flagged ``low_confidence`` (never hidden).
    """

    def __init__(self, backend, meta: dict, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 orientation: str = "auto", scale: str = "auto"):
        if orientation not in ORIENTATION_MODES:
            raise ZooError(f"orientation must be one of {', '.join(ORIENTATION_MODES)}, got {orientation!r}")
        if scale not in SCALE_MODES:
            raise ZooError(f"scale must be one of {', '.join(SCALE_MODES)}, got {scale!r}")
        self.backend = backend
        self.meta = meta
        self.orientation = orientation
        self.scale_mode = scale
        pre = meta["preprocess"]
        self.input_size = tuple(int(v) for v in pre["input_size"])  # (W, H)
        self.channels = int(pre["channels"])
        self.pad_value = float(pre["pad_value"])
        self.mean = np.asarray(pre["mean"], np.float32).reshape(1, 1, -1)
        self.std = np.asarray(pre["std"], np.float32).reshape(1, 1, -1)
        self.symbols = list(meta["landmark_symbols"])
        self.min_confidence = min_confidence
        # two-stage models: the refine graph runs on patches cut around the global stage's landmarks
        self.refine = RefineSpec.from_dict(meta["refine"]) if meta.get("refine") else None
        # the pixel size the model reads at and its training anatomy's size, which estimates an unknown one
        self.model_mm, self.model_mm_source = model_pixel_size(meta)
        self.anatomy = model_anatomy(meta, self.symbols)
        # the model's judge of its own answers (zoo checkpoint calibrate): shape model, thresholds, uncertainty
        self.quality = QualityModel.from_dict(meta["quality"], self.symbols) if meta.get("quality") else None
        if self.quality is not None:
            self.quality = self.quality.with_scale(self.anatomy, self.model_mm)
        # ensembles: one predictor per member on the member's own graph, their landmarks averaged
        self.members = [self._member(i, spec) for i, spec in enumerate(meta.get("members") or [])]

    def _member(self, index: int, spec: dict) -> Predictor:
        backend = self.backend
        if backend is not None and not hasattr(backend, "member"):
            raise ZooError(f"an ensemble runs from its training checkpoint (.pth): the {self.runtime} runtime holds "
                           f"one graph, not each member's")
        meta = {**self.meta, "members": None, "model_type": spec.get("model_type"), "refine": spec.get("refine")}
        return type(self)(backend.member(index) if backend is not None else None, meta, self.min_confidence, "fixed",
                          "fixed")

    @classmethod
    def from_path(cls, path, threads: int | None = None, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                  channels_last: bool = False, device: str | None = None, orientation: str = "auto",
                  trust: bool = False, scale: str = "auto") -> Predictor:
        """``trust`` opens TorchScript files, which run code of their own while they load; ``scale``: one of
        :data:`zoo.inference.scale.SCALE_MODES`."""
        backend, meta = open_backend(path, threads=threads, channels_last=channels_last, device=device, trust=trust)
        predictor = cls(backend, meta, min_confidence, orientation, scale)
        predictor.source = str(path)
        return predictor

    @property
    def runtime(self) -> str:
        return getattr(self.backend, "name", type(self.backend).__name__)

    # -- preprocessing: the same functions as the test pipeline ------------------------------------------
    def load(self, image, name: str = "<array>") -> np.ndarray:
        """A path, encoded bytes or a decoded array -> uint8 (H, W, channels) in the model's channel order."""
        from zoo.data.transforms.loading import LoadCephalogram, to_channels, to_uint8

        if isinstance(image, (str, Path)):
            return LoadCephalogram(channels=self.channels)({"img_path": str(image)})["img"]
        if isinstance(image, (bytes, bytearray, memoryview)):
            from zoo.data.imageio import decode_bytes

            return to_channels(to_uint8(decode_bytes(bytes(image), name)), self.channels, name)
        array = np.asarray(image)
        return to_channels(to_uint8(array), self.channels, name)

    def preprocess(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 image -> normalised (1, C, H, W) float32 and the original->input warp."""
        from zoo.data.transforms.geometric import letterbox

        boxed, warp = letterbox(img, self.input_size, self.pad_value)
        if boxed.ndim == 2:
            boxed = boxed[:, :, None]
        x = (boxed.astype(np.float32) - self.mean) / self.std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), warp

    # -- inference ------------------------------------------------------------------------------------
    def global_array(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's main graph alone: (K, 2) original-pixel coordinates and (K,) scores for one decoded image
        (a two-stage model's coarse landmarks, where its refine patches are cut)."""
        batch, warp = self.preprocess(img)
        coords, scores = self.backend(batch)
        return to_original(coords[0], warp), np.asarray(scores[0], dtype=np.float64)

    def read(self, img: np.ndarray, coarse=None, factor: float = 1.0):
        """One decoded image read as it lies: a :class:`zoo.quality.Reading` (final and global-stage landmarks, their
        scores, the refine views' spread); ``coarse``: the global stage's output (image px) when already computed.

        ``factor``: read the image as if resized by it (model px per image px, :mod:`zoo.inference.scale`); the
        reading's coordinates and spread are then in the resized frame's pixels (the model's own, where the quality
        gate applies). The global stage letterboxes the image itself, which is the resized image's letterbox; the
        refine stage cuts its patches through the resize's warp, never from a resized copy."""
        from zoo.quality import Reading

        if self.members:
            runs = [member.read(img, factor=factor) for member in self.members]
            spreads = [r.spread for r in runs if r.spread is not None]
            spread = None
            if spreads:
                stacked = np.stack(spreads)
                agreed = np.isfinite(stacked).any(axis=0)
                spread = np.full(stacked.shape[1], np.nan)
                spread[agreed] = np.nanmean(stacked[:, agreed], axis=0)
            return Reading(self.symbols, *(np.mean([getattr(r, f) for r in runs], axis=0)
                                           for f in ("coords", "scores", "coarse", "coarse_scores")), spread)
        coarse_xy, coarse_scores = coarse if coarse is not None else self.global_array(img)
        resize = resample_warp(factor)
        coarse_xy = apply_warp(coarse_xy, resize) if factor != 1.0 else coarse_xy
        if self.refine is None:
            return Reading(self.symbols, coarse_xy, coarse_scores, coarse_xy, coarse_scores)
        def refine_from(centres):
            return refine_landmarks([img], [np.linalg.inv(resize)], [centres], [coarse_scores], self.backend.refine,
                                    self.refine)[0]

        refined = refine_from(coarse_xy)
        shape = self.quality.shape if self.quality is not None else None
        if self.refine.shape_decoding is not None and shape is not None:
            refined, _ = reconsider(refined, shape, self.symbols, self.refine.shape_decoding, refine_from)
        return Reading(self.symbols, refined.coords, refined.scores, coarse_xy, coarse_scores, refined.spread)

    def predict_array(self, img: np.ndarray, coarse=None) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) original-pixel coordinates and (K,) scores for one decoded image, as it lies."""
        reading = self.read(img, coarse)
        return reading.coords, reading.scores

    def oriented_read(self, img: np.ndarray, factor: float = 1.0):
        """``(reading, finding, coords)``: the image read in the model's own orientation, as if resized by
        ``factor`` (``reading``, whose coordinates are in that orientation's and scale's pixels, where the shape
        model and the quality signals apply), ``finding`` (:class:`OrientationFinding`, None when the orientation is
        trusted) and the landmarks mapped back to ``img``'s pixels."""
        finding, turned, coarse = self._orient(img)
        reading = self.read(turned, coarse) if factor == 1.0 else self.read(turned, coarse, factor)
        return reading, finding, self._to_image(reading.coords, finding, img.shape, factor)

    @staticmethod
    def _to_image(coords, finding, shape, factor: float = 1.0) -> np.ndarray:
        """Reading coordinates (model orientation, resized by ``factor``) -> the image's own pixels."""
        coords = to_original(coords, resample_warp(factor)) if factor != 1.0 else coords
        if finding is None or finding.chosen.is_identity:
            return coords
        return finding.chosen.to_original(coords, shape)

    def _orient(self, img: np.ndarray):
        """``(finding, img in the model's orientation, its global-stage answer when already computed or None)``."""
        if self.orientation == "fixed":
            return None, img, None
        from .orientation import find_orientation

        scout = self.members[0] if self.members else self  # an ensemble's members share the orientation
        batch, warp = scout.preprocess(img)
        as_lies = {}

        def confidence_of(orientation) -> float:
            if orientation.is_identity:  # exact, and kept: the global stage's answer when the image is as trained
                coords, scores = scout.backend(batch)
                as_lies["global"] = (to_original(coords[0], warp), np.asarray(scores[0], dtype=np.float64))
                return float(np.mean(scores[0]))
            if batch.shape[2] == batch.shape[3]:  # a square input turns into itself: rearrange it, not the image
                return float(np.mean(scout.backend(orientation.apply(batch, axes=(2, 3)))[1][0]))
            return float(np.mean(scout.global_array(orientation.apply(img))[1]))

        finding = find_orientation(confidence_of)
        chosen = finding.chosen
        if chosen.is_identity:
            return finding, img, None if self.members else as_lies["global"]
        return finding, chosen.apply(img), None

    def scaled_read(self, img: np.ndarray, spacing_mm: float | None = None, spacing_source: str = "given",
                    ruler_mm: float | None = None):
        """``(reading, finding, coords, scale)``: :meth:`oriented_read` at the model's training pixel size.

        The image's pixel size is ``spacing_mm`` (given, a header's or a dataset's, named by ``spacing_source``) when
        known; else the global stage reads the image first and its landmarks measure it: a plausible ruler
        (``p1``/``p2`` and a ruler length), else the anatomy's size against the training anatomy's (an estimate
        within the training skulls' own spread of the model's pixel size reads the image as it lies: it cannot tell
        a small skull from a small pixel, and the model has read skulls of that spread at its own). ``scale`` is a
        :class:`zoo.inference.scale.ScaleReading`; ``scale='fixed'`` reads every image as it lies."""
        scale = ScaleReading(self.scale_mode, self.model_mm, self.model_mm_source)
        if spacing_mm is not None:
            scale.image_mm_per_pixel, scale.source = float(spacing_mm), spacing_source
        if self.scale_mode == "fixed" or self.model_mm is None:
            if self.scale_mode == "auto":
                scale.note = ("the model does not record the pixel size it was trained at, so the image was read as "
                              "it lies")
            reading, finding, coords = self.oriented_read(img)
            self._measure(scale, reading)
            return reading, finding, coords, scale
        if spacing_mm is not None:
            scale.factor = factor_for(scale.image_mm_per_pixel, self.model_mm)
            reading, finding, coords = self.oriented_read(img, scale.factor)
            self._measure(scale, reading)
            return reading, finding, coords, scale
        finding, turned, coarse = self._orient(img)
        if coarse is None:
            coarse = (self.members[0] if self.members else self).global_array(turned)
        ruler = self._coarse_ruler(coarse, ruler_mm, turned.shape)
        self._measure(scale, None, coarse[0])
        implausible = self._implausible(scale.estimate_mm_per_pixel, coarse, turned.shape)
        if ruler is not None:
            scale.image_mm_per_pixel, scale.source = ruler, "ruler"
            scale.factor = factor_for(ruler, self.model_mm)
        elif implausible:  # landmarks that are no skull (noise, another radiograph) measure nothing
            scale.note = (f"the anatomy's estimate {scale.estimate_mm_per_pixel:.4g} mm/px is implausible "
                          f"({'; '.join(implausible)}), so the image was read as it lies")
        elif scale.estimate_mm_per_pixel is not None:
            scale.image_mm_per_pixel, scale.source = scale.estimate_mm_per_pixel, ESTIMATE
            scale.factor = factor_for(scale.estimate_mm_per_pixel, self.model_mm, self.anatomy.log_sd)
        reading = self.read(turned, None if self.members else coarse, scale.factor)
        return reading, finding, self._to_image(reading.coords, finding, img.shape, scale.factor), scale

    def _measure(self, scale: ScaleReading, reading, coarse=None) -> None:
        """The anatomy's estimate of the image's pixel size, from the global stage's landmarks (``coarse``, image
        px, or ``reading.coarse``, read at ``scale.factor``)."""
        if self.anatomy is None:
            return
        points, per_px = (coarse, 1.0) if coarse is not None else (reading.coarse, scale.factor)
        mm_per_read_px = self.anatomy.mm_per_pixel(points, self.symbols)
        if mm_per_read_px is not None:
            scale.estimate_mm_per_pixel = mm_per_read_px * per_px
            scale.estimate_source = f"{ESTIMATE}: {self.anatomy.source or 'the training anatomy'}"

    def _implausible(self, mm_per_pixel, coarse, shape) -> list[str]:
        """What contradicts an estimated pixel size: outside the physical range, or a field of view or S-N length no
        cephalogram has (:func:`zoo.clinical.calibration.scale_problems`, the ruler's checks)."""
        from zoo.clinical.calibration import scale_problems
        from zoo.data.spacing import spacing_problem

        if mm_per_pixel is None:
            return []
        problem = spacing_problem(mm_per_pixel)
        if problem is not None:
            return [f"a pixel size {problem}"]
        xy, scores = coarse
        points = {s: xy[k] for k, s in enumerate(self.symbols)}
        flagged = {s for k, s in enumerate(self.symbols) if scores[k] < self.min_confidence}
        return scale_problems(mm_per_pixel, points, flagged, (shape[1], shape[0]))

    def _coarse_ruler(self, coarse, ruler_mm, shape) -> float | None:
        """The pixel size of a plausible ruler among the global stage's landmarks, or None."""
        from zoo.clinical.calibration import RULER as RULER_POINTS
        from zoo.clinical.calibration import read_ruler

        ruler_mm = ruler_mm if ruler_mm is not None else self.meta.get("ruler_mm")
        if not ruler_mm or not set(RULER_POINTS) <= set(self.symbols):
            return None
        xy, scores = coarse
        points = {s: xy[k] for k, s in enumerate(self.symbols)}
        flagged = {s for k, s in enumerate(self.symbols) if scores[k] < self.min_confidence}
        found = read_ruler(points, ruler_mm, flagged, (shape[1], shape[0]))
        return found.mm_per_pixel if found is not None and found.plausible else None

    def predict(self, image, name: str | None = None, ruler_mm: float | None = None,
                spacing_mm: float | None = None, header=None) -> dict:
        """One entry of the predictions file (see ``zoo.structures``): landmarks by symbol, confidences,
        mm per pixel from a given spacing, else from a DICOM header's (``header``, a
        :class:`zoo.data.dicom.DicomHeader`, read here when ``image`` is a DICOM path or file), else from a
        plausible ruler (``p1``/``p2`` and a known ruler length); ``ruler``, ``calibration`` (every pixel size
        seen) and ``warnings`` say what was seen and why; a DICOM file's ``dicom`` block carries its UIDs (never
        patient data). A ``spacing_mm`` outside the physical range (:mod:`zoo.data.spacing`) is refused before
        any work."""
        from zoo.data.spacing import check_spacing

        if spacing_mm is not None:
            spacing_mm = check_spacing(spacing_mm, "spacing_mm")
        label = str(name if name is not None else (image if isinstance(image, (str, Path)) else "<image>"))
        if header is None:
            header = _dicom_header(image, label)
        if header is not None:  # a file named after its patient is reported under its SOP Instance UID
            label = header.label(label)
        img = self.load(image, label)
        header_mm = getattr(header, "spacing_mm", None)
        known, known_source = ((spacing_mm, "given") if spacing_mm else
                               (header_mm, getattr(header, "spacing_source", None) or "header") if header_mm else
                               (None, None))
        reading, finding, coords, scale = self.scaled_read(img, known, known_source, ruler_mm)
        scores = reading.scores
        if not np.isfinite(coords).all():
            raise PredictionError(f"{label}: the model produced non-finite coordinates")
        if not np.isfinite(scores).all():  # NaN heatmaps decode to finite argmax positions with NaN scores
            raise PredictionError(f"{label}: the model produced non-finite confidences (NaN/inf in its output)")
        h, w = img.shape[:2]
        verdict = (self.quality.assess(reading, finding, scale.read_mm_per_pixel, scale.source) if self.quality
                   else unchecked())
        radii = self.quality.radii(reading) if self.quality else None
        if radii is not None:  # the reading's px are the resized frame's
            radii = radii / scale.factor
        landmarks = {
            s: {"x": float(coords[k, 0]), "y": float(coords[k, 1]), "confidence": float(scores[k]),
                "low_confidence": bool(scores[k] < self.min_confidence)}
            for k, s in enumerate(self.symbols)
        }
        if radii is not None:
            for k, lm in enumerate(landmarks.values()):
                lm["uncertainty_px"] = float(radii[k])
        cal = self._calibration(landmarks, ruler_mm, spacing_mm, (w, h), header, scale.estimate_mm_per_pixel)
        mm_per_pixel, source = cal.mm_per_pixel, cal.source
        if mm_per_pixel is not None:
            for lm in landmarks.values():
                lm["x_mm"], lm["y_mm"] = lm["x"] * mm_per_pixel, lm["y"] * mm_per_pixel
                if "uncertainty_px" in lm:
                    lm["uncertainty_mm"] = lm["uncertainty_px"] * mm_per_pixel
        entry = {"image": label, "width": int(w), "height": int(h), "landmark_set": self.meta["landmark_set"],
                 "mm_per_pixel": mm_per_pixel, "mm_per_pixel_source": source, "landmarks": landmarks}
        if cal.ruler is not None:  # reported whether used or not, with the reasons it was not
            entry["ruler"] = cal.ruler.to_dict()
        if cal.to_dict() is not None:
            entry["calibration"] = cal.to_dict()
        entry["scale"] = scale.to_dict()
        entry["warnings"] = list(cal.warnings)
        if scale.source == ESTIMATE and scale.factor != 1.0:
            entry["warnings"].append(
                f"the pixel size is unknown: the anatomy's size puts it at {scale.image_mm_per_pixel:.3g} mm/px, so "
                f"the image was read at the model's {scale.model_mm_per_pixel:.3g} mm/px (x{scale.factor:.3g}); "
                f"mm values need the real one (--spacing-mm)")
        if header is not None:
            entry["dicom"] = header.to_dict()
            entry["warnings"] = header.warnings() + entry["warnings"]
        entry["quality"] = verdict.to_dict()
        if radii is not None:
            entry["uncertainty_coverage"] = float(self.quality.uncertainty.coverage)
        if verdict.status == REJECT:
            entry["warnings"].append("rejected: this does not read as a cephalogram the model knows ("
                                     + "; ".join(verdict.reasons) + "); no measurement is made from it")
        elif verdict.status == SUSPECT:
            entry["warnings"].append("suspect: " + "; ".join(verdict.reasons))
        if finding is not None:
            entry["orientation"] = finding.to_dict()
            if not finding.chosen.is_identity:
                entry["warnings"].append(f"the image lies {finding.chosen.name} relative to the model's training "
                                         f"images; its landmarks were read in the model's orientation and mapped back")
        return entry

    def _calibration(self, landmarks, ruler_mm, spacing_mm, image_size, header=None, estimate=None):
        """A given spacing wins over a DICOM header's, which wins over the predicted ruler; the ruler is used alone
        only when plausible (:mod:`zoo.clinical.calibration`: a wrong ruler once overrode a given 0.1 mm/px
        unseen). The anatomy's ``estimate`` is reported beside them, never used for mm."""
        from zoo.clinical.calibration import ESTIMATE_DISAGREEMENT, calibrate

        ruler_mm = ruler_mm if ruler_mm is not None else self.meta.get("ruler_mm")
        flagged = {s for s, lm in landmarks.items() if lm["low_confidence"]}
        header_mm = getattr(header, "spacing_mm", None)
        tolerance = 3 * self.anatomy.log_sd if self.anatomy is not None else ESTIMATE_DISAGREEMENT
        return calibrate(landmarks, flagged, ruler_mm=ruler_mm or None, given=spacing_mm or None,
                         image_size=image_size, header=header_mm,
                         header_source=getattr(header, "spacing_source", None) or "header", estimate=estimate,
                         estimate_source=ESTIMATE, estimate_tolerance=tolerance)

    def predict_many(self, images, **kwargs) -> tuple[list[dict], list[dict]]:
        """Predict each image; a bad file is reported and the batch goes on."""
        done, failed = [], []
        for image in images:
            try:
                done.append(self.predict(image, **kwargs))
            except ZooError as exc:
                failed.append({"image": str(image), "error": str(exc)})
        return done, failed

    def describe(self) -> dict:
        """What ``GET /v1/model`` and the predictions file say about the model."""
        return {"source": getattr(self, "source", None), "runtime": self.runtime,
                "landmark_set": self.meta["landmark_set"], "landmarks": self.symbols,
                "preprocess": self.meta["preprocess"], "zoo_version": self.meta.get("zoo_version"),
                "model_type": self.meta.get("model_type"), "ruler_mm": self.meta.get("ruler_mm"),
                "min_confidence": self.min_confidence, "orientation": self.orientation,
                "canonical_orientation": self.meta.get("canonical_orientation"),
                "scale": self.scale_mode, "train_mm_per_pixel": self.model_mm,
                "anatomy": self.anatomy.to_dict() if self.anatomy is not None else None,
                "quality_calibration": self.quality.calibrated_on if self.quality else None}
