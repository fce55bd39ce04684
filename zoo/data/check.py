"""``zoo data check``: read a dataset as training would, and report everything wrong with it at once.

Every reader runs with ``skip_invalid=True`` so one bad file does not hide the next; with ``decode`` each
image is also decoded (at reduced resolution where JPEG allows), which finds corrupt and truncated files,
and JPEGs damaged in the middle, which OpenCV decodes in part with only libjpeg's warning on stderr
(:mod:`zoo.data.libjpeg`).

Readers of named labels run with ``unknown_labels='ignore'`` and the label names of the whole dataset are
compared with the landmark set at once (:mod:`zoo.data.labels`): one line per unknown name with its likely
meaning, instead of the same error for every file. Without a given set, the built-in set the names fit best
is used and reported.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, DataNotFoundError, ImageReadError
from .labels import Inference, LabelMatch, describe_suggestions, infer_landmark_set, match_labels
from .libjpeg import libjpeg_warnings
from .paths import find_child, resolve_data_root


@dataclass
class CheckReport:
    label: str
    dataset: str
    root: str
    landmark_set: str
    symbols: list[str]
    samples: int = 0
    sizes: Counter = field(default_factory=Counter)
    spacings: Counter = field(default_factory=Counter)
    missing: Counter = field(default_factory=Counter)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (source, reason, message)
    labels: LabelMatch | None = None  # the files' label names against the set (named readers only)
    inference: Inference | None = None  # how the set was chosen, when it was not given

    def add_labels(self, match: LabelMatch, inference: Inference | None = None) -> None:
        """Attach the label comparison; labels that do not name the set's landmarks are one problem."""
        self.labels, self.inference = match, inference
        if not match.ok:
            self.problems.append((self.root, "label mismatch", f"{self.root}: {match.mismatch_message()}"))

    def _label_lines(self) -> list[str]:
        m = self.labels
        lset = m.landmark_set
        lines = [f"  labels: {len(m.labels)} names in the files; {len(set(m.matched.values()))} of the "
                 f"{len(lset)} landmarks of {lset.name} labelled"]
        if self.inference is not None:
            lines.append(f"  landmark set {self.inference.describe()}")
        if m.unknown:
            lines.append("  unknown labels: " + ", ".join(
                f"{label!r} x{m.labels[label]}{describe_suggestions(s, lset)}" for label, s in m.unknown.items()))
        if m.other_sets:
            lines.append("  labels of other landmark sets, not read: " + ", ".join(
                f"{label} x{m.labels[label]} ({', '.join(sets)})" for label, sets in m.other_sets.items()))
        if m.ignored:
            lines.append("  left out by the label map: " + ", ".join(f"{lb} x{m.labels[lb]}" for lb in m.ignored))
        if m.never_labelled:
            lines.append(f"  never labelled: {', '.join(m.never_labelled)}")
        return lines

    def to_dict(self) -> dict:
        """The ``--json`` form: everything :meth:`format` says, as data."""
        return {
            "label": self.label, "dataset": self.dataset, "root": self.root, "landmark_set": self.landmark_set,
            "landmarks": self.symbols, "samples": self.samples,
            "landmark_set_inferred": None if self.inference is None else {
                "name": self.inference.ranking[0][0],
                "ranking": [{"landmark_set": n, "labelled": h, "landmarks": t} for n, h, t in self.inference.ranking]},
            "image_sizes": [{"width": w, "height": h, "count": n} for (h, w), n in self.sizes.most_common()],
            "pixel_spacing": [{"mm_per_pixel": s, "count": n} for s, n in self.spacings.most_common()],
            "missing_landmarks": dict(self.missing.most_common()),
            "unknown_labels": [] if self.labels is None else self.labels.to_dict()["unknown_labels"],
            "labels": None if self.labels is None else self.labels.to_dict(),
            "problems": [{"source": src, "reason": r, "message": msg} for src, r, msg in self.problems],
        }

    def format(self) -> str:
        k = len(self.symbols)
        lines = [f"{self.label}: {self.dataset} at {self.root}",
                 f"  landmark set: {self.landmark_set} ({k} landmarks)",
                 f"  samples: {self.samples} readable, {len(self.problems)} with problems"]
        if self.sizes:
            top = ", ".join(f"{w}x{h} x{n}" for (h, w), n in self.sizes.most_common(5))
            more = f" (+{len(self.sizes) - 5} other sizes)" if len(self.sizes) > 5 else ""
            lines.append(f"  image sizes (WxH): {top}{more}")
        if self.spacings:
            lines.append("  pixel spacing: " + ", ".join(
                f"{'unknown' if s is None else f'{s:g} mm/px'} x{n}" for s, n in self.spacings.most_common(6)))
        if self.missing:
            lines.append("  missing landmarks: " + ", ".join(f"{s} x{n}" for s, n in self.missing.most_common()))
        else:
            lines.append("  missing landmarks: none")
        if self.labels is not None:
            lines += self._label_lines()
        if self.problems:
            by_reason = Counter(r for _, r, _ in self.problems)
            lines.append("  problems: " + ", ".join(f"{n} x {r}" for r, n in by_reason.most_common()))
            lines += [f"    {msg}" for _, _, msg in self.problems]
        return "\n".join(lines)


