"""The project's 31-landmark layout: Aariz per-image JSON (29) + ruler points from a Label Studio export.

The export (Label Studio names it ``project-<id>-at-<date>-<hash>.json``) sits beside the per-image JSON in
``<split>/Annotations/Cephalometric Landmarks/Senior Orthodontists/``; its tasks are joined to the images
by file name. An image without ruler points keeps its 29 landmarks with ``p1``/``p2`` invisible; an
image with only ruler points has the 29 invisible.
"""
from __future__ import annotations

import logging
import shlex
import shutil
from pathlib import Path

from mmengine.logging import print_log

from zoo.registry import DATASETS

from ..errors import AnnotationError, DataError, DataNotFoundError
from ..paths import did_you_mean, find_child, resolve_data_root
from .aariz import AarizDataset, _is_list_json
from .labelstudio import ImageIndex, load_export, match_task, parse_task

#: the one folder ``synthesize_if_missing`` may generate into: the quickstart's (configs/_base_/datasets/
#: synthetic31.py), relative to the repository root like every data_root
SYNTHETIC_ROOT = "data_cache/synthetic31"


@DATASETS.register_module()
class Ceph31Dataset(AarizDataset):
    """31 landmarks (Aariz 29 + ruler p1, p2): Aariz JSON joined with a Label Studio export by image name.

    Args:
        ls_export: the Label Studio export(s), relative to ``data_root``; default: every JSON file in the
            annotator folder that is a list of tasks.
        synthesize_if_missing: e.g. ``dict(n=200, seed=0, size=(512, 640))``: when ``data_root`` is the
            built-in :data:`SYNTHETIC_ROOT` and holds no data, generate a synthetic set there first
            (:func:`zoo.data.synthetic.generate`). This is how the quickstart runs with no download. Any
            other data_root must exist: the option stays in a config whose data_root is overridden for
            real data, and a typo there once filled the misspelt folder with synthetic images that
            trained as if they were the user's.
        Other arguments as :class:`AarizDataset` (``split``, ``annotator``, ``landmark_set``, ...).
    """

    DEFAULT_SET = "ceph31"
    DATASET_TITLE = "31-landmark (Aariz + Label Studio)"

    def __init__(self, data_root="", ls_export=None, synthesize_if_missing: dict | None = None, **kwargs):
        self.ls_export = [ls_export] if isinstance(ls_export, (str, Path)) else list(ls_export or [])
        self.synthesize_if_missing = synthesize_if_missing
        self._problems: list[tuple[str, DataError]] = []
        super().__init__(data_root=data_root, **kwargs)

    def check_layout(self) -> None:
        if self.synthesize_if_missing is not None and not self._has_data():
            builtin = resolve_data_root(SYNTHETIC_ROOT)
            if self.root.resolve() != builtin.resolve():
                if not self.root.exists():
                    hint = did_you_mean(self.root, (builtin,))
                    raise DataNotFoundError(
                        f"data_root not found: {self.root}{hint}. Synthetic data is generated on first use "
                        f"only into the built-in {builtin}; to make a set elsewhere: "
                        f"zoo data synth {shlex.quote(str(self.root))}", reason="missing data")
            else:
                self._synthesize()
        super().check_layout()

    def _has_data(self) -> bool:
        if not self.root.is_dir():
            return False
        if find_child(self.root, "Cephalograms"):
            return True
        split = find_child(self.root, self.split)
        return split is not None and find_child(split, "Cephalograms") is not None

    def _synthesize(self) -> None:
        from ..synthetic import generate

        options = dict(self.synthesize_if_missing)
        if self.root.exists() and any(self.root.iterdir()):
            raise self._missing(f"{self.root} exists but holds no {self.split!r} split, so it was not "
                                "overwritten with a synthetic set")
        print_log(f"generating a synthetic 31-landmark set in {self.root} ({options}); "
                  "it is reused on the next run", logger="current", level=logging.INFO)
        tmp = self.root.with_name(self.root.name + ".partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        generate(tmp, **options)
        if self.root.exists():
            self.root.rmdir()
        tmp.rename(self.root)

    def _exports(self) -> list[Path]:
        if self.ls_export:
            return [self.root / p for p in self.ls_export]
        found = []
        for d in self.ann_dirs:
            found += [j for j in sorted(d.glob("*.json")) if _is_list_json(j)]
        return found

    def extra_annotations(self, images):
        self._problems = []
        index = ImageIndex([self.image_dir])
        out: dict[str, dict[int, tuple]] = {}
        claimed: dict[tuple[str, int], str] = {}
        for export in self._exports():
            k = next((i for i, d in enumerate(self.ann_dirs) if export.parent == d), 0)
            for i, raw in enumerate(load_export(export)):
                try:
                    task = parse_task(raw, i, self.landmark_set, export, self.unknown_labels, self.label_counts)
                    if task is None:
                        continue
                    img = match_task(task, index, str(self.image_dir))
                    if (img.name, k) in claimed:
                        raise AnnotationError(f"{task.source}: image {img.name} is also annotated by "
                                              f"{claimed[(img.name, k)]}", reason="duplicate task")
                    claimed[(img.name, k)] = task.source
                    out.setdefault(img.name, {})[k] = (task.keypoints, task.labelled)
                except DataError as exc:
                    self._problems.append((f"{export} task {raw.get('id', i) if isinstance(raw, dict) else i}", exc))
        return out

    def iter_records(self):
        records = list(super().iter_records())  # runs extra_annotations, which collects problems
        for source, exc in self._problems:
            def fail(exc=exc):
                raise exc

            yield source, fail
        yield from records
