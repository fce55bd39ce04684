# Ablation (test time, the baseline's checkpoint): refine heatmaps decoded by SoftArgmaxDecoder instead of DARK.
#   zoo test configs/two_stage/ablations/decode_soft_argmax.py BASELINE_CHECKPOINT
_base_ = ['./base.py']
model = dict(refine_stage=dict(decoder=dict(_delete_=True, type='SoftArgmaxDecoder')))
