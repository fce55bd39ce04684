# Two-stage variant of the 31-landmark detector (29 Aariz landmarks + ruler p1/p2):
#   global stage: the seeds' HRNet-W32 heatmap detector at 512 px (heatmaps 256, stride 2);
#   refine stage: HRNet-W18 on 128 px patches at 1.5 original px per patch px, stride-2 heatmaps, one pass.
# Aariz images come at several resolutions, so the patch covers a different number of mm from one machine to
# the next; patch_scale is in original pixels because that is what every image has.
#   zoo train configs/two_stage/hrnet_w32_31lm_two_stage.py
_base_ = ['../_base_/datasets/ceph31.py', '../_base_/schedules/adamw_cosine.py', '../_base_/default_runtime.py']
input_size = (512, 512)
patch_size = 128
patch_scale = 1.5
model = dict(
    type='TwoStageDetector',
    landmark_set='ceph31',
    patch_size=patch_size,
    patch_scale=patch_scale,
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    global_stage=dict(type='HRNet31HeatmapDetector', arch='hrnet_w32', input_size=512, heatmap_size=256,
                      sigma=1.5),
    refine_stage=dict(backbone=dict(type='HRNetBackbone', arch='hrnet_w18', pretrained=False),
                      neck=dict(type='HRNetV2Neck'),
                      head=dict(type='HeatmapHead', output_stride=2, sigma=2.0, channels=48),
                      decoder=dict(type='DarkDecoder', blur_sigma=2.0),
                      loss=dict(type='CombinedHeatmapCoordLoss', coord_weight=5.0)),
    test_cfg=dict(iters=1, min_score=0.05),
)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, jitter=20.0, max_shift=0.6,
         rotate=10.0, scale=(0.9, 1.1), brightness=0.1, contrast=0.2, num_patches=12),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
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
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
