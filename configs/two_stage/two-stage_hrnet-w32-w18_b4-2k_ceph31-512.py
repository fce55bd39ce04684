# Two-stage 31-landmark detector (Aariz 29 + ruler p1, p2): the HRNet-W32 heatmap detector at 512 px finds each
# landmark, an HRNet-W18 refine stage on 128 px native-resolution patches places it; batch 4, 2000 iterations.
#   zoo train configs/two_stage/two-stage_hrnet-w32-w18_b4-2k_ceph31-512.py
_base_ = ['../_base_/datasets/ceph31.py', '../_base_/schedules/adamw_cosine.py', '../_base_/default_runtime.py']
input_size = (512, 512)  # (W, H) of the global stage's letterboxed image
patch_size = 128  # refine patch side, patch px
# original px per patch px: Aariz images come at several resolutions, so a patch covers a different number of mm
# from one machine to the next; original pixels are what every image has
patch_scale = 1.5
global_sigma = 1.5  # global heatmap px, for the target and DARK's blur alike
refine_sigma = 2.0  # refine heatmap px: the target's Gaussian and DARK's blur agree
model = dict(
    type='TwoStageDetector',
    landmark_set='ceph31',
    patch_size=patch_size,
    patch_scale=patch_scale,
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    # the 31-landmark heatmap detector's parts (configs/_base_/models/hrnet31_heatmap.py), heatmaps at 256 px
    global_stage=dict(type='HRNet31HeatmapDetector',
                      backbone=dict(type='HRNetBackbone', arch='hrnet_w32', in_channels=3, pretrained=False),
                      neck=dict(type='HRNetV2Neck'),
                      head=dict(type='HeatmapHead', output_stride=2, sigma=global_sigma, channels=64),
                      decoder=dict(type='DarkDecoder', blur_sigma=global_sigma),
                      loss=dict(type='CombinedHeatmapCoordLoss', heatmap_loss=dict(type='HeatmapMSELoss'),
                                coord_loss=dict(type='L1CoordLoss'), coord_weight=5.0, focal_weight=0.1,
                                soft_argmax_beta=20.0)),
    refine_stage=dict(backbone=dict(type='HRNetBackbone', arch='hrnet_w18', pretrained=False),
                      neck=dict(type='HRNetV2Neck'),
                      head=dict(type='HeatmapHead', output_stride=2, sigma=refine_sigma, channels=48),
                      decoder=dict(type='DarkDecoder', blur_sigma=refine_sigma),
                      loss=dict(type='CombinedHeatmapCoordLoss', coord_weight=5.0)),
    test_cfg=dict(iters=1, min_score=0.05),
)
# the refine patches cut at 0.7-1.4 times their pixel size: the predictor reads each image at the training images'
# median pixel size, and these come from several machines, or from an estimate when an image's is unknown (#39)
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, jitter=20.0, max_shift=0.6,
         rotate=10.0, scale=(0.7, 1.4), brightness=0.1, contrast=0.2, num_patches=12),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    _base_.random_affine,
    _base_.photometric_jitter,
    _base_.pack_inputs,
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='RefinePatches', patch_size=patch_size, patch_scale=patch_scale, test_mode=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    _base_.pack_inputs,
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
