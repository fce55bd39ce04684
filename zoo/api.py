"""The Python API: ``zoo.load(name_or_path)`` -> a model whose ``predict`` returns result objects.

A thin layer over :class:`zoo.inference.Predictor`, the same predictor ``zoo predict`` and ``zoo serve`` run, so
a landmark from Python is the landmark the CLI and the server give for the same image. What it adds is what a
script needs and a CLI user never sees: arrays in, objects out, and refusal of arrays whose meaning is ambiguous
(a float image could be 0..1 or 0..255; guessing wrong moves every landmark without any error).

    import zoo
    model = zoo.load("isbi19")                    # a named model, or a .pth / .safetensors / .onnx file
    result = model.predict("ceph.jpg", spacing_mm=0.1)
    result.landmarks["S"].x, result.landmarks["S"].x_mm
    result.plot("ceph_landmarks.png")
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.quality import REJECT, SUSPECT, UNCHECKED
from zoo.registry import ZooError


class ImageInputError(ZooError):
    """An array cannot be read as an image without guessing its value range or layout."""


@dataclass(frozen=True)
class Landmark:
    """One landmark in original image pixels (x right, y down, pixel centres at integers). ``uncertainty_px``:
    the radius that holds the true landmark with probability ``Prediction.uncertainty_coverage`` (models with a
    quality calibration only)."""

    symbol: str
    x: float
    y: float
    confidence: float
    low_confidence: bool
    x_mm: float | None = None
    y_mm: float | None = None
    uncertainty_px: float | None = None
    uncertainty_mm: float | None = None

    @property
    def xy(self) -> tuple[float, float]:
        return (self.x, self.y)


class Prediction:
    """One image's landmarks, with the pixel size when it is known, the warnings the predictor raised and the
    quality gate's verdict (``status``: ok, suspect, reject -- measure nothing -- or unchecked)."""

    def __init__(self, entry: dict, image=None):
        self._entry = entry
        self._image = image
        self.landmarks: dict[str, Landmark] = {
            s: Landmark(s, lm["x"], lm["y"], lm["confidence"], lm["low_confidence"], lm.get("x_mm"), lm.get("y_mm"),
                        lm.get("uncertainty_px"), lm.get("uncertainty_mm"))
            for s, lm in entry["landmarks"].items()}

    image = property(lambda self: self._entry["image"])
    width = property(lambda self: self._entry["width"])
    height = property(lambda self: self._entry["height"])
    landmark_set = property(lambda self: self._entry["landmark_set"])
    mm_per_pixel = property(lambda self: self._entry["mm_per_pixel"])
    #: where mm_per_pixel came from: 'given', a DICOM header's element ('dicom:PixelSpacing', ...), 'ruler' or None
    mm_per_pixel_source = property(lambda self: self._entry.get("mm_per_pixel_source"))
    #: a DICOM file's UIDs and pixel layout (no patient data), else None
    dicom = property(lambda self: self._entry.get("dicom"))
    warnings = property(lambda self: list(self._entry.get("warnings", [])))
    orientation = property(lambda self: self._entry.get("orientation"))
    #: how the image's scale was read (``entry['scale']``): the model's pixel size, the image's and its source
    #: ('given', 'dicom:...', 'ruler', 'anatomy' for the estimate), the resampling factor; None in older files
    scale = property(lambda self: self._entry.get("scale"))
    #: the quality gate's verdict (``entry['quality']``); entries from before the gate read as unchecked
    quality = property(lambda self: self._entry.get("quality") or {"status": UNCHECKED, "reasons": [],
                                                                    "signals": {}})
    status = property(lambda self: self.quality["status"])
    uncertainty_coverage = property(lambda self: self._entry.get("uncertainty_coverage"))

    def coords(self) -> np.ndarray:
        """(K, 2) original-pixel coordinates in the model's landmark order."""
        return np.array([lm.xy for lm in self.landmarks.values()], dtype=np.float64)

    def to_dict(self) -> dict:
        """The predictions-file entry (the layout of ``zoo predict --out x.json`` and the server's answer)."""
        return dict(self._entry)

    def plot(self, path=None) -> np.ndarray:
        """The image with the landmarks drawn (BGR uint8); written as PNG too when ``path`` is given."""
        from zoo.inference.drawing import draw_landmarks, write_png

        if self._image is None:
            raise ZooError("this prediction keeps no image to draw on")
        canvas = draw_landmarks(self._image, self._entry)
        if path is not None:
            write_png(canvas, path)
        return canvas

    def __repr__(self) -> str:
        scale = f", {self.mm_per_pixel:.4g} mm/px" if self.mm_per_pixel else ""
        status = f", {self.status}" if self.status in (SUSPECT, REJECT) else ""
        return f"Prediction({self.image!r}, {len(self.landmarks)} landmarks{scale}{status})"


