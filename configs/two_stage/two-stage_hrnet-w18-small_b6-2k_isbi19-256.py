# The shipped `isbi19` model: two-stage HRNet-W18-small (global stage at 256 px, refine stage on 64 px patches at
# native resolution), batch 6 for 2000 iterations in bf16 on a CPU; ISBI 2015 TrainingData, 19 landmarks.
#   zoo train configs/two_stage/two-stage_hrnet-w18-small_b6-2k_isbi19-256.py --work-dir work_dirs/isbi19
_base_ = ['../_base_/datasets/isbi2015.py', '../_base_/default_runtime.py']

input_size = (256, 256)  # (W, H) of the global stage's letterboxed image
patch_size = 64  # refine patch side, patch px
patch_scale = 3.0  # original px per patch px: a 19.2 mm window at 0.1 mm/px
max_iters = 2000

hrnet_w18_small = dict(backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
                       neck=dict(type='HRNetV2Neck'))
heatmap_loss = dict(type='CombinedHeatmapCoordLoss', coord_weight=5.0)
# the refine stage's test-time views: 3x3 centres 12 patch px apart, the outer 8 turned +-6 degrees
views = [dict(shift=(dx * 12.0, dy * 12.0), angle=0.0 if dx == dy == 0 else (6.0 if (dx + dy) % 2 else -6.0))
         for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
model = dict(
    type='TwoStageDetector',
    landmark_set='isbi2015',
    patch_size=patch_size,
    patch_scale=patch_scale,
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    global_stage=dict(hrnet_w18_small, head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
                      decoder=dict(type='DarkDecoder', blur_sigma=2.0), loss=heatmap_loss),
    refine_stage=dict(hrnet_w18_small, head=dict(type='HeatmapHead', output_stride=2, sigma=2.0, channels=32),
                      decoder=dict(type='SoftArgmaxDecoder', beta=20.0), loss=heatmap_loss),
    test_cfg=dict(iters=1, min_score=0.05, views=views),
)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),  # full resolution: the patches need it
    # every landmark's patch, cut around the truth moved by about the global stage's error (3 mm per axis)
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, jitter=30.0, max_shift=0.75,
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
# TrainingData 001-130 trains, 131-150 picks the checkpoint; Test1 is used once, at the end
train_dataloader = dict(batch_size=6, num_workers=1, persistent_workers=True,
                        dataset=dict(indices='0:130', pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True,
                      dataset=dict(split='train', indices='130:150', test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True,
                       dataset=dict(split='test1', test_mode=True, pipeline=test_pipeline))

train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=500)
optim_wrapper = dict(type='CPUAutocastOptimWrapper',  # bf16 autocast on a CPU that has it; AMP on CUDA
                     optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4, fused=True),
                     clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=500), logger=dict(interval=20))
custom_hooks = [dict(type='ChannelsLastHook')]  # the zoo's own hooks are added to every run
