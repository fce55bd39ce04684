# Ablation: refine-stage Gaussian sigma 1 heatmap px (0.4 mm) instead of 2.
_base_ = ['./base.py']
model = dict(refine_stage=dict(head=dict(sigma=1.0), decoder=dict(blur_sigma=1.0)))
