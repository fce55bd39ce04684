# Direct coordinate regression with ResNet-34: global pooling, one linear layer, smooth L1 on normalised
# coordinates. The baseline the heatmap models must beat; the top-level config sets `landmark_set`.
model = dict(
    type='LandmarkDetector',
    landmark_set='isbi2015',
    data_preprocessor=dict(type='LandmarkDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], channels=3),
    backbone=dict(type='ResNetBackbone', depth=34, pretrained=False),
    neck=dict(type='IdentityNeck'),
    head=dict(type='RegressionHead', hidden_channels=0, dropout=0.0),
    decoder=dict(type='RegressionDecoder'),
    # coordinates are normalised (0..1 across the input), so beta is a fraction of the image side
    loss=dict(type='SmoothL1CoordLoss', beta=0.01),
)