def check_dataset(ds, label: str = "", decode: bool = True) -> CheckReport:
    """Report on a built :class:`LandmarkDataset` (build it with ``skip_invalid=True``)."""
    from .transforms import LoadCephalogram

    report = CheckReport(label or type(ds).__name__, type(ds).__name__, str(ds.root), ds.landmark_set.name,
                         list(ds.landmark_set.symbols))
    report.problems += list(ds.skipped)
    loader = LoadCephalogram(channels=1, target_size=(256, 256))
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        if decode:
            try:
                with libjpeg_warnings() as damage:
                    loader(dict(img_path=info["img_path"], ori_shape=info.get("ori_shape")))
                if damage:
                    raise ImageReadError(f"{info['img_path']}: corrupt JPEG data in the middle of the file, "
                                         f"it decodes only in part (libjpeg: {damage[0]})",
                                         reason="corrupt JPEG data")
            except DataError as exc:
                report.problems.append((info["img_path"], exc.reason, exc.message))
                continue
        report.samples += 1
        if info.get("ori_shape"):
            report.sizes[tuple(info["ori_shape"])] += 1
        sp = info.get("spacing")
        report.spacings[None if sp is None else round(float(sp), 6)] += 1
        for j in np.flatnonzero(np.asarray(info["ori_keypoints_visible"]) == 0):
            report.missing[ds.landmark_set.symbols[j]] += 1
    return report


