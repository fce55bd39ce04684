"""Keypoint-aware transforms; geometric ones keep ``warp`` exact (see ``zoo.structures``)."""
from .base import BaseTransform, compose_warp
from .formatting import PackLandmarkInputs
from .geometric import LetterboxResize, RandomAffine, RandomHorizontalFlip, letterbox, letterbox_warp
from .loading import LoadCephalogram, reduction_factor, reduction_warp
from .patches import RefinePatches
from .photometric import CLAHE, NormalizeImage, PhotometricJitter, RandomGaussianBlur, RandomSharpness

__all__ = [
    "BaseTransform", "CLAHE", "LetterboxResize", "LoadCephalogram", "NormalizeImage", "PackLandmarkInputs",
    "PhotometricJitter", "RandomAffine", "RandomGaussianBlur", "RandomHorizontalFlip", "RefinePatches",
    "RandomSharpness", "compose_warp", "letterbox",
    "letterbox_warp", "reduction_factor", "reduction_warp",
]
