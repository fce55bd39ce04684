"""The two-stage detector's patch geometry, re-exported from :mod:`zoo.data.patches`, where the training
transform ``RefinePatches`` can use it without the data layer importing the models."""
from zoo.data.patches import channel_mean, crop_patches, patch_to_original, patch_warp

__all__ = ["channel_mean", "crop_patches", "patch_to_original", "patch_warp"]