def as_image(array, channel_order: str = "bgr") -> np.ndarray:
    """An array as the 8- or 16-bit image the predictor reads, refusing what would need a guess.

    uint8 and uint16 pass (16-bit detector data is windowed by its own range, as image files are); other
    integers must lie in 0..255; floats must be finite and in 0..1 (scaled by 255) or 0..255. Colour arrays are
    OpenCV's BGR unless ``channel_order='rgb'`` (PIL, matplotlib)."""
    img = np.asarray(array)
    if img.dtype == bool or img.dtype.kind not in "uif":
        raise ImageInputError(f"an image array of dtype {img.dtype} is not an image; pass uint8, uint16 or float")
    if img.ndim not in (2, 3) or img.size == 0:
        raise ImageInputError(f"an image array must be (H, W) or (H, W, C), got shape {img.shape}")
    if img.dtype.kind == "f":
        if not np.isfinite(img).all():
            raise ImageInputError("the float image holds NaN or inf values")
        lo, hi = float(img.min()), float(img.max())
        if lo < 0 or hi > 255:
            raise ImageInputError(f"a float image must be in 0..1 or 0..255, this one spans {lo:.4g}..{hi:.4g}; "
                                  "scale it to 0..255 (or pass the uint16 data as it was read)")
        img = np.clip(np.rint(img * 255.0 if hi <= 1.0 else img), 0, 255).astype(np.uint8)
    elif img.dtype not in (np.uint8, np.uint16):
        lo, hi = int(img.min()), int(img.max())
        if lo < 0 or hi > 255:
            raise ImageInputError(f"an {img.dtype} image must be in 0..255, this one spans {lo}..{hi}; pass 16-bit "
                                  "data as uint16")
        img = img.astype(np.uint8)
    if channel_order not in ("bgr", "rgb"):
        raise ImageInputError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    if channel_order == "rgb" and img.ndim == 3 and img.shape[2] in (3, 4):
        img = np.ascontiguousarray(img[:, :, [2, 1, 0] + ([3] if img.shape[2] == 4 else [])])
    return img


