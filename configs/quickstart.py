# The quickstart: a small HRNet (W18-small) on built-in synthetic cephalograms with 31 landmarks,
# generated on first use. Trains and evaluates in under 10 minutes on 2 CPU cores and prints the report.
#   zoo train configs/quickstart.py
_base_ = [
    './_base_/models/hrnet_heatmap.py',
    './_base_/datasets/synthetic31.py',
    './_base_/schedules/adamw_cosine.py',
    './_base_/default_runtime.py',
]
model = dict(
    landmark_set='ceph31',
    backbone=dict(arch='hrnet_w18_small'),
    head=dict(output_stride=4, sigma=2.0),
)
max_iters = 300
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=150)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=150), logger=dict(interval=20))
# channels-last convolutions are 1.3-2x faster on CPU; the zoo's own hooks are added to every run
custom_hooks = [dict(type='ChannelsLastHook')]
