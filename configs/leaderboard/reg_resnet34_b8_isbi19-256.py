# ResNet-34 direct coordinate regression, ISBI 2015 at 256 px, batch 8: the leaderboard's baseline in its CPU
# setting; `zoo leaderboard` sets the schedule's length for every model alike.
#   zoo leaderboard configs/leaderboard/*.py --data ../shared/data/isbi2015 --iters 300
_base_ = [
    '../_base_/models/resnet34_regression.py',
    '../_base_/datasets/isbi2015.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(landmark_set='isbi2015')
input_size = (256, 256)  # (W, H): 0.1 mm/px letterboxed to ~0.94 mm per input px
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.1, keep_gray=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    _base_.random_affine,
    _base_.photometric_jitter,
    _base_.random_blur,
    _base_.random_sharpness,
    _base_.pack_inputs,
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    _base_.pack_inputs,
]
optim_wrapper = dict(optimizer=dict(lr=2e-3))  # one rate for every model: short schedules want it high
# one loader worker: on a 2-core machine the model needs the other core
train_dataloader = dict(batch_size=8, num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
