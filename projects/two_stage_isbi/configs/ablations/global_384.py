# Ablation: global stage at 384 px instead of 256.
_base_ = ['./base.py']
input_size = (384, 384)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),
    dict(type='RefinePatches', patch_size=96, patch_scale=2.0, jitter=25.0, max_shift=0.6, rotate=10.0,
         scale=(0.9, 1.1), brightness=0.1, contrast=0.2, num_patches=None),
    dict(type='LetterboxResize', size=input_size, pad_value=0, cache_size=150),
    dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
    dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0),
    dict(type='PackLandmarkInputs'),
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='RefinePatches', patch_size=96, patch_scale=2.0, test_mode=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
