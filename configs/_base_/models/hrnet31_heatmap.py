# The 31-landmark heatmap detector (ceph31 plugin): HRNet-W32, heatmaps at stride 2 of a 768 px input, sigma 1.5,
# MSE + 5 x L1 on soft-argmax coordinates + a small focal term, DARK decoding. Its defaults live in the plugin;
# the keywords below are the ones people change (the plugin derives head, target and decoder from them).
model = dict(
    type='HRNet31HeatmapDetector',
    arch='hrnet_w32',
    landmark_set='ceph31',
    input_size=768,
    heatmap_size=384,
    sigma=1.5,
    coord_weight=5.0,
    focal_weight=0.1,
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
)
