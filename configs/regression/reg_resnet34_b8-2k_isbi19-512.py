# ResNet-34 direct coordinate regression on ISBI 2015 at 512 px: the baseline the heatmap models must beat.
#   zoo train configs/regression/reg_resnet34_b8-2k_isbi19-512.py
_base_ = [
    '../_base_/models/resnet34_regression.py',
    '../_base_/datasets/isbi2015.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(landmark_set='isbi2015')
