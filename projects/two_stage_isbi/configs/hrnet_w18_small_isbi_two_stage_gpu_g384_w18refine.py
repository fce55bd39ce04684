# hrnet_w18_small_isbi_two_stage_gpu_g384.py with a larger refine stage: HRNet-W18 instead of W18-small on the same
# 96 px patches. Why: the refine stage started from the truth is still 1.33-1.39 mm off on Test1 in the GPU runs
# (projects/two_stage_isbi/scripts/refine_oracle.py); this asks whether that is the small network's capacity.
# One of three refine-stage changes trained side by side with their baseline in one GPU job (README).
# Outcome (2026-11-28, GPU job 4, 3-minute budget): 456 iterations, validation 1.454 mm, Test1 1.583 mm against
# its baseline's 1.533; from the truth 1.29 against 1.31. Not kept.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_gpu_g384_w18refine.py --amp --minutes 30
_base_ = ['./hrnet_w18_small_isbi_two_stage_gpu_g384.py']
model = dict(refine_stage=dict(backbone=dict(arch='hrnet_w18')))
