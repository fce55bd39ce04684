"""Per-landmark uncertainty: a radius around each landmark that holds the truth 9 times in 10.

The signals come from the prediction itself: how far the refine stage's views disagree (``spread``), whether
fewer than two of them agreed at all, how far the refine stage moved the global stage's answer (``shift``) and the
confidence. A landmark's error scale is ``sigma = exp(a_k + w . features)``: a per-landmark base (some landmarks,
gonion or porion, are harder than sella everywhere) and shared weights on the signals, fitted by maximum likelihood
of the validation errors under an isotropic 2-D Gaussian. The radius is then ``sigma`` times the factor that makes
the validation coverage exact (the validation errors' own quantile of ``error / sigma``), so the coverage claim does
not rest on the Gaussian being right, only on validation images being like the ones predicted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.registry import ZooError

FEATURES = ("log_spread", "unrefined", "log_shift", "doubt")
COVERAGE = 0.9


class UncertaintyError(ZooError):
    """The uncertainty calibration cannot be fitted or read."""


def features(scores, coarse=None, coords=None, spread=None) -> np.ndarray:
    """(K, len(FEATURES)) signals of one prediction; a model without a refine stage has only its confidence."""
    scores = np.asarray(scores, np.float64)
    out = np.zeros((len(scores), len(FEATURES)))
    if spread is not None:
        spread = np.asarray(spread, np.float64)
        agreed = np.isfinite(spread)
        out[:, 0] = np.log1p(np.where(agreed, spread, 0.0))
        out[:, 1] = (~agreed).astype(np.float64)
    if coarse is not None and coords is not None:
        out[:, 2] = np.log1p(np.linalg.norm(np.asarray(coords, np.float64) - np.asarray(coarse, np.float64), axis=1))
    out[:, 3] = 1.0 - np.clip(scores, 0.0, 1.0)
    return out


@dataclass(frozen=True)
class UncertaintyModel:
    """``log sigma = base[k] + weights . features``; radius = ``radius_factor * sigma`` (px of the images it was
    calibrated on) holds the truth with probability ``coverage``."""

    base: np.ndarray
    weights: np.ndarray
    radius_factor: float
    coverage: float = COVERAGE
    num_points: int = 0

    def sigma(self, feats: np.ndarray) -> np.ndarray:
        return np.exp(self.base + feats @ self.weights)

    def radius(self, feats: np.ndarray, coverage: float | None = None) -> np.ndarray:
        """(K,) radius in px; another ``coverage`` than the calibrated one scales by the Gaussian's ratio."""
        if coverage is None or coverage == self.coverage:
            return self.radius_factor * self.sigma(feats)
        ratio = np.sqrt(np.log1p(-coverage) / np.log1p(-self.coverage))
        return self.radius_factor * ratio * self.sigma(feats)

    @classmethod
    def fit(cls, feats: np.ndarray, errors: np.ndarray, coverage: float = COVERAGE,
            steps: int = 200) -> UncertaintyModel:
        """``feats`` (N, K, F) and radial ``errors`` (N, K) px of N validation images (NaN: unlabelled)."""
        import torch

        feats, errors = np.asarray(feats, np.float64), np.asarray(errors, np.float64)
        if feats.ndim != 3 or errors.shape != feats.shape[:2]:
            raise UncertaintyError(f"features (N, K, F) and errors (N, K) must agree, got {feats.shape} and "
                                   f"{errors.shape}")
        known = np.isfinite(errors)
        if known.sum(axis=0).min() < 3:
            raise UncertaintyError("every landmark needs at least 3 labelled validation images to calibrate")
        used = feats[known].std(axis=0) > 1e-9  # a signal that never varies (no refine stage) gets no weight
        f = torch.tensor(feats, dtype=torch.float64)
        e2 = torch.tensor(np.where(known, errors, 0.0) ** 2)
        mask = torch.tensor(known, dtype=torch.float64)
        start = np.log(np.sqrt(np.nanmean(errors ** 2, axis=0) / 2.0) + 1e-6)
        base = torch.tensor(start, requires_grad=True)
        weights = torch.zeros(feats.shape[2], dtype=torch.float64, requires_grad=True)
        keep = torch.tensor(used, dtype=torch.float64)
        optimiser = torch.optim.LBFGS([base, weights], max_iter=steps, line_search_fn="strong_wolfe")

        def nll():
            optimiser.zero_grad()
            log_sigma = base + f @ (weights * keep)
            loss = ((2 * log_sigma + e2 / (2 * torch.exp(2 * log_sigma))) * mask).sum() / mask.sum()
            loss = loss + 1e-3 * (weights ** 2).sum()  # a weak prior: a signal must earn its weight
            loss.backward()
            return loss

        optimiser.step(nll)
        base_np = base.detach().numpy().copy()
        weights_np = (weights * keep).detach().numpy().copy()
        sigma = np.exp(base_np + feats @ weights_np)
        ratio = (errors / sigma)[known]
        factor = float(np.quantile(ratio, coverage, method="higher"))
        return cls(base_np, weights_np, factor, coverage, int(known.sum()))

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "base": [float(v) for v in self.base],
                "weights": [float(v) for v in self.weights], "radius_factor": float(self.radius_factor),
                "coverage": float(self.coverage), "num_points": int(self.num_points)}

    @classmethod
    def from_dict(cls, d: dict, num_landmarks: int) -> UncertaintyModel:
        try:
            if list(d["features"]) != list(FEATURES):
                raise ValueError(f"features {d['features']} are not {list(FEATURES)}")
            base = np.asarray(d["base"], np.float64)
            weights = np.asarray(d["weights"], np.float64)
            factor, coverage = float(d["radius_factor"]), float(d["coverage"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UncertaintyError(f"the uncertainty calibration is malformed ({exc})") from None
        if base.shape != (num_landmarks,) or weights.shape != (len(FEATURES),) or not (
                np.isfinite(base).all() and np.isfinite(weights).all() and factor > 0 and 0 < coverage < 1):
            raise UncertaintyError(f"the uncertainty calibration does not fit {num_landmarks} landmarks or holds "
                                   f"invalid numbers")
        return cls(base, weights, factor, coverage, int(d.get("num_points", 0)))
