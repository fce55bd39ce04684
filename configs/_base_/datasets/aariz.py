# Aariz: 29 landmarks, per-image pixel size from cephalogram_machine_mappings.csv. Some Aariz images are
# ~95 MP: LoadCephalogram's reduced JPEG decoding keeps training fast.
dataset_type = 'AarizDataset'
# relative to the repository root; override with --cfg-options train_dataloader.dataset.data_root=...
# (and val_/test_dataloader). Layout: {Train,Valid,Test}/Cephalograms/<id>.(png|jpg),
# {split}/Annotations/Cephalometric Landmarks/{Senior,Junior} Orthodontists/<id>.json
data_root = 'data/Aariz'
landmark_set = 'aariz'
annotator = 'senior'
input_size = (512, 512)  # (W, H)

# the size-independent steps by name: a config at another input size rebuilds both pipelines from them
random_affine = dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0)
photometric_jitter = dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0)
random_blur = dict(type='RandomGaussianBlur', sigma=(0.1, 1.5), prob=0.3)
random_sharpness = dict(type='RandomSharpness', factor=(0.5, 2.0), prob=0.3)
pack_inputs = dict(type='PackLandmarkInputs')

train_pipeline = [
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.1, keep_gray=True),
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
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', annotator=annotator,
                 landmark_set=landmark_set, pipeline=train_pipeline),
    num_workers=2,
    persistent_workers=True,
    collate_fn=dict(type='pseudo_collate'),
)
val_dataloader = dict(
    batch_size=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='valid', annotator=annotator,
                 landmark_set=landmark_set, pipeline=test_pipeline, test_mode=True),
    num_workers=2,
    persistent_workers=True,
    collate_fn=dict(type='pseudo_collate'),
)
test_dataloader = dict(
    batch_size=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', annotator=annotator,
                 landmark_set=landmark_set, pipeline=test_pipeline, test_mode=True),
    num_workers=2,
    persistent_workers=True,
    collate_fn=dict(type='pseudo_collate'),
)
val_evaluator = dict(type='LandmarkMetric')
test_evaluator = val_evaluator
