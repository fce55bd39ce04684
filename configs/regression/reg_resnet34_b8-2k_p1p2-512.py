# ResNet-34 direct regression of the ruler points p1, p2 at 512 px: the baseline for the ruler detector.
#   zoo train configs/regression/reg_resnet34_b8-2k_p1p2-512.py
_base_ = [
    '../_base_/models/resnet34_regression.py',
    '../_base_/datasets/p1p2.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(landmark_set='ruler')
