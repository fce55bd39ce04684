"""The sample contract every stage speaks: reader -> transforms -> model -> metric.

A *sample* travelling through the transforms is a plain dict with these keys:

==================== ========================================================================
``img_path``         str, the source file
``img``              np.ndarray (H, W, C) uint8, after ``LoadCephalogram``
``ori_shape``        (H, W) of the original image
``img_shape``        (h, w) of ``img`` now
``keypoints``        np.ndarray (K, 2) float32, x/y in *current* image pixels
``keypoints_visible`` np.ndarray (K,) float32, 1 = labelled and inside the image, 0 = missing/outside
``ori_keypoints``    np.ndarray (K, 2) float32, the truth in original pixels (never transformed)
``spacing``          float mm per original pixel, or None when unknown
``landmark_set``     str, name of the landmark set (``zoo.data.landmark_sets``)
``warp``             np.ndarray (3, 3) float64: homogeneous affine, original px -> current px
==================== ========================================================================

Pixel convention: integer coordinates are pixel *centres*; (0, 0) is the centre of the top-left pixel.
Geometric transforms compose their matrix onto ``warp`` so predictions map back to original pixels
exactly with :func:`to_original`.

``PackLandmarkInputs`` turns a sample into ``{'inputs': uint8 tensor (C, H, W), 'data_samples':
LandmarkSample}``; the model adds ``pred_keypoints`` (original px), ``pred_input_keypoints`` (input px)
and ``pred_scores`` to each ``LandmarkSample``.
"""
from __future__ import annotations

import numpy as np
from mmengine.structures import BaseDataElement


class LandmarkSample(BaseDataElement):
    """One image's annotations and, after prediction, its landmarks.

    metainfo: ``img_path, ori_shape, img_shape, spacing (float, nan when unknown), landmark_set,
    warp (3x3), sample_idx``. data: ``keypoints`` (K, 2) input px, ``keypoints_visible`` (K,),
    ``ori_keypoints`` (K, 2) original px; predictions ``pred_keypoints`` (K, 2) original px,
    ``pred_input_keypoints`` (K, 2) input px, ``pred_scores`` (K,).
    """


def identity_warp() -> np.ndarray:
    return np.eye(3, dtype=np.float64)


def apply_warp(points: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """Map (K, 2) points through a 3x3 homogeneous affine."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ warp[:2, :2].T + warp[:2, 2]


def to_original(points_input_px: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """Map points from network-input pixels back to the original image's pixels."""
    return apply_warp(points_input_px, np.linalg.inv(warp))


def resample_warp(factor: float) -> np.ndarray:
    """3x3: image px -> px of the image resized by ``factor``, centres mapped as ``cv2.resize`` maps them
    (``x' = (x + 0.5) * factor - 0.5``): the frame a model reads an image in at its own pixel size (#39)."""
    f = float(factor)
    return np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5], [0.0, 0.0, 1.0]])
