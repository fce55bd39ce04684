# A member of a 60-minute CPU ensemble whose members look through different refine windows: the bf16 member
# (hrnet_w18_small_isbi_two_stage_60min_bf16_member.py) with 0.25 mm per patch px (a 16 mm window) instead of 0.3
# (19.2 mm). Its sibling ..._bf16_member_p35.py looks through 22.4 mm; the plain member through 19.2.
# Why: three members of one recipe averaged gained 0.045 mm on Test1 (1.5249 against 1.56-1.58 alone), and the
# refine stage's 9 test-time views added only 0.01 more: the members' errors are largely the same errors. Members
# that see each landmark at different scales should err less alike; the ensemble already keeps a refine spec per
# member, so their windows may differ.
# Outcome (2026-11-28, 2-core AMD EPYC with AVX512-BF16): p25 (seed 2) 1871 iterations and p35 (seed 3) 1832, 18.3
# minutes each; validation (131-150) 1.5615 / 1.3959 / 1.4118 mm for p25 (its pick: iteration 1400, the lowest of any
# member) and 1.6262 / 1.5564 / 1.5010 for p35. Test1 alone 1.6019 and 1.5823 mm. With the plain seed-1 member
# (1.5646) as the third (..._bf16_windows_ensemble_tta.py): validation 1.3962 mm one view, 1.3775 with views,
# against 1.4276 / 1.3848 for the three plain members; Test1 1.5305 one view and 1.5218 with views, against 1.5249 /
# 1.5152. Not kept: the members did not err less alike on Test1, and validation ranked p25 first and Test1 last.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_bf16_member_p25.py --minutes 18.5 \
#       --no-test --work-dir work_dirs/bf16_member_p25 --cfg-options randomness.seed=2
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_bf16_member.py']
patch_scale = 2.5
model = dict(patch_scale=patch_scale)
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(patch_scale=patch_scale)
test_pipeline = _base_.test_pipeline
test_pipeline[1].update(patch_scale=patch_scale)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
