# One member of the 60-minute bf16 CPU ensemble (hrnet_w18_small_isbi_two_stage_60min_bf16_member.py) whose refine
# patches carry context channels: channel 0 the gray patch at 0.3 mm/px (the 19.2 mm window as before), channels
# 1 and 2 the same centre sampled 2 and 4 times coarser (0.6 and 1.2 mm/px: 38.4 and 76.8 mm windows). The patch
# tensor is the same 3 x 64 x 64, so the refine stage costs what it did; only the loader cuts two more levels
# (12.8 ms per image of 19 patches against 2.4 ms, 2-core AMD EPYC, 2026-11-28).
# Why: the landmarks that carry the Test1 mean lie on doubled or long contours (gonion 3.6, porion 2.8,
# articulare 2.5, soft-tissue pogonion 2.0 mm). From the truth the refine stage places them far better than from
# the global stage's estimate (gonion 2.66 against 3.57 mm, pogonion' 1.29 against 2.03; the stage analysis in the
# README): in a 19.2 mm window it cannot tell which contour, or which part of it, it is on, so it leans on where
# the patch was cut. Widening the window at a coarser pixel cost precision everywhere (..._wide.py); context
# channels widen it and keep the fine pixels.
#   zoo train configs/two_stage/hrnet_w18_small_isbi_two_stage_60min_bf16_context_member.py \
#       --minutes 18.5 --no-test --work-dir work_dirs/context_member1 --cfg-options randomness.seed=1
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_bf16_member.py']
patch_context = (2.0, 4.0)
model = dict(patch_context=patch_context)
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(context=patch_context)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
