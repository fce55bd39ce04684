# hrnet_w18_small_isbi_two_stage_gpu_g384.py with finer refine patches: 128 px at 1.5 original px per patch px
# (0.15 mm/px) instead of 96 px at 2 (0.2 mm/px) -- the same 19.2 mm window. Why: the refine stage started from
# the truth is still 1.33-1.39 mm off on Test1 in the GPU runs (scripts/refine_oracle.py); this asks whether the
# patch's resolution limits it. The jitter (in original px) and its clip are unchanged.
# One of three refine-stage changes trained side by side with their baseline in one GPU job (README).
# Outcome (2026-11-28, GPU job 4, 3-minute budget): 658 iterations, validation 1.455 mm, Test1 1.533 mm, level with
# its baseline (1.533); from the truth 1.35 against 1.31.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_gpu_g384_p128.py --amp --minutes 30
_base_ = ['./hrnet_w18_small_isbi_two_stage_gpu_g384.py']
patch_size = 128
patch_scale = 1.5
model = dict(patch_size=patch_size, patch_scale=patch_scale)
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(patch_size=patch_size, patch_scale=patch_scale)
test_pipeline = _base_.test_pipeline
test_pipeline[1].update(patch_size=patch_size, patch_scale=patch_scale)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
