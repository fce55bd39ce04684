# Ablation: refine heatmaps at stride 4 (0.8 mm per heatmap px) instead of 2.
_base_ = ['./base.py']
model = dict(refine_stage=dict(head=dict(output_stride=4)))