def _is_list_json(path: Path) -> bool:
    head = path.read_bytes()[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def datasets_for_path(path, landmark_set: str | None = None, split: str | None = None,
                      annotator: str = "senior", label_map: dict | None = None) -> list[tuple[str, dict]]:
    """Dataset configs (``(label, cfg)``) for a folder or file, recognising the layout by its files."""
    from .labelstudio import looks_like_csv_export

    root = resolve_data_root(path)
    common = dict(skip_invalid=True, allow_empty=True)
    if landmark_set:
        common["landmark_set"] = landmark_set
    if label_map:
        common["label_map"] = dict(label_map)
    if root.is_file():
        if root.suffix.lower() in (".csv", ".tsv") and looks_like_csv_export(root):
            return [(root.name, dict(type="LabelStudioDataset", data_root=str(root.parent), ann_file=root.name,
                                     **common))]
        if root.suffix.lower() == ".csv":
            return [(root.name, dict(type="CsvLandmarkDataset", data_root=str(root.parent), ann_file=root.name,
                                     **common))]
        if root.suffix.lower() == ".json" and _is_list_json(root):
            return [(root.name, dict(type="LabelStudioDataset", data_root=str(root.parent), ann_file=root.name,
                                     **common))]
        raise DataNotFoundError(f"{root}: not a dataset config (.py), CSV, Label Studio export or dataset folder")
    if not root.is_dir():
        raise DataNotFoundError(f"{root}: no such file or folder")
    raw = find_child(root, "RawImage")
    if raw is not None and find_child(root, "AnnotationsByMD") is not None:
        splits = [split] if split else sorted(p.name for p in raw.iterdir() if p.is_dir())
        return [(f"ISBI 2015 {s}", dict(type="ISBI2015Dataset", data_root=str(root), split=s, annotator=annotator,
                                        **common)) for s in splits]
    if find_child(root, "Cephalograms") is not None:
        split_dirs = [root]
    else:
        split_dirs = [p for p in sorted(root.iterdir()) if p.is_dir() and find_child(p, "Cephalograms")]
        if split:
            split_dirs = [p for p in split_dirs if p.name.lower() == split.lower()]
    if split_dirs:
        out = []
        for d in split_dirs:
            has_ls = any(_is_list_json(j) for j in d.rglob("*.json") if "Orthodontists" in str(j.parent))
            kind = "Ceph31Dataset" if has_ls or (landmark_set in ("ceph31", "ruler")) else "AarizDataset"
            out.append((f"{d.name}", dict(type=kind, data_root=str(root), split=d.name, annotator=annotator,
                                          **common)))
        return out
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) == 1:
        return datasets_for_path(csvs[0], landmark_set, split, annotator)
    raise DataNotFoundError(
        f"{root}: no known dataset layout (ISBI: RawImage/ + AnnotationsByMD/; Aariz/31-landmark: "
        "<split>/Cephalograms/ + <split>/Annotations/...; or a CSV / Label Studio JSON file)")


def datasets_for_config(config_path, label_map: dict | None = None) -> list[tuple[str, dict]]:
    """The train/val/test dataset configs of an mmengine config, with skip_invalid and no pipeline.

    ``label_map`` entries are added to each dataset's own (and win), to try a mapping before writing it down.
    """
    from mmengine.config import Config

    cfg = Config.fromfile(str(config_path))
    out, seen = [], []
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(key)
        if not loader or "dataset" not in loader:
            continue
        ds = dict(loader["dataset"])
        ds.update(skip_invalid=True, allow_empty=True, pipeline=[])
        ds.pop("test_mode", None)
        if label_map:
            ds["label_map"] = {**dict(ds.get("label_map") or {}), **label_map}
        signature = json.dumps(ds, sort_keys=True, default=str)
        if signature in seen:
            continue
        seen.append(signature)
        out.append((key.replace("_dataloader", ""), ds))
    return out


def build(cfg: dict):
    from zoo.registry import DATASETS

    return DATASETS.build(cfg)


def _reads_named_labels(cfg: dict) -> bool:
    from zoo.registry import DATASETS

    cls = DATASETS.get(cfg["type"])
    return bool(getattr(cls, "NAMED_LABELS", False))


def check_datasets(configs: list[tuple[str, dict]], infer_set: bool = False, decode: bool = True,
                   label_map: dict | None = None) -> list[CheckReport]:
    """Build and check each dataset; with ``infer_set``, a reader of named labels first reads the label
    names alone (no image headers) and is then built in the built-in set they fit best."""
    reports = []
    for label, cfg in configs:
        cfg = dict(cfg)
        named = _reads_named_labels(cfg)
        inference = None
        if named:
            cfg["unknown_labels"] = "ignore"  # reported once per name below, not once per file
            if infer_set and not cfg.get("landmark_set"):
                survey = build({**cfg, "check_images": False, "label_map": None})
                if survey.label_counts:
                    inference = infer_landmark_set(survey.label_counts, label_map)
                    cfg["landmark_set"] = inference.best.landmark_set.name
        ds = build(cfg)
        report = check_dataset(ds, label=label, decode=decode)
        if named and ds.label_counts:
            report.add_labels(match_labels(ds.label_counts, ds.landmark_set), inference)
        reports.append(report)
    return reports
