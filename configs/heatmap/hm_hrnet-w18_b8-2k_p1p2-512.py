# HRNet-W18 heatmaps for the ruler points p1, p2 at 512 px: stride 4, sigma 2, MSE, DARK; batch 8, 2000 iterations.
#   zoo train configs/heatmap/hm_hrnet-w18_b8-2k_p1p2-512.py
_base_ = [
    '../_base_/models/hrnet_heatmap.py',
    '../_base_/datasets/p1p2.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(landmark_set='ruler', backbone=dict(arch='hrnet_w18'))
