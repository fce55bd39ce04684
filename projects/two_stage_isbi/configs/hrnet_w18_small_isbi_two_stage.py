# Two-stage HRNet-W18-small on ISBI 2015 (the CPU-budget accuracy config):
#   global stage: the whole cephalogram letterboxed to 256 px (~0.94 mm per input px), heatmaps at stride 4;
#   refine stage: 64 px patches at 2 original px per patch px (0.2 mm/px, a 12.8 mm window) around each
#   landmark, heatmaps at stride 2 (0.4 mm per heatmap px), DARK sub-pixel decoding, one pass (the H200
#   ablations: one pass did as well as two). 64 px patches keep the refine stage's cost near the global
#   stage's (19 patches of 64 px are 2.15 GFLOPs against 1.62 for the 256 px image).
# Trained on TrainingData 001-130, validated on 131-150 (model selection never sees Test1), tested on Test1.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage.py
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage.py work_dirs/<run>/best_*.pth
_base_ = ['../../../configs/_base_/datasets/isbi2015.py', '../../../configs/_base_/schedules/adamw_cosine.py',
          '../../../configs/_base_/default_runtime.py']
input_size = (256, 256)  # (W, H) of the global stage
patch_size = 64
patch_scale = 2.0
tiny = dict(backbone=dict(type='HRNetBackbone', arch='hrnet_w18_small', pretrained=False),
            neck=dict(type='HRNetV2Neck'))
model = dict(
    type='TwoStageDetector',
    landmark_set='isbi2015',
    patch_size=patch_size,
    patch_scale=patch_scale,
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    global_stage=dict(tiny, head=dict(type='HeatmapHead', output_stride=4, sigma=2.0),
                      decoder=dict(type='DarkDecoder', blur_sigma=2.0),
                      loss=dict(type='CombinedHeatmapCoordLoss', coord_weight=5.0)),
    refine_stage=dict(tiny, head=dict(type='HeatmapHead', output_stride=2, sigma=2.0, channels=32),
                      decoder=dict(type='DarkDecoder', blur_sigma=2.0),
                      loss=dict(type='CombinedHeatmapCoordLoss', coord_weight=5.0)),
    test_cfg=dict(iters=1, min_score=0.05),
)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True, cache_size=150),  # full resolution: the patches need it
    # jitter ~ the global stage's error (2 mm); 8 of the 19 landmarks per image and iteration
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, jitter=20.0, max_shift=0.7,
         rotate=10.0, scale=(0.9, 1.1), brightness=0.1, contrast=0.2, num_patches=8),
    dict(type='LetterboxResize', size=input_size, pad_value=0, cache_size=150),  # the same 256 px image each epoch
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
train_dataloader = dict(batch_size=6, num_workers=1, persistent_workers=True,
                        dataset=dict(indices='0:130', pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True,
                      dataset=dict(split='train', indices='130:150', test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(batch_size=8, num_workers=1, persistent_workers=True,
                       dataset=dict(split='test1', test_mode=True, pipeline=test_pipeline))
max_iters = 900
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=450)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=450), logger=dict(interval=20))
