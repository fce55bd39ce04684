# HRNet-W18 heatmaps for the ruler points p1, p2 at 512 px: stride 4, sigma 2, MSE, DARK decoding.
_base_ = [
    './_base_/models/hrnet_heatmap.py',
    './_base_/datasets/p1p2.py',
    './_base_/schedules/adamw_cosine.py',
    './_base_/default_runtime.py',
]
model = dict(landmark_set='ruler', backbone=dict(arch='hrnet_w18'))
