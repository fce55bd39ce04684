# Ablation: super-resolution refine head, heatmaps at the patch's own resolution (stride 1, 0.2 mm per px).
_base_ = ['./base.py']
model = dict(refine_stage=dict(head=dict(output_stride=1, upsample='pixel_shuffle')))
