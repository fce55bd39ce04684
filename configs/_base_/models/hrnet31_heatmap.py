# The 31-landmark heatmap detector (ceph31 plugin): HRNet-W32, heatmaps at stride 2 of a 768 px input, sigma
# 1.5, MSE + 5 x L1 on soft-argmax coordinates + a small focal term, DARK decoding. Every part is written out
# here: a recipe changes a value (`backbone=dict(arch='hrnet_w48')`) or swaps a part whole (`_delete_=True`).
sigma = 1.5  # heatmap px: the target's Gaussian and DARK's modulation blur must agree
model = dict(
    type='HRNet31HeatmapDetector',
    landmark_set='ceph31',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='HRNetBackbone', arch='hrnet_w32', in_channels=3, pretrained=False),
    neck=dict(type='HRNetV2Neck'),
    # input px per heatmap px: 384 px heatmaps of a 768 px input
    head=dict(type='HeatmapHead', output_stride=2, sigma=sigma, channels=64),
    decoder=dict(type='DarkDecoder', blur_sigma=sigma),
    loss=dict(type='CombinedHeatmapCoordLoss', heatmap_loss=dict(type='HeatmapMSELoss'),
              coord_loss=dict(type='L1CoordLoss'), coord_weight=5.0, focal_weight=0.1, soft_argmax_beta=20.0),
)
