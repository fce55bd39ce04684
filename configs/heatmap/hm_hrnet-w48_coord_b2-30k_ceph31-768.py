# The 31-landmark detector with HRNet-W48, the accuracy choice of backbone; otherwise as the W32 recipe beside it.
#   zoo train configs/heatmap/hm_hrnet-w48_coord_b2-30k_ceph31-768.py
_base_ = [
    '../_base_/models/hrnet31_heatmap.py',
    '../_base_/datasets/ceph31.py',
    '../_base_/schedules/adam_cosine_restarts.py',
    '../_base_/default_runtime.py',
]
input_size = (768, 768)  # (W, H); the heatmaps are at stride 2
model = dict(backbone=dict(arch='hrnet_w48'))  # the base's heatmaps: stride 2, 384 px
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.25),
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
# batch 2: W48 at 768 px needs about twice W32's activation memory
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
