# Quickstart data: synthetic lateral cephalograms with the project's 31 landmarks (Aariz 29 + ruler p1, p2),
# generated on first use into data_cache/synthetic31 in the repository root (gitignored) and reused after.
# Same layout and reader (Ceph31Dataset) as real 31-landmark data; per-image pixel spacing ~0.4 mm/px.
dataset_type = 'Ceph31Dataset'
# `zoo data synth OUT --n 200` makes such a set anywhere; point data_root at it with
# --cfg-options train_dataloader.dataset.data_root=OUT (and val_/test_dataloader)
data_root = 'data_cache/synthetic31'
landmark_set = 'ceph31'
ruler_mm = 30.0  # the synthetic ruler's p1-p2 distance (zoo.data.synthetic.RULER_MM)
synthesize = dict(n=200, seed=0, size=(512, 640))  # 160 train / 20 valid / 20 test, 512x640 px
input_size = (256, 256)  # (W, H)

# the size-independent steps by name: a config at another input size rebuilds both pipelines from them
random_affine = dict(type='RandomAffine', rotate=8.0, scale=(0.9, 1.1), translate=0.04, prob=1.0)
photometric_jitter = dict(type='PhotometricJitter', brightness=0.15, contrast=0.2, prob=1.0)
random_blur = dict(type='RandomGaussianBlur', sigma=(0.1, 1.0), prob=0.3)
random_sharpness = dict(type='RandomSharpness', factor=(0.5, 2.0), prob=0.3)
pack_inputs = dict(type='PackLandmarkInputs')

train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    random_affine, photometric_jitter, random_blur, random_sharpness, pack_inputs,
]
test_pipeline = [
    dict(type='LoadCephalogram', channels=3),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    pack_inputs,
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', landmark_set=landmark_set,
                 synthesize_if_missing=synthesize, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='valid', landmark_set=landmark_set,
                 synthesize_if_missing=synthesize, pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', landmark_set=landmark_set,
                 synthesize_if_missing=synthesize, pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='LandmarkMetric')
test_evaluator = val_evaluator
