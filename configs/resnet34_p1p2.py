# ResNet-34 direct regression of the ruler points p1, p2 at 512 px (the seeds' note-A baseline, ~29 px there).
_base_ = [
    './_base_/models/resnet34_regression.py',
    './_base_/datasets/p1p2.py',
    './_base_/schedules/adamw_cosine.py',
    './_base_/default_runtime.py',
]
model = dict(landmark_set='ruler')
