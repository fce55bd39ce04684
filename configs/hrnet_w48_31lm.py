# The 31-landmark HRNet-W48 detector, by its short name (heatmap/hm_hrnet-w48_coord_b2-30k_ceph31-768.py).
#   python tools/train.py configs/hrnet_w48_31lm.py
_base_ = ['./heatmap/hm_hrnet-w48_coord_b2-30k_ceph31-768.py']
