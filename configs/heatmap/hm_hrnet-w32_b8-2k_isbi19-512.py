# HRNet-W32 heatmaps on ISBI 2015 (19 landmarks) at 512 px: stride 4, sigma 2, MSE, DARK; batch 8, 2000 iterations.
#   zoo train configs/heatmap/hm_hrnet-w32_b8-2k_isbi19-512.py
_base_ = [
    '../_base_/models/hrnet_heatmap.py',
    '../_base_/datasets/isbi2015.py',
    '../_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(landmark_set='isbi2015', backbone=dict(arch='hrnet_w32'))
