# HRNet-W18 heatmaps (stride 4, sigma 2, DARK) on ISBI 2015 at 256 px, trained with MSE + 5 x L1 on
# soft-argmax coordinates: MSE alone sits on its all-zero plateau for hundreds of iterations (the
# 50-iteration leaderboard of 2026-11-27), the coordinate term pulls every peak towards its landmark from
# the first step.
# The leaderboard's CPU setting: ISBI 2015 at 256 px input (letterbox, 0.1 mm/px -> ~0.94 mm per input px),
# batch 8. The schedule's length is set by `zoo leaderboard` (--iters / --budget-minutes), equal for all.
# Changing input_size means redefining the pipelines: mmengine evaluated the base's lists with 512 px.
_base_ = ['../hrnet_w18_isbi.py']
model = dict(loss=dict(_delete_=True, type='CombinedHeatmapCoordLoss', coord_weight=5.0))
input_size = (256, 256)  # (W, H)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.1, keep_gray=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
    dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0),
    dict(type='RandomGaussianBlur', sigma=(0.1, 1.5), prob=0.3),
    dict(type='RandomSharpness', factor=(0.5, 2.0), prob=0.3),
    dict(type='PackLandmarkInputs'),
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
# the naive CPU baseline's rate (ANCHORS.md), the same for every model: short schedules want it
optim_wrapper = dict(optimizer=dict(lr=2e-3))
# one loader worker: the machine has two cores and the model needs them
train_dataloader = dict(batch_size=8, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
