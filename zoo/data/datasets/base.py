"""What every landmark reader shares: layout check, validation, set mapping, ``skip_invalid``.

A reader subclass only knows its file layout: it implements ``check_layout`` (raise
:class:`DataNotFoundError` before any work) and ``iter_records`` (yield ``(source, read)`` pairs where
``read()`` returns one raw record or raises a :class:`DataError`). This base turns raw records into the
sample dicts of :mod:`zoo.structures`, validates them, and either raises on the first problem or, with
``skip_invalid=True``, skips and reports every problem by reason.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from ..errors import AnnotationError, DataError, ImageReadError, LandmarkSetError
from ..imageio import image_size
from ..landmark_sets import LandmarkSet, get_landmark_set
from ..paths import resolve_data_root
from ..spacing import spacing_problem

#: a labelled point may sit up to this far outside the pixel centres' range (annotators click edges).
EDGE_TOLERANCE_PX = 1.0


def parse_indices(indices):
    """``indices`` as mmengine takes it, plus ``'start:stop'`` strings (config-friendly hold-outs)."""
    if isinstance(indices, str):
        parts = indices.split(":")
        if len(parts) != 2:
            raise ValueError(f"indices={indices!r}: use 'start:stop' (e.g. '0:130'), an int or a list")
        start = int(parts[0]) if parts[0].strip() else None
        stop = int(parts[1]) if parts[1].strip() else None
        return slice(start, stop)
    if isinstance(indices, range):
        return list(indices)
    return indices


class LandmarkDataset(BaseDataset):
    """Base of the zoo's readers (an mmengine ``BaseDataset``); not registered itself.

    Args:
        data_root: dataset folder; relative paths resolve against the repository root.
        landmark_set: the set samples are expressed in. A reader whose files hold another set maps
            them by symbol; landmarks the files lack are invisible (weight 0).
        skip_invalid: skip samples with problems and report counts by reason, instead of raising.
        check_images: read every image header up front (size, format) so bad files fail before
            training and ``ori_shape`` is known; no pixels are decoded.
        indices: a subset: int (first N), list of indices or ``'start:stop'``.
        allow_empty: accept a dataset with no samples (``zoo data check``); otherwise that is an error.
        min_visible: leave out samples with fewer labelled landmarks (e.g. 2 for ruler-only training);
            how many were left out is logged.
        pipeline: transform configs (built from the zoo's TRANSFORMS) or callables.
        label_map: for readers of named labels, the files' own names -> symbols of ``landmark_set``
            (``{'Sella': 'S', 'Ruler': None}``; None leaves a label out). Names the set already knows
            (symbols, full names, aliases, any case) need no entry.
    """

    #: the set this reader's files are written in (None: labels are matched by name).
    NATIVE_SET: str | None = None
    DEFAULT_SET: str = "isbi2015"
    #: whether the files name their landmarks (so a label_map applies and label_counts is filled)
    NAMED_LABELS: bool = False
    #: mm per pixel of every image of the layout, when the layout fixes it (ISBI 2015: 0.1); None: per image or unknown
    SPACING_MM: float | None = None
    #: the native set's anatomy size, when measured (``zoo.quality.scale.AnatomySize`` as a dict): what a model
    #: trained on the layout before model files carried their own is read against (``zoo.data.spacing``)
    ANATOMY: dict | None = None

    def __init__(self, data_root="", landmark_set=None, skip_invalid: bool = False,
                 check_images: bool = True, indices=None, pipeline=(), test_mode: bool = False,
                 lazy_init: bool = False, serialize_data: bool = True, max_refetch: int = 1000,
                 metainfo: dict | None = None, min_visible: int = 0, allow_empty: bool = False,
                 label_map: dict | None = None):
        self.landmark_set: LandmarkSet = get_landmark_set(landmark_set or self.DEFAULT_SET)
        if label_map and not self.NAMED_LABELS:
            raise LandmarkSetError(f"{type(self).__name__} reads its landmarks by position, not by name: "
                                   "label_map does not apply to it")
        self.landmark_set = self.landmark_set.with_label_map(label_map)
        self.label_counts: Counter = Counter()  # label as written -> samples carrying it (named readers)
        self.root = resolve_data_root(data_root)
        self.skip_invalid = skip_invalid
        self.check_images = check_images
        self.min_visible = int(min_visible)
        self.allow_empty = allow_empty
        self.skipped: list[tuple[str, str, str]] = []  # (source, reason, message)
        self.check_layout()
        from zoo.registry import TRANSFORMS

        built = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in (pipeline or [])]
        super().__init__(data_root=str(self.root), pipeline=built, indices=parse_indices(indices),
                         test_mode=test_mode, lazy_init=True, serialize_data=serialize_data,
                         max_refetch=max_refetch)
        meta = {
            "landmark_set": self.landmark_set.name,
            "landmark_names": list(self.landmark_set.symbols),
            "landmark_full_names": list(self.landmark_set.names),
            "num_keypoints": len(self.landmark_set),
            "flip_pairs": list(self.landmark_set.flip_pairs),
            "dataset_name": type(self).__name__,
        }
        meta.update(metainfo or {})
        self._metainfo.update(meta)
        if not lazy_init:
            self.full_init()

    # -- what a reader implements ------------------------------------------------------------------
    def check_layout(self) -> None:
        """Raise DataNotFoundError (naming the expected layout) when the data is absent."""

    def iter_records(self) -> Iterator[tuple[str, Callable[[], dict]]]:
        """Yield ``(source, read)``; ``read()`` returns a raw record:

        ``img_path`` (Path), ``keypoints`` (K, 2) float (any value where unlabelled), ``labelled`` (K,) bool,
        ``spacing`` (mm/px or None), optional ``ori_shape`` (H, W), optional ``set`` (the name of the set
        the keypoints are in; default: the dataset's own), optional ``extra`` dict copied into the sample.
        ``read()`` may return None for an entry that is not a sample (the reader then reports it).
        """
        raise NotImplementedError

    # -- the shared machinery ----------------------------------------------------------------------
    def _get_unserialized_subset(self, indices):
        if isinstance(indices, slice):
            return self.data_list[indices]
        return super()._get_unserialized_subset(indices)

    def load_data_list(self) -> list[dict]:
        self.skipped = []
        self.label_counts = Counter()
        data_list = []
        for source, read in self.iter_records():
            try:
                rec = read()
                if rec is None:  # not a sample (e.g. an unannotated task); the reader reports those
                    continue
                data_list.append(self._finish(rec, source))
            except DataError as exc:
                if not self.skip_invalid:
                    raise
                self.skipped.append((source, exc.reason, exc.message))
        if self.skipped:
            print_log(self.skip_report(), logger="current", level=logging.WARNING)
        if self.min_visible:
            kept = [d for d in data_list if d["ori_keypoints_visible"].sum() >= self.min_visible]
            if len(kept) < len(data_list):
                print_log(f"{type(self).__name__} at {self.root}: left out {len(data_list) - len(kept)} of "
                          f"{len(data_list)} samples with fewer than {self.min_visible} labelled landmarks "
                          "(min_visible)", logger="current", level=logging.WARNING)
            data_list = kept
        if not data_list and not self.allow_empty:
            from ..errors import DataNotFoundError, how_to_fix_missing

            why = ("\n" + self.skip_report()) if self.skipped else ""
            raise DataNotFoundError(f"{type(self).__name__} at {self.root}: no usable samples.{why}\n"
                                    + how_to_fix_missing(), reason="no samples")
        if not data_list:
            self.serialize_data = False  # mmengine cannot serialise an empty list
        return data_list

    def skip_report(self) -> str:
        """One line per reason: how many samples were skipped and an example of each."""
        if not self.skipped:
            return f"{type(self).__name__}: no samples skipped"
        counts = Counter(reason for _, reason, _ in self.skipped)
        lines = [f"{type(self).__name__} at {self.root}: skipped {len(self.skipped)} invalid sample(s) "
                 "(skip_invalid=True):"]
        for reason, n in counts.most_common():
            example = next(msg for _, r, msg in self.skipped if r == reason)
            lines.append(f"  {n} x {reason}, e.g. {example}")
        return "\n".join(lines)

    def _map_set(self, keypoints: np.ndarray, labelled: np.ndarray, set_name: str | None):
        if set_name is None or set_name == self.landmark_set.name:
            return keypoints, labelled
        native = get_landmark_set(set_name)
        out = np.zeros((len(self.landmark_set), 2), np.float64)
        mask = np.zeros(len(self.landmark_set), bool)
        for i_self, i_native in self.landmark_set.index_map(native):
            out[i_self], mask[i_self] = keypoints[i_native], labelled[i_native]
        return out, mask

    def _finish(self, rec: dict, source: str) -> dict:
        img_path = Path(rec["img_path"])
        kpts = np.asarray(rec["keypoints"], np.float64).reshape(-1, 2)
        labelled = np.asarray(rec["labelled"], bool).reshape(-1)
        set_name = rec.get("set")
        expected = len(get_landmark_set(set_name)) if set_name else len(self.landmark_set)
        if len(kpts) != expected or len(labelled) != expected:
            raise AnnotationError(f"{source}: {len(kpts)} landmarks, expected {expected}",
                                  reason="wrong landmark count")
        bad = labelled & ~np.isfinite(kpts).all(axis=1)
        if bad.any():
            names = get_landmark_set(set_name or self.landmark_set.name).symbols
            which = ", ".join(names[i] for i in np.flatnonzero(bad))
            raise AnnotationError(f"{source}: NaN/infinite coordinates for {which}",
                                  reason="nan coordinates")
        kpts, labelled = self._map_set(kpts, labelled, set_name)
        if not img_path.is_file():
            raise ImageReadError(f"{source}: image {img_path} not found", reason="missing image")
        ori_shape = tuple(int(v) for v in rec["ori_shape"]) if rec.get("ori_shape") else None
        if self.check_images:
            try:
                header_shape = image_size(img_path)
            except ImageReadError as exc:
                raise ImageReadError(exc.message, reason="unreadable image") from None
            if ori_shape is not None and ori_shape != header_shape:
                raise AnnotationError(
                    f"{source}: the annotation is for a {ori_shape[1]}x{ori_shape[0]} image but {img_path} is "
                    f"{header_shape[1]}x{header_shape[0]}", reason="image size mismatch")
            ori_shape = header_shape
        if ori_shape is not None:
            h, w = ori_shape
            t = EDGE_TOLERANCE_PX
            outside = labelled & ((kpts[:, 0] < -t) | (kpts[:, 0] > w - 1 + t) |
                                  (kpts[:, 1] < -t) | (kpts[:, 1] > h - 1 + t))
            if outside.any():
                i = int(np.flatnonzero(outside)[0])
                raise AnnotationError(
                    f"{source}: landmark {self.landmark_set.symbols[i]} at ({kpts[i, 0]:.1f}, {kpts[i, 1]:.1f}) "
                    f"lies outside the {w}x{h} image", reason="out-of-image coordinates")
        kpts = np.where(labelled[:, None], kpts, 0.0).astype(np.float32)
        vis = labelled.astype(np.float32)
        spacing = rec.get("spacing")
        if spacing is not None:  # every reader's spacing passes here: a CSV column, a mappings file, a config
            problem = spacing_problem(spacing)
            if problem is not None:
                raise AnnotationError(f"{source}: the pixel spacing {problem}", reason="bad spacing")
        info = {
            "img_path": str(img_path),
            "img_id": img_path.stem,
            "keypoints": kpts,
            "keypoints_visible": vis,
            "ori_keypoints": kpts.copy(),
            "ori_keypoints_visible": vis.copy(),
            "spacing": None if spacing is None else float(spacing),
            "landmark_set": self.landmark_set.name,
            "source": source,
        }
        if ori_shape is not None:
            info["ori_shape"] = ori_shape
        info.update(rec.get("extra", {}))
        return info

    def prepare_data(self, idx):
        if not self.skip_invalid or self.test_mode:
            return super().prepare_data(idx)
        try:
            return super().prepare_data(idx)
        except DataError as exc:  # a corrupt image found only when decoding; train time only
            info = self.get_data_info(idx)
            self.skipped.append((info.get("source", info["img_path"]), exc.reason, exc.message))
            print_log(f"skipped {info['img_path']}: {exc.message}", logger="current", level=logging.WARNING)
            return None
