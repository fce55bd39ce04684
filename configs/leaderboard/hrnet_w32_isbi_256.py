# HRNet-W32 heatmaps (stride 4, sigma 2, MSE, DARK) on ISBI 2015 at 256 px: the W18 leaderboard setting
# with the wider backbone, so the two differ in exactly one decision.
_base_ = ['./hrnet_w18_isbi_256.py']
model = dict(backbone=dict(arch='hrnet_w32'))
