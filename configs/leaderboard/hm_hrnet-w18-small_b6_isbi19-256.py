# The shipped isbi19 recipe's global stage alone (HRNet-W18-small heatmaps at 256 px), same data, augmentation and
# schedule: the leaderboard's single-stage heatmap row, so the board shows what the refine stage adds.
#   zoo leaderboard --board isbi19 --rows hm_hrnet-w18-small --budget-minutes 10 --seeds 3
_base_ = ['../two_stage/two-stage_hrnet-w18-small_b6-2k_isbi19-256.py']

model = dict(
    _delete_=True,
    type='LandmarkDetector',
    landmark_set='isbi2015',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
    neck=dict(type='HRNetV2Neck'),
    head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
    decoder=dict(type='DarkDecoder', blur_sigma=2.0),
    loss=dict(type='CombinedHeatmapCoordLoss', coord_weight=5.0),
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
