"""Images a cephalometric model should not answer confidently on, made from real cephalograms or from nothing.

Each maker takes a decoded cephalogram (uint8, H x W x 3), its truth (K, 2) px and a random generator, and returns
``(image, truth)``: the truth moved with the image where the anatomy is still all there (a rotation, a blur), None
where no reading can be right (noise, a crop without most of the skull, another kind of radiograph). ``HANDLED``
sets are rearrangements the predictor undoes (it finds the orientation); they must *not* be flagged.
"""
from __future__ import annotations

import cv2
import numpy as np


def _gray3(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def noise(img, truth, rng):
    """White noise, or fog-like smooth noise stretched to the full range (half each)."""
    h, w = img.shape[:2]
    field = rng.normal(128.0, 50.0, (h, w))
    if rng.random() < 0.5:
        field = cv2.GaussianBlur(field, (0, 0), float(rng.uniform(10, 40)))
        field = (field - field.min()) / max(np.ptp(field), 1e-9) * 255.0
    return _gray3(field), None


def crop(img, truth, rng):
    """A window of 30-50 % of each side at a random place: most of the skull is gone."""
    h, w = img.shape[:2]
    ch, cw = int(h * rng.uniform(0.3, 0.5)), int(w * rng.uniform(0.3, 0.5))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(img[y:y + ch, x:x + cw]), None


def rotate(img, truth, rng):
    """Turned 30-60 degrees either way on an enlarged canvas: far beyond the training augmentation (10 degrees) and
    between the quarter turns the predictor undoes. The truth turns with it."""
    h, w = img.shape[:2]
    angle = float(rng.uniform(30, 60) * rng.choice([-1, 1]))
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return out, np.c_[truth, np.ones(len(truth))] @ m.T


def blur(img, truth, rng):
    """Gaussian blur of sigma 30 px (3 mm at 0.1 mm/px): edges and small structures are gone."""
    return cv2.GaussianBlur(img, (0, 0), 30.0), truth.copy()


def _chest(h, w, rng):
    """A synthetic frontal chest radiograph: dark lungs, a bright spine, heart and clavicles, rib arcs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.full((h, w), 170.0)
    for side in (-1, 1):
        cx, cy = w / 2 + side * w * rng.uniform(0.18, 0.24), h * rng.uniform(0.45, 0.55)
        lung = ((xx - cx) / (w * 0.16)) ** 2 + ((yy - cy) / (h * 0.3)) ** 2 < 1
        img[lung] = 60
        for k in range(9):  # ribs: bright arcs across each lung
            y0 = h * 0.22 + k * h * 0.07
            arc = np.abs(yy - (y0 + 0.00025 * h * ((xx - w / 2) / w * 8) ** 2 * 10)) < h * 0.008
            img[arc & lung] = 140
        clavicle = (np.abs(yy - (h * 0.18 + side * (xx - w / 2) * 0.15)) < h * 0.012) & (np.abs(xx - cx) < w * 0.2)
        img[clavicle] = 230
    img[np.abs(xx - w / 2) < w * 0.04] = 220
    heart = ((xx - w * 0.56) / (w * 0.14)) ** 2 + ((yy - h * 0.65) / (h * 0.15)) ** 2 < 1
    img[heart] = 190
    return img


def _phantom(h, w, rng):
    """A head-phantom-like slice: nested bright and dark ellipses (the classic tomography test object)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = (xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)
    img = np.zeros((h, w))
    ellipses = [(0, 0, 0.69, 0.92, 0, 200), (0, -0.018, 0.66, 0.87, 0, -160), (0.22, 0, 0.11, 0.31, -18, -40),
                (-0.22, 0, 0.16, 0.41, 18, -40), (0, 0.35, 0.21, 0.25, 0, 30), (0, 0.1, 0.046, 0.046, 0, 30),
                (-0.08, -0.605, 0.046, 0.023, 0, 30), (0.06, -0.605, 0.023, 0.046, 0, 30)]
    for cx, cy, a, b, deg, value in ellipses:
        t = np.deg2rad(deg + rng.uniform(-5, 5))
        u, v = (x - cx) * np.cos(t) + (y - cy) * np.sin(t), -(x - cx) * np.sin(t) + (y - cy) * np.cos(t)
        img[(u / a) ** 2 + (v / b) ** 2 <= 1] += value
    return img + 30


def _tiles(img, rng, grid=4):
    """The cephalogram cut into a grid and the tiles shuffled: radiograph texture, no anatomy."""
    h, w = img.shape[:2]
    th, tw = h // grid, w // grid
    tiles = [img[r * th:(r + 1) * th, c * tw:(c + 1) * tw] for r in range(grid) for c in range(grid)]
    order = rng.permutation(len(tiles))
    while (order == np.arange(len(tiles))).mean() > 0.25:
        order = rng.permutation(len(tiles))
    rows = [np.concatenate([tiles[order[r * grid + c]] for c in range(grid)], axis=1) for r in range(grid)]
    return np.ascontiguousarray(np.concatenate(rows, axis=0))


def other_xray(img, truth, rng):
    """Another kind of image a clinic's archive holds: a chest radiograph, a tomography phantom, or a cephalogram
    whose tiles are shuffled (in turn), blurred a little and with quantum-like noise."""
    h, w = img.shape[:2]
    kind = int(rng.integers(0, 3))
    if kind == 2:
        return _tiles(img, rng), None
    base = _chest(h, w, rng) if kind == 0 else _phantom(h, w, rng)
    base = cv2.GaussianBlur(base, (0, 0), 6.0) + rng.normal(0, 6.0, (h, w))
    return _gray3(base), None


def mirrored(img, truth, rng):
    """Facing the other way: handled (the predictor reads it mirrored and maps back)."""
    w = img.shape[1]
    return np.ascontiguousarray(img[:, ::-1]), np.c_[w - 1 - truth[:, 0], truth[:, 1]]


def turned(img, truth, rng):
    """Turned by a quarter turn either way or upside down: handled."""
    k = int(rng.integers(1, 4))
    out, pts = img, truth.copy()
    for _ in range(k):  # np.rot90 (counter-clockwise): (x, y) -> (y, w - 1 - x)
        pts = np.c_[pts[:, 1], out.shape[1] - 1 - pts[:, 0]]
        out = np.rot90(out)
    return np.ascontiguousarray(out), pts


GARBAGE = {"noise": noise, "crop": crop, "rotate_30_60": rotate, "blur_3mm": blur, "other_xray": other_xray}
HANDLED = {"mirrored": mirrored, "turned": turned}
