# The 31-landmark detector with HRNet-W48 (note B's accuracy choice of backbone); otherwise as hrnet_w32_31lm.
_base_ = [
    './_base_/models/hrnet31_heatmap.py',
    './_base_/datasets/ceph31.py',
    './_base_/schedules/adam_cosine_restarts.py',
    './_base_/default_runtime.py',
]
model = dict(arch='hrnet_w48', input_size=768, heatmap_size=384)
input_size = (768, 768)  # (W, H); the dataset base's pipelines are rebuilt for it below
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.25),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
    dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0),
    dict(type='RandomGaussianBlur', sigma=(0.1, 1.5), prob=0.3),
    dict(type='RandomSharpness', factor=(0.5, 2.0), prob=0.3),
    dict(type='PackLandmarkInputs'),
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    dict(type='PackLandmarkInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
