# hrnet_w18_small_isbi_two_stage_gpu_g384.py with a larger global stage: HRNet-W18 (9.6 M backbone parameters, four
# blocks per branch) instead of W18-small, still at 384 px; the refine stage is unchanged (W18-small). Why: it asks
# whether the global stage's errors at the contour landmarks are the small network's capacity or the 130 training
# images; the two configs differ in that alone and train side by side on one GPU in the same job.
# Outcome (2026-11-28, GPU job 3, 7-minute budget beside two other configs): 1162 iterations, validation 1.468 mm,
# Test1 1.560 mm; its global stage alone 2.01 mm (W18-small: 2.10), the refine stage from the truth 1.39.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_isbi_two_stage_gpu_g384.py --amp --minutes 30
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_isbi_two_stage_gpu_g384.py work_dirs/<run>/best_*.pth
_base_ = ['./hrnet_w18_small_isbi_two_stage_gpu_g384.py']
model = dict(global_stage=dict(backbone=dict(arch='hrnet_w18')))
