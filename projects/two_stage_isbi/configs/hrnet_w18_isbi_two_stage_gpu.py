# Two-stage HRNet-W18 on ISBI 2015, the GPU configuration (full training):
#   global stage: HRNet-W18 on the cephalogram letterboxed to 512 px (~0.47 mm per input px), stride-4 heatmaps;
#   refine stage: HRNet-W18 on 128 px patches at 1.5 original px per patch px (0.15 mm/px, a 19 mm window)
#   around all 19 landmarks, stride-2 heatmaps (0.3 mm per heatmap px), two refine passes.
# Trained on TrainingData 001-130 with mixed precision, best checkpoint by MRE on 131-150; Test1 is never
# used for selection.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_isbi_two_stage_gpu.py --amp
_base_ = ['./hrnet_w18_small_isbi_two_stage.py']
input_size = (512, 512)
patch_size = 128
patch_scale = 1.5
w18 = dict(backbone=dict(type='HRNetBackbone', arch='hrnet_w18', pretrained=False), neck=dict(type='HRNetV2Neck'))
model = dict(patch_size=patch_size, patch_scale=patch_scale, global_stage=w18,
             refine_stage=dict(w18, head=dict(output_stride=2, sigma=2.0, channels=48)), test_cfg=dict(iters=2))
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, jitter=20.0, max_shift=0.6,
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
train_dataloader = dict(batch_size=16, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=10, num_workers=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=10, num_workers=2, dataset=dict(pipeline=test_pipeline))
max_iters = 1200
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=400)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=400, max_keep_ckpts=1), logger=dict(interval=50))
env_cfg = dict(cudnn_benchmark=True)
