"""A plain CSV, one image per row: ``image,x1,y1,x2,y2,...`` for data in no other format.

A header row is optional. When it names the columns ``<label>_x, <label>_y`` (e.g. ``S_x,S_y`` or
``Sella_x,Sella_y``), the landmarks are matched by name (symbols, full names, aliases, a ``label_map``);
a header without such names (``image,x1,y1,...``) or no header means the landmark set's order. An optional
``spacing`` (or ``pixel_size``) column gives mm per pixel. An empty cell is a missing landmark.
Image paths are relative to ``img_dir`` (default: the CSV's folder). A BOM is tolerated.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from zoo.registry import DATASETS

from ..errors import AnnotationError, DataNotFoundError, how_to_fix_missing
from ..labels import describe_suggestions, suggest
from ..landmark_sets import is_known_symbol
from ..spacing import spacing_problem
from .base import LandmarkDataset

AXIS_SUFFIXES = (("_x", 0), ("_y", 1), (".x", 0), (".y", 1), (" x", 0), (" y", 1))

SPACING_COLUMNS = ("spacing", "pixel_size", "mm_per_pixel")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _sniff_dialect(text: str):
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


@DATASETS.register_module()
class CsvLandmarkDataset(LandmarkDataset):
    """Landmarks from a CSV (``image,x1,y1,...``), optionally with a header naming symbols and spacing.

    Args:
        ann_file: the CSV, relative to ``data_root``.
        img_dir: folder the image paths are relative to (default: the CSV's folder).
        landmark_set: the set the columns are in (default ``'isbi2015'``).
        spacing: mm per pixel for rows without a spacing column.
        unknown_labels: ``'error'`` for a named column no built-in set knows (a typo), or ``'ignore'``.
    """

    DEFAULT_SET = "isbi2015"
    NAMED_LABELS = True

    def __init__(self, ann_file: str = "", data_root="", img_dir: str | None = None,
                 spacing: float | None = None, unknown_labels: str = "error", **kwargs):
        self.ann_file_arg, self.img_dir_arg, self.spacing = ann_file, img_dir, spacing
        self.unknown_labels = unknown_labels
        super().__init__(data_root=data_root, **kwargs)

    def check_layout(self) -> None:
        self.csv_path = self.root / self.ann_file_arg if self.ann_file_arg else None
        if self.csv_path is None or not self.csv_path.is_file():
            raise DataNotFoundError(
                f"landmark CSV not found: {self.csv_path or '(ann_file not set)'} (data_root={self.root}). "
                "Expected rows 'image,x1,y1,x2,y2,...'. " + how_to_fix_missing(), reason="missing data")
        self.image_dir = self.root / self.img_dir_arg if self.img_dir_arg is not None else self.csv_path.parent

    def _columns(self, header: list[str] | None, width: int, lineno: int):
        """(x column, y column) per landmark (None when absent), the spacing column, and the named label
        columns (label -> (x column, y column)) when the header names landmarks."""
        k = len(self.landmark_set)
        if header is None:
            if self.landmark_set.label_map:
                raise AnnotationError(f"{self.csv_path}: a label_map needs a header row naming the columns "
                                      "<label>_x, <label>_y", reason="malformed annotation")
            if width != 1 + 2 * k and width != 2 + 2 * k:
                raise AnnotationError(
                    f"{self.csv_path}:{lineno}: {width - 1} values after the image name, expected {2 * k} "
                    f"(x, y for the {k} landmarks of {self.landmark_set.name!r})", reason="wrong landmark count")
            return [(1 + 2 * i, 2 + 2 * i) for i in range(k)], (1 + 2 * k if width == 2 + 2 * k else None), {}
        names = [h.strip() for h in header]
        lower = [n.lower() for n in names]
        spacing_col = next((lower.index(c) for c in SPACING_COLUMNS if c in lower), None)
        named: dict[str, list] = {}
        for col, name in enumerate(names):
            for suffix, axis in AXIS_SUFFIXES:
                if name.lower().endswith(suffix) and len(name) > len(suffix):
                    named.setdefault(name[: -len(suffix)].strip(), [None, None])[axis] = col
                    break
        lset = self.landmark_set
        found = {label: lset.lookup(label) for label in named}
        if named:  # never by position once columns carry names: a name the set lacks is not its next landmark
            by_symbol: dict[int, list] = {}
            for label, i in found.items():
                if i is None:
                    if self.unknown_labels == "error" and not lset.ignores(label) and not is_known_symbol(label):
                        raise AnnotationError(
                            f"{self.csv_path}:1: unknown landmark column {label!r}"
                            f"{describe_suggestions(suggest(label, lset), lset)} (set {lset.name!r}; a label_map "
                            "maps names of your own)", reason="unknown label")
                    continue
                if i in by_symbol:
                    raise AnnotationError(f"{self.csv_path}:1: two column pairs name landmark {lset.symbols[i]}",
                                          reason="duplicate label")
                by_symbol[i] = named[label]
            return ([tuple(by_symbol.get(i, (None, None))) for i in range(k)], spacing_col,
                    {label: tuple(cols) for label, cols in named.items()})
        coords = [c for c in range(1, len(names)) if c != spacing_col]
        if len(coords) != 2 * k:
            raise AnnotationError(f"{self.csv_path}:1: {len(coords)} coordinate columns, expected {2 * k} "
                                  f"for {self.landmark_set.name!r}", reason="wrong landmark count")
        return [(coords[2 * i], coords[2 * i + 1]) for i in range(k)], spacing_col, {}

    def iter_records(self):
        try:
            text = self.csv_path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AnnotationError(f"{self.csv_path}: not UTF-8 text ({exc})", reason="malformed annotation") from None
        try:
            rows = list(csv.reader(io.StringIO(text), _sniff_dialect(text)))
        except csv.Error as exc:  # e.g. a field over the csv module's 128 kB limit
            raise AnnotationError(f"{self.csv_path}: not a readable CSV ({exc})",
                                  reason="malformed annotation") from None
        header = None
        start = 0
        while start < len(rows) and not any(c.strip() for c in rows[start]):
            start += 1
        if start < len(rows) and len(rows[start]) > 1 and not _is_number(rows[start][1].strip() or "0"):
            header, start = rows[start], start + 1
        columns = None
        for lineno, row in enumerate(rows[start:], start + 1):
            if not row or not any(c.strip() for c in row):
                continue
            source = f"{self.csv_path}:{lineno}"

            def read(row=row, lineno=lineno, source=source):
                nonlocal columns
                if columns is None or header is None:
                    columns = self._columns(header, len(row), lineno)
                cols, spacing_col, named = columns
                self.label_counts.update(label for label, pair in named.items()
                                         if any(c is not None and c < len(row) and row[c].strip() for c in pair))
                k = len(self.landmark_set)
                kpts = np.zeros((k, 2))
                labelled = np.zeros(k, bool)
                for i, (cx, cy) in enumerate(cols):
                    cells = [row[c].strip() if c is not None and c < len(row) else "" for c in (cx, cy)]
                    if not cells[0] and not cells[1]:
                        continue
                    try:
                        kpts[i] = (float(cells[0]), float(cells[1]))
                    except ValueError:
                        raise AnnotationError(f"{source}: landmark {self.landmark_set.symbols[i]}: "
                                              f"{cells!r} is not a pair of numbers",
                                              reason="malformed annotation") from None
                    labelled[i] = True
                spacing = self.spacing
                if spacing_col is not None and spacing_col < len(row) and row[spacing_col].strip():
                    try:
                        spacing = float(row[spacing_col])
                    except ValueError:
                        raise AnnotationError(f"{source}: spacing {row[spacing_col]!r} is not a number",
                                              reason="malformed annotation") from None
                    problem = spacing_problem(spacing)
                    if problem is not None:
                        raise AnnotationError(f"{source}: spacing {problem}", reason="bad spacing")
                img = Path(row[0].strip())
                return {"img_path": img if img.is_absolute() else self.image_dir / img, "keypoints": kpts,
                        "labelled": labelled, "spacing": spacing}

            yield source, read
