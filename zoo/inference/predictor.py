"""The one predictor: image -> landmarks in original pixels, from a checkpoint or an exported model.

``zoo test`` (through the same letterbox function), ``zoo predict``, ``zoo serve``, the export self-check
and the leaderboard all come here, and the preprocessing comes *only* from the model's own metadata
(a served model once normalised with the wrong mean/std and squashed instead of letterboxing).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.models.refinement import RefineSpec, refine_landmarks
from zoo.registry import ZooError
from zoo.structures import to_original

from .backends import open_backend

DEFAULT_MIN_CONFIDENCE = 0.25
#: ``auto``: find the image's orientation (mirrored, quarter turns) and read it in the model's; ``fixed``: trust it
ORIENTATION_MODES = ("auto", "fixed")
RULER = ("p1", "p2")


class PredictionError(ZooError):
    """One image could not be predicted; the message names it."""


class Predictor:
    """Runs a model on images exactly as it was evaluated.

    Args:
        backend: callable normalised batch -> (coords input px, scores).
        meta: the model's ``zoo_meta`` (preprocess, landmark symbols, ruler length).
        min_confidence: landmarks scoring below are flagged ``low_confidence`` (never hidden).
    """

    def __init__(self, backend, meta: dict, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 orientation: str = "auto"):
        if orientation not in ORIENTATION_MODES:
            raise ZooError(f"orientation must be one of {', '.join(ORIENTATION_MODES)}, got {orientation!r}")
        self.backend = backend
        self.meta = meta
        self.orientation = orientation
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
        # ensembles: one predictor per member on the member's own graph, their landmarks averaged
        self.members = [self._member(i, spec) for i, spec in enumerate(meta.get("members") or [])]

    def _member(self, index: int, spec: dict) -> "Predictor":
        backend = self.backend
        if backend is not None and not hasattr(backend, "member"):
            raise ZooError(f"an ensemble runs from its training checkpoint (.pth): the {self.runtime} runtime holds "
                           f"one graph, not each member's")
        meta = {**self.meta, "members": None, "model_type": spec.get("model_type"), "refine": spec.get("refine")}
        return type(self)(backend.member(index) if backend is not None else None, meta, self.min_confidence, "fixed")

    @classmethod
    def from_path(cls, path, threads: int | None = None, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                  channels_last: bool = False, device: str | None = None, orientation: str = "auto") -> "Predictor":
        backend, meta = open_backend(path, threads=threads, channels_last=channels_last, device=device)
        predictor = cls(backend, meta, min_confidence, orientation)
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

    def predict_array(self, img: np.ndarray, coarse=None) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) original-pixel coordinates and (K,) scores for one decoded image, as it lies; ``coarse``: the
        global stage's output on it when already computed."""
        if self.members:
            runs = [member.predict_array(img) for member in self.members]
            return np.mean([c for c, _ in runs], axis=0), np.mean([s for _, s in runs], axis=0)
        coords, scores = coarse if coarse is not None else self.global_array(img)
        if self.refine is not None:
            [(coords, scores, _)] = refine_landmarks([img], [np.eye(3)], [coords], [scores],
                                                     self.backend.refine, self.refine)
        return coords, scores

    def oriented_array(self, img: np.ndarray):
        """``(coords, scores, finding)``: the landmarks read in the model's own orientation and mapped back to
        ``img``'s pixels; ``finding`` (:class:`OrientationFinding`) is None when the orientation is trusted."""
        if self.orientation == "fixed":
            return (*self.predict_array(img), None)
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
            return (*self.predict_array(img, None if self.members else as_lies["global"]), finding)
        coords, scores = self.predict_array(chosen.apply(img))
        return chosen.to_original(coords, img.shape), scores, finding

    def predict(self, image, name: str | None = None, ruler_mm: float | None = None,
                spacing_mm: float | None = None) -> dict:
        """One entry of the predictions file (see ``zoo.structures``): landmarks by symbol, confidences,
        mm per pixel from a given spacing, else from a plausible ruler (``p1``/``p2`` and a known ruler
        length); ``ruler``, ``calibration`` (both pixel sizes) and ``warnings`` say what was seen and why."""
        label = str(name if name is not None else (image if isinstance(image, (str, Path)) else "<image>"))
        img = self.load(image, label)
        coords, scores, finding = self.oriented_array(img)
        if not np.isfinite(coords).all():
            raise PredictionError(f"{label}: the model produced non-finite coordinates")
        if not np.isfinite(scores).all():  # NaN heatmaps decode to finite argmax positions with NaN scores
            raise PredictionError(f"{label}: the model produced non-finite confidences (NaN/inf in its output)")
        h, w = img.shape[:2]
        landmarks = {
            s: {"x": float(coords[k, 0]), "y": float(coords[k, 1]), "confidence": float(scores[k]),
                "low_confidence": bool(scores[k] < self.min_confidence)}
            for k, s in enumerate(self.symbols)
        }
        cal = self._calibration(landmarks, ruler_mm, spacing_mm, (w, h))
        mm_per_pixel, source = cal.mm_per_pixel, cal.source
        if mm_per_pixel is not None:
            for lm in landmarks.values():
                lm["x_mm"], lm["y_mm"] = lm["x"] * mm_per_pixel, lm["y"] * mm_per_pixel
        entry = {"image": label, "width": int(w), "height": int(h), "landmark_set": self.meta["landmark_set"],
                 "mm_per_pixel": mm_per_pixel, "mm_per_pixel_source": source, "landmarks": landmarks}
        if cal.ruler is not None:  # reported whether used or not, with the reasons it was not
            entry["ruler"] = cal.ruler.to_dict()
        if cal.to_dict() is not None:
            entry["calibration"] = cal.to_dict()
        entry["warnings"] = list(cal.warnings)
        if finding is not None:
            entry["orientation"] = finding.to_dict()
            if not finding.chosen.is_identity:
                entry["warnings"].append(f"the image lies {finding.chosen.name} relative to the model's training "
                                         f"images; its landmarks were read in the model's orientation and mapped back")
        return entry

    def _calibration(self, landmarks, ruler_mm, spacing_mm, image_size):
        """A given spacing wins over the predicted ruler, which is used alone only when plausible
        (:mod:`zoo.clinical.calibration`: a wrong ruler once overrode a given 0.1 mm/px unseen)."""
        from zoo.clinical.calibration import calibrate

        ruler_mm = ruler_mm if ruler_mm is not None else self.meta.get("ruler_mm")
        flagged = {s for s, lm in landmarks.items() if lm["low_confidence"]}
        return calibrate(landmarks, flagged, ruler_mm=ruler_mm or None, given=spacing_mm or None,
                         image_size=image_size)

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
                "min_confidence": self.min_confidence, "orientation": self.orientation}
