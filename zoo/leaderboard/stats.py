"""How sure a board's figures are: intervals over test images, seed spread, and paired comparisons.

Two things move a row's Test1 MRE: which images the test set happens to hold, and the training seed. The
seed spread is the standard deviation of the seeds' MREs. The image part is a percentile bootstrap over the
test images (the seeds' MREs averaged in every resample). A comparison of two rows is paired: the same
resampled images for both (two models err on the same hard images, so pairing removes most of the image
noise), with each row's seeds resampled too, so that a gap one lucky seed made does not pass for real; and a
Wilcoxon signed-rank test on the per-image differences of the seed-averaged MRE, Holm-adjusted over the rows
of a board. A difference is called real when both agree: the paired 95 % interval excludes zero and the
adjusted p is below 0.05.

MRE is pooled over landmarks (the sum of all radial errors over their count), as ``landmark_report`` computes
it, so an image with unlabelled landmarks weighs what it holds.
"""
from __future__ import annotations

import math

import numpy as np

SDR_MM = (2.0, 2.5, 3.0, 4.0)
LEVEL = 0.95
REPS = 4000
ALPHA = 0.05


def image_sums(errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image sum of radial errors and count of labelled landmarks, from ``(N, K)`` (NaN: unlabelled)."""
    errors = np.asarray(errors, dtype=np.float64)
    ok = np.isfinite(errors)
    return np.where(ok, errors, 0.0).sum(axis=1), ok.sum(axis=1).astype(np.float64)


def _stack(runs) -> tuple[np.ndarray, np.ndarray]:
    """(S, N) sums and counts of S runs' ``(N, K)`` errors on the same images."""
    pairs = [image_sums(r) for r in runs]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def _bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return float(lo), float(hi)


def row_summary(runs, reps: int = REPS, seed: int = 0, level: float = LEVEL) -> dict:
    """A row's figures from its runs' ``(N, K)`` errors in mm (same images, same order).

    ``MRE`` is the mean over seeds (each seed's MRE pooled over landmarks), ``MRE_sd`` their standard
    deviation (None for one seed), ``MRE_ci`` the bootstrap interval over images, ``SDR`` the seeds' mean
    share (%) of landmarks within each radius, ``median`` the seeds' mean median error.
    """
    sums, counts = _stack(runs)
    per_seed = sums.sum(axis=1) / counts.sum(axis=1)
    idx = np.random.default_rng(seed).integers(0, sums.shape[1], size=(reps, sums.shape[1]))
    resampled = (sums[:, idx].sum(axis=-1) / counts[:, idx].sum(axis=-1)).mean(axis=0)
    sdr = {}
    for radius in SDR_MM:
        shares = [100.0 * float(np.mean(r[np.isfinite(r)] <= radius)) for r in map(np.asarray, runs)]
        sdr[f"{radius:g}mm"] = float(np.mean(shares))
    medians = [float(np.median(np.asarray(r)[np.isfinite(r)])) for r in runs]
    sd = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else None
    return {"MRE": float(per_seed.mean()), "MRE_sd": sd, "MRE_ci": _bounds(resampled, level),
            "per_seed": [float(v) for v in per_seed], "SDR": sdr, "median": float(np.mean(medians)),
            "seeds": len(per_seed), "images": int(sums.shape[1])}


def paired_bootstrap(a_runs, b_runs, reps: int = REPS, seed: int = 0, level: float = LEVEL,
                     resample_seeds: bool = True) -> dict:
    """``b - a`` in MRE (mean over seeds) with its paired bootstrap interval: every resample draws one set of
    test images for both rows, and (``resample_seeds``) each row's seeds with replacement."""
    a_sums, a_counts = _stack(a_runs)
    b_sums, b_counts = _stack(b_runs)
    if a_sums.shape[1] != b_sums.shape[1]:
        raise ValueError(f"paired rows need the same test images ({a_sums.shape[1]} against "
                         f"{b_sums.shape[1]})")
    rng = np.random.default_rng(seed)
    n = a_sums.shape[1]
    idx = rng.integers(0, n, size=(reps, n))

    def resampled(sums, counts):
        mre = (sums[:, idx].sum(axis=-1) / counts[:, idx].sum(axis=-1)).T  # (reps, S)
        if not resample_seeds or mre.shape[1] == 1:
            return mre.mean(axis=1)
        pick = rng.integers(0, mre.shape[1], size=mre.shape)
        return np.take_along_axis(mre, pick, axis=1).mean(axis=1)

    diffs = resampled(b_sums, b_counts) - resampled(a_sums, a_counts)
    point = float((b_sums.sum(1) / b_counts.sum(1)).mean() - (a_sums.sum(1) / a_counts.sum(1)).mean())
    return {"diff": point, "ci": _bounds(diffs, level), "share_below_zero": float(np.mean(diffs < 0))}


def image_mre(runs) -> np.ndarray:
    """Each test image's MRE averaged over a row's seeds, ``(N,)``: what the signed-rank test pairs."""
    sums, counts = _stack(runs)
    return (sums / np.maximum(counts, 1)).mean(axis=0)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def wilcoxon_signed_rank(differences) -> dict:
    """Two-sided Wilcoxon signed-rank test of ``differences`` against a median of zero.

    Zero differences are left out (Wilcoxon's own rule). Up to 50 differences without ties get the exact null
    distribution of the positive rank sum; otherwise the normal approximation with the tie correction of the
    variance (no continuity correction), the same choices as ``scipy.stats.wilcoxon``'s defaults.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d) & (d != 0)]
    n = len(d)
    if n == 0:
        return {"n": 0, "w_plus": 0.0, "w_minus": 0.0, "p": 1.0, "method": "no non-zero difference"}
    magnitude = np.abs(d)
    ranks = _ranks(magnitude)
    w_plus, w_minus = float(ranks[d > 0].sum()), float(ranks[d < 0].sum())
    _, tie_sizes = np.unique(magnitude, return_counts=True)
    if n <= 50 and (tie_sizes == 1).all():
        top = n * (n + 1) // 2
        ways = np.zeros(top + 1, dtype=np.float64)  # ways[s]: subsets of ranks 1..n summing to s
        ways[0] = 1.0
        for r in range(1, n + 1):
            ways[r:] = ways[r:] + ways[:-r].copy()
        total = 2.0 ** n
        w = int(round(w_plus))
        below, above = ways[:w + 1].sum() / total, ways[w:].sum() / total
        return {"n": n, "w_plus": w_plus, "w_minus": w_minus, "p": float(min(1.0, 2.0 * min(below, above))),
                "method": "exact"}
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((tie_sizes ** 3 - tie_sizes).sum()) / 48.0
    z = (w_plus - mean) / math.sqrt(var)
    p = float(math.erfc(abs(z) / math.sqrt(2.0)))
    return {"n": n, "w_plus": w_plus, "w_minus": w_minus, "z": z, "p": p, "method": "normal approximation"}


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment (controls the chance of any false 'real' over the family)."""
    p = [float(v) for v in pvalues]
    order = sorted(range(len(p)), key=lambda i: p[i])
    adjusted = [1.0] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def verdict(diff_ci: tuple[float, float], p_adjusted: float, alpha: float = ALPHA) -> str:
    """``better`` / ``worse`` (lower / higher MRE than the reference) when the paired interval excludes zero
    and the adjusted signed-rank p is below ``alpha``; else ``no clear difference``."""
    lo, hi = diff_ci
    if p_adjusted < alpha and hi < 0:
        return "better"
    if p_adjusted < alpha and lo > 0:
        return "worse"
    return "no clear difference"
