# ResNet-34 direct coordinate regression at 256 px with the shipped isbi19 recipe's data, augmentation and
# schedule: the leaderboard's single-stage regression row (the baseline heatmaps must beat).
#   zoo leaderboard --board isbi19 --rows reg_resnet34 --budget-minutes 10 --seeds 3
_base_ = ['../two_stage/two-stage_hrnet-w18-small_b6-2k_isbi19-256.py']

model = dict(
    _delete_=True,
    type='LandmarkDetector',
    landmark_set='isbi2015',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='ResNetBackbone', depth=34, pretrained=False),
    neck=dict(type='IdentityNeck'),
    head=dict(type='RegressionHead', hidden_channels=0, dropout=0.0),
    decoder=dict(type='RegressionDecoder'),
    # coordinates are normalised (0..1 across the input), so beta is a fraction of the image side
    loss=dict(type='SmoothL1CoordLoss', beta=0.01),
)
# the recipe's pipelines without the refine patches
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),
    dict(type='LetterboxResize', size=_base_.input_size, pad_value=0, cache_size=150),
    dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
    dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0),
    dict(type='PackLandmarkInputs'),
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='LetterboxResize', size=_base_.input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
