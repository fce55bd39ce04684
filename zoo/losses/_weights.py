"""Per-keypoint weighting shared by the losses: visibility times optional per-landmark weights."""

from __future__ import annotations

import torch


def keypoint_weights(
    targets: dict, like: torch.Tensor, landmark_weights: torch.Tensor | None
) -> torch.Tensor:
    """(N, K) weights: ``targets['weight']`` (ones when absent) x the per-landmark weights (K,)."""
    n, k = like.shape[:2]
    weight = targets.get("weight")
    weight = torch.ones(n, k, device=like.device, dtype=like.dtype) if weight is None else weight.to(like)
    if landmark_weights is not None:
        if landmark_weights.numel() != k:
            from zoo.errors import ModelConfigError

            raise ModelConfigError(
                f"landmark_weights has {landmark_weights.numel()} values for {k} keypoints."
            )
        weight = weight * landmark_weights.to(like)
    return weight


def as_buffer(module: torch.nn.Module, values) -> None:
    module.register_buffer(
        "landmark_weights",
        None if values is None else torch.as_tensor(values, dtype=torch.float32),
        persistent=False,
    )
