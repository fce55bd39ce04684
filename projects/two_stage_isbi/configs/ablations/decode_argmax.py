# Ablation (test time, the baseline's checkpoint): refine heatmaps decoded by ArgmaxDecoder instead of DARK.
#   zoo test projects/two_stage_isbi/configs/ablations/decode_argmax.py BASELINE_CHECKPOINT
_base_ = ['./base.py']
model = dict(refine_stage=dict(decoder=dict(_delete_=True, type='ArgmaxDecoder')))
