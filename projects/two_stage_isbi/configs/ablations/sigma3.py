# Ablation: refine-stage Gaussian sigma 3 heatmap px (1.2 mm) instead of 2.
_base_ = ['./base.py']
model = dict(refine_stage=dict(head=dict(sigma=3.0), decoder=dict(blur_sigma=3.0)))
