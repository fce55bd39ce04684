# HRNet-W32 in the leaderboard's CPU setting: the W18 entry with the wider backbone, so the two differ in
# exactly one decision.
#   zoo leaderboard configs/leaderboard/*.py --data ../shared/data/isbi2015 --iters 300
_base_ = ['./hm_hrnet-w18_coord_b8_isbi19-256.py']
model = dict(backbone=dict(arch='hrnet_w32'))
