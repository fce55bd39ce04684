# The 60-minute CPU budget used in full: the two-stage HRNet-W18-small of hrnet_w18_small_isbi_two_stage.py, trained
# for ~55 minutes on 2 CPU cores instead of 22, with the changes the first run and the H200 ablations pointed to:
#   - a wider refine window: 64 px patches at 3 original px per patch px (0.3 mm/px, a 19.2 mm window instead of
#     12.8 mm), since the first CPU run's worst landmarks (Go, Po, Ar, S) looked like coarse estimates falling
#     outside the 12.8 mm window (sella then went 2.78 -> 0.91 mm; gonion's Test1 error turned out to be a
#     systematic Test1-vs-training offset, README); the patch tensor, and so the refine stage's cost, is unchanged.
#   - patch-centre jitter of 3 mm per axis (the coarse stage's error at 256 px), clipped at 75 % of the half-window;
#   - soft-argmax decoding in the refine stage (the decoder its coordinate loss trains; the ablations' best decoder).
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min.py
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min.py work_dirs/<run>/best_*.pth
_base_ = ['./hrnet_w18_small_isbi_two_stage.py']
patch_scale = 3.0
model = dict(
    patch_scale=patch_scale,
    refine_stage=dict(decoder=dict(_delete_=True, type='SoftArgmaxDecoder', beta=20.0)),
)
train_pipeline = _base_.train_pipeline  # the base pipelines with the wider window and jitter
train_pipeline[1].update(patch_scale=patch_scale, jitter=30.0, max_shift=0.75)
test_pipeline = _base_.test_pipeline
test_pipeline[1].update(patch_scale=patch_scale)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
max_iters = 2200
train_cfg = dict(max_iters=max_iters, val_interval=550)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=550))
