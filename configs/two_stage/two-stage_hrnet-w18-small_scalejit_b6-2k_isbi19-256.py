# The shipped isbi19 recipe with the refine stage's patches cut at 0.7-1.4 times their pixel size, so a model reads
# an image whose pixel size the predictor estimated a little wrong (#39) as well as one given exactly.
#   zoo train configs/two_stage/two-stage_hrnet-w18-small_scalejit_b6-2k_isbi19-256.py --work-dir work_dirs/isbi19-sj
_base_ = ['./two-stage_hrnet-w18-small_b6-2k_isbi19-256.py']

# The predictor reads every image at the training pixel size: given, from a DICOM header or a ruler it is exact, but
# estimated from the anatomy's size it is off by as much as one skull's size differs from the training mean (6.4 %
# sd on ISBI 2015, so 13 % at 2 sd), and the recipe's 0.9-1.1 covers one sd of that. 0.7-1.4 covers the estimate's
# tails and the pixel sizes stated loosely (a DICOM header's detector pitch without its magnification, 10-15 % off).
# Only the refine stage sees the pixel size: the global stage letterboxes the whole image, so its RandomAffine zoom
# (0.9-1.1) stays, for the field of view.
refine_scale = (0.7, 1.4)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),  # full resolution: the patches need it
    dict(type='RefinePatches', patch_size=_base_.patch_size, patch_scale=_base_.patch_scale, jitter=30.0,
         max_shift=0.75, rotate=10.0, scale=refine_scale, brightness=0.1, contrast=0.2, num_patches=None),
    dict(type='LetterboxResize', size=_base_.input_size, pad_value=0, cache_size=150),
    dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
    dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0),
    dict(type='PackLandmarkInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
