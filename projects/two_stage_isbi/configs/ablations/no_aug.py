# Ablation: no augmentation (no rotation, scaling or photometric jitter of images or patches).
# The patch centre jitter stays: it is what teaches the refine stage to correct coarse errors.
_base_ = ['./base.py']
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),
    dict(type='RefinePatches', patch_size=96, patch_scale=2.0, jitter=25.0, max_shift=0.6, num_patches=None),
    dict(type='LetterboxResize', size=(256, 256), pad_value=0, cache_size=150),
    dict(type='PackLandmarkInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