class LandmarkModel:
    """A loaded model; ``predict`` takes a path, encoded bytes, an array, or a list of them."""

    def __init__(self, predictor, source: str):
        self.predictor = predictor
        self.source = source

    landmark_symbols = property(lambda self: list(self.predictor.symbols))
    landmark_set = property(lambda self: self.predictor.meta["landmark_set"])
    input_size = property(lambda self: self.predictor.input_size)

    def predict(self, images, *, spacing_mm: float | None = None, ruler_mm: float | None = None,
                channel_order: str = "bgr"):
        """A :class:`Prediction` for one image, a list of them for a list (a bad item raises, naming it).
        ``spacing_mm`` must be a physical pixel size (:data:`zoo.data.spacing.SPACING_RANGE_MM`); another is
        refused (``SpacingError``) before any image is decoded. Images pass the checks ``zoo predict``
        makes."""
        from zoo.data.spacing import check_spacing

        if spacing_mm is not None:
            spacing_mm = check_spacing(spacing_mm, "spacing_mm")
        if isinstance(images, (list, tuple)):
            return [self._one(item, spacing_mm, ruler_mm, channel_order, f"<image {i}>")
                    for i, item in enumerate(images)]
        return self._one(images, spacing_mm, ruler_mm, channel_order, "<image>")

    def _one(self, image, spacing_mm, ruler_mm, channel_order, label) -> Prediction:
        from zoo.data.imageio import decode_image

        header = None  # a DICOM file's: its pixel size (after a given spacing_mm) and UIDs
        if isinstance(image, (str, Path)):
            (raw, header), label = decode_image(Path(image)), str(image)
        elif isinstance(image, (bytes, bytearray, memoryview)):
            raw, header = decode_image(bytes(image), label)
        else:
            raw = as_image(image, channel_order)
        entry = self.predictor.predict(raw, name=label, spacing_mm=spacing_mm, ruler_mm=ruler_mm, header=header)
        return Prediction(entry, raw)

    def describe(self) -> dict:
        return self.predictor.describe()

    def __repr__(self) -> str:
        return (f"LandmarkModel({self.source!r}, {len(self.landmark_symbols)} landmarks of {self.landmark_set}, "
                f"{self.predictor.runtime})")


def load(name_or_path, *, device: str | None = None, threads: int | None = None,
         min_confidence: float | None = None, orientation: str = "auto", trust: bool = False,
         scale: str = "auto") -> LandmarkModel:
    """A named model (``zoo models``) or a model file, ready to predict. ``device='cuda'`` runs a checkpoint or
    weights file on the GPU; exported ONNX/TorchScript models run on the CPU. ``orientation='auto'`` finds mirrored
    and turned images (``Prediction.orientation`` says what was found); ``'fixed'`` trusts the image.
    ``scale='auto'`` reads every image at the pixel size the model was trained at (``spacing_mm``, a DICOM header's,
    a ruler's, else the anatomy's estimate; ``Prediction.entry['scale']`` says which); ``'fixed'`` as it lies.
    ``trust=True`` is needed for a TorchScript file, which is a program: it runs code of its own while it loads, so
    open one only from a source you trust (ONNX files and the zoo's checkpoints and weights files carry no code)."""
    from zoo.inference import Predictor
    from zoo.inference.predictor import DEFAULT_MIN_CONFIDENCE
    from zoo.registry import load_plugins

    load_plugins()
    predictor = Predictor.from_path(name_or_path, threads=threads, device=device, orientation=orientation, trust=trust,
                                    scale=scale,
                                    min_confidence=DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence)
    return LandmarkModel(predictor, str(name_or_path))


def train(data, *, start="auto", minutes: float | None = None, work_dir=None, images=None, test=None,
          landmark_set=None, label_map: dict | None = None, spacing_mm: float | None = None,
          val_fraction: float = 0.2, seed: int = 0, recipe=None, quiet: bool = False):
    """Train a model on your own annotations, what ``zoo train --data`` does, and return what it made
    (:class:`zoo.engine.own_data.OwnDataResult`: ``model``, ``config``, ``validation``, ``calibration``...).

    ``data`` is a Label Studio export, a landmark CSV or an ISBI/Aariz folder; ``start`` a model name or file to
    fine-tune (``'auto'``: the shipped model sharing most landmarks; ``None``: from scratch); ``minutes`` a
    wall-clock budget. Bad data raises ``OwnDataError`` naming the fix before anything is trained.
    ``zoo.load(result.model)`` then predicts with it."""
    from zoo.engine.own_data import train_on_data
    from zoo.registry import load_plugins

    load_plugins()
    return train_on_data(data, start="none" if start is None else start, images=images, test=test,
                         landmark_set=landmark_set, label_map=label_map, spacing=spacing_mm,
                         val_fraction=val_fraction, seed=seed, recipe=recipe, work_dir=work_dir, minutes=minutes,
                         say=(lambda text: None) if quiet else print)
