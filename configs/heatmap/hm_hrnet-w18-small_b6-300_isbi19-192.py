# HRNet-W18-small heatmaps on ISBI 2015 at 192 px, batch 6 for 300 iterations: the short real-data recipe for
# a small CPU. Trained on TrainingData, evaluated once at the end on Test1Data (no model selection on Test1).
#   zoo train configs/heatmap/hm_hrnet-w18-small_b6-300_isbi19-192.py
_base_ = [
    '../_base_/models/hrnet_heatmap.py',
    '../_base_/datasets/isbi2015.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(landmark_set='isbi2015', backbone=dict(arch='hrnet_w18_small'))
input_size = (192, 192)  # (W, H)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.25),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    _base_.random_affine,
    _base_.photometric_jitter,
    _base_.pack_inputs,
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    _base_.pack_inputs,
]
train_dataloader = dict(batch_size=6, num_workers=1, persistent_workers=True, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_iters = 300
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=300)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=300), logger=dict(interval=20))
