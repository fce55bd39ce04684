# ISBI 2015 lateral cephalograms: 19 landmarks, 0.1 mm/px. Train on TrainingData (150), validate and test
# on Test1Data (150), senior annotation. A config that changes `input_size` rebuilds the pipelines and hands
# them to the dataloaders: mmengine evaluates them here, once.
dataset_type = 'ISBI2015Dataset'
# relative to the repository root (not the working folder); override it with
# --cfg-options train_dataloader.dataset.data_root=... (and val_/test_dataloader)
data_root = '../shared/data/isbi2015'
landmark_set = 'isbi2015'
annotator = 'senior'
input_size = (512, 512)  # (W, H)

# the size-independent steps by name: a config at another input size rebuilds both pipelines from them
random_affine = dict(type='RandomAffine', rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0)
photometric_jitter = dict(type='PhotometricJitter', brightness=0.2, contrast=0.25, prob=1.0)
random_blur = dict(type='RandomGaussianBlur', sigma=(0.1, 1.5), prob=0.3)
random_sharpness = dict(type='RandomSharpness', factor=(0.5, 2.0), prob=0.3)
pack_inputs = dict(type='PackLandmarkInputs')

train_pipeline = [
    # decodes the 1935x2400 JPEG at 1/4 (exact warp): 484x600, above the letterbox even zoomed 1.1x
    dict(type='LoadCephalogram', channels=3, target_size=input_size, reduce_margin=1.1, keep_gray=True),
    dict(type='LetterboxResize', size=input_size, pad_value=0),
    random_affine, photometric_jitter, random_blur, random_sharpness, pack_inputs,
]
# full-resolution decode + letterbox: exactly what the predictor does when serving
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
    dataset=dict(type=dataset_type, data_root=data_root, split='train', annotator=annotator,
                 landmark_set=landmark_set, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test1', annotator=annotator,
                 landmark_set=landmark_set, pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='LandmarkMetric')
test_evaluator = val_evaluator
