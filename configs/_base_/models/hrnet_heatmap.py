# HRNet + HRNetV2 neck (all branches at stride 4, concatenated) + Gaussian heatmaps at stride 4,
# MSE, DARK decoding. Change `arch` for W18/W32/W48; the top-level config sets `landmark_set`.
sigma = 2.0  # heatmap px: the target's Gaussian and DARK's modulation blur must agree
model = dict(
    type='LandmarkDetector',
    landmark_set='isbi2015',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w18', pretrained=False),
    neck=dict(type='HRNetV2Neck'),
    head=dict(type='HeatmapHead', output_stride=4, sigma=sigma),
    decoder=dict(type='DarkDecoder', blur_sigma=sigma),
    loss=dict(type='HeatmapMSELoss'),
)
