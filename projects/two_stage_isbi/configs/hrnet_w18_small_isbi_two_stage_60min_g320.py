# The all-patches 60-minute CPU recipe with the refine views (hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py)
# and the global stage at 320 px instead of 256 (0.75 mm per input px instead of 0.94), on a 56-minute budget.
# Why: porion, articulare and gonion carry the Test1 mean, and on the held-out 131-150 their *coarse* estimates are
# 3.5-3.9 mm off (mean of all 19: 2.03 mm), too far for the refine window to settle them; the H200 ablations' best
# row was the global stage at 384 px. The 1.56x global-stage pixels cost iterations; `--minutes` sizes the schedule.
# Validation runs with the views, as the test does.
# Outcome (2026-11-28, 2-core VM): 1642 iterations in 55.2 minutes (2.0 s each against 1.5 at 256 px); validation
# 1.573 / 1.451 / 1.418 / 1.4135 mm, above both 256 px checkpoints with the same views (1.397, 1.365); Test1
# 1.5447 mm against their 1.5106 / 1.5272. Fewer iterations cost more than the finer global stage gave.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_g320.py --minutes 56
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py']
input_size = (320, 320)
train_pipeline = _base_.train_pipeline
train_pipeline[2].update(size=input_size)
test_pipeline = _base_.test_pipeline
test_pipeline[2].update(size=input_size)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
