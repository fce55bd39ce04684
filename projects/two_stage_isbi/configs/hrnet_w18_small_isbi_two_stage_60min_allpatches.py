# The fast 60-minute CPU recipe (hrnet_w18_small_isbi_two_stage_60min_fast.py) with a patch for every landmark of
# every image at every step (19 instead of 8), as the GPU recipe does, and the iterations cut to keep the budget.
# Why: on Test1 the fast run's errors are per-landmark biases more than spread -- soft-tissue pogonion sits
# (-1.1, +1.6) mm off along the chin contour, A (-0.9, -1.0), porion (-0.4, +1.2) -- and Pog' moved from 1.73 to
# 2.23 to 2.44 mm between three runs of the same recipe, so the refine head's per-landmark channels look
# unsettled. Each channel saw ~2.5 patches per step with 8 of 19; now 6. The refine stage then costs ~0.78 s of a
# ~1.5 s step instead of 0.33 s, so 2000 iterations fit where 2900 did.
# Outcome (2026-11-27): 2000 iterations in 52.7 minutes (median 1.55 s each); validation 1.47 mm (best: the last);
# Test1 1.5405 mm, the best CPU figure so far and 0.04 mm short of the 1.5 mm CPU target (README, per landmark).
# With `--minutes 57` (TimeBudgetHook; the end of training follows the pace): 2145 iterations in 55.9 minutes,
# validation 1.435 mm (iteration 2000), Test1 1.5617 mm -- a second draw of this recipe, not nearer the target.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_allpatches.py
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_allpatches.py \
#       work_dirs/<run>/best_*.pth
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_fast.py']
max_iters = 2000
train_cfg = dict(max_iters=max_iters, val_interval=500)
param_scheduler = _base_.param_scheduler
param_scheduler[1].update(end=max_iters)
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(num_patches=None)  # None: every landmark
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
default_hooks = dict(checkpoint=dict(interval=500))
