"""Which quantized nodes an int8 export keeps in fp32 when its self-check fails, by measuring each one.

A few nodes often carry most of a network's quantization error where it matters: the tensor the decoder
reads, a sum of branches with different ranges. Each node's effect is measured on the images where the
check failed worst: the whole predictor runs on :class:`~zoo.exporters.int8_sensitivity.SwitchableGraph` s
with that one node in fp32, and the node scores how far the worst landmark then lies from the eager
model's (input px, the self-check's own measure). Nodes are then taken best first, and every set whose
check these graphs predict to pass -- on all the check images -- is handed to the real export and
self-check, until one passes or the limit is reached. The prediction only saves real attempts; the real
self-check decides.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: the check images a node's effect is measured on (the worst ones): the objective is their largest error
RANK_IMAGES = 2


class _Switched:
    """A predictor backend over the switchable graphs, with the nodes in fp32 set per question."""

    def __init__(self, graphs: dict):
        self.graphs = graphs
        self.fp32: dict[str, list[str]] = {}

    def __call__(self, batch):
        coords, scores = self.graphs["global"](batch, self.fp32.get("global", ()))
        return coords, scores

    def refine(self, patches):
        coords, scores = self.graphs["refine"](patches, self.fp32.get("refine", ()))
        return coords, scores


class Measure:
    """The self-check's coordinate measure on switchable graphs: the largest distance, in model-input px,
    between the eager model's landmarks and the graphs' with a given set of nodes in fp32.

    Args:
        graphs: ``{'global': SwitchableGraph[, 'refine': SwitchableGraph]}``.
        eager: the eager ``Predictor`` (its meta: preprocessing and, for two stages, the refine spec).
        images: the check images (``CheckImage``).
    """

    def __init__(self, graphs: dict, eager, images):
        from zoo.data.transforms.geometric import letterbox_warp
        from zoo.inference import Predictor
        from zoo.structures import apply_warp

        self._apply = apply_warp
        self.backend = _Switched(graphs)
        self.predictor = Predictor(self.backend, eager.meta)
        self.images = [eager.load(i.path, str(i.path)) for i in images]
        self.warps = [letterbox_warp(img.shape[:2], eager.input_size)[0] for img in self.images]
        self.eager = [apply_warp(eager.predict_array(img)[0], w) for img, w in zip(self.images, self.warps)]

    def distances(self, fp32: dict[str, list[str]], which=None) -> np.ndarray:
        """Landmark distances (input px), (images, K), over the images ``which`` (default all) with ``fp32``
        in fp32; a non-finite coordinate is an infinite distance."""
        self.backend.fp32 = fp32
        out = []
        for i in range(len(self.images)) if which is None else which:
            coords, _ = self.predictor.predict_array(self.images[i])
            d = self._apply(coords, self.warps[i]) - self.eager[i]
            out.append(np.nan_to_num(np.hypot(d[:, 0], d[:, 1]), nan=np.inf))
        return np.stack(out)

    def error(self, fp32: dict[str, list[str]], which=None) -> float:
        """The largest of :meth:`distances`: what the self-check compares with its tolerance."""
        return float(self.distances(fp32, which).max())


def rank_nodes(measure: Measure, log=lambda message: None) -> tuple[list[tuple[float, str, str]], float]:
    """``([(error with the node in fp32, graph, node), ...] best first, error with none)`` on the worst images.

    Ties in the largest distance are common (a landmark whose heatmap has two near-equal peaks jumps between
    them whichever node changes), so the mean distance over those images breaks them."""
    per_image = measure.distances({}).max(axis=1)
    worst = [int(i) for i in np.argsort(per_image)[::-1][:RANK_IMAGES]]
    base = float(per_image[worst].max())
    scored = []
    for role, graph in measure.backend.graphs.items():
        for node in graph.candidates:
            d = measure.distances({role: [node]}, worst)
            scored.append((float(d.max()), float(d.mean()), role, node))
    scored.sort(key=lambda t: t[:2])
    scored = [(e, role, node) for e, _, role, node in scored]
    if scored:
        counts = " and ".join(f"{len(g.candidates)} of the {role} graph" for role, g in measure.backend.graphs.items())
        log(f"  measured {counts} on the {len(worst)} worst check image(s) ({base:.3f} input px with all in int8); "
            f"best alone in fp32: " + ", ".join(f"{n} ({e:.3f})" for e, _, n in scored[:3]))
    return scored, base


def fallback_sets(measure: Measure, ranked, tolerance_px: float, limit: int,
                  log=lambda message: None) -> Iterator[dict[str, list[str]]]:
    """The node sets worth a real attempt, smallest first: each prefix of ``ranked`` whose measured error on
    every check image is within ``tolerance_px``, then the whole ``limit`` prefix if none was."""
    chosen: dict[str, list[str]] = {}
    tried = False
    top = ranked[:limit]
    for k, (_, role, node) in enumerate(top, 1):
        chosen.setdefault(role, []).append(node)
        predicted = measure.error(chosen)
        if predicted <= tolerance_px:
            log(f"  {k} node(s) in fp32: {predicted:.3f} input px on the switchable graphs; checking the export ...")
            tried = k == len(top)
            yield {r: list(n) for r, n in chosen.items()}
    if top and not tried:
        log(f"  {len(top)} node(s) in fp32 (the limit); checking the export ...")
        yield {r: list(n) for r, n in chosen.items()}
