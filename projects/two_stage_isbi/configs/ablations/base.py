# The ablation baseline (README "Ablations"): two-stage HRNet-W18-small, global stage at 256 px, refine stage
# on 96 px patches at 2 original px per patch px with stride-2 heatmaps (sigma 2), augmentation on.
# Every ablation changes one thing, trains for the same 500 iterations of batch 16 on TrainingData 001-130
# and is scored on the held-out TrainingData 131-150 (the "ablation split"; Test1 stays untouched).
#   python projects/two_stage_isbi/scripts/two_stage_device.py   (runs every row; see its docstring)
_base_ = ['../hrnet_w18_small_isbi_two_stage.py']
input_size = (256, 256)
patch_size = 96
patch_scale = 2.0
model = dict(patch_size=patch_size, patch_scale=patch_scale,
             refine_stage=dict(head=dict(output_stride=2, sigma=2.0, channels=32)), test_cfg=dict(iters=2))
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, jitter=25.0, max_shift=0.6,
         rotate=10.0, scale=(0.9, 1.1), brightness=0.1, contrast=0.2, num_patches=None),
    dict(type='LetterboxResize', size=input_size, pad_value=0, cache_size=150),
    dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
    dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0),
    dict(type='PackLandmarkInputs'),
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, test_mode=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
train_dataloader = dict(batch_size=16, num_workers=3, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=10, num_workers=1, dataset=dict(pipeline=test_pipeline))
# the ablation split (TrainingData 131-150), not Test1
test_dataloader = dict(batch_size=10, num_workers=1,
                       dataset=dict(split='train', indices='130:150', pipeline=test_pipeline))
max_iters = 500
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=500)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=1, save_best=None), logger=dict(interval=50))
env_cfg = dict(cudnn_benchmark=True)
