# One of three members of a 60-minute CPU ensemble: the bf16 recipe
# (hrnet_w18_small_isbi_two_stage_60min_bf16.py) on a third of the budget each, one seed per member, trained one
# after another; their landmarks are averaged.
# Why: the bf16 run (57 minutes, 6326 iterations, three times the fp32 recipe's) did not beat the 2000-iteration
# fp32 runs on Test1 (1.5828 mm one view, 1.5177 with the 9 views, for validation's pick at iteration 3200): the
# recipe stops improving near 2000 iterations, and its runs differ by ~0.05 mm from one draw to the next. On the
# H200 the mean of three runs' landmarks was 1.49 mm against 1.53-1.58 for the runs alone. bf16 makes three
# 2000-iteration runs fit where one fp32 run did.
# Outcome (2026-11-28): 1946 / 1842 / 1907 iterations, 54.9 minutes for the three; Test1 1.5646 / 1.5845 /
# 1.5595 mm alone, 1.5249 averaged (`zoo ensemble`), 1.5152 with each member's 9 refine views.
#   for s in 1 2 3; do zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_bf16_member.py \
#       --minutes 18.5 --no-test --work-dir work_dirs/bf16_member$s --cfg-options randomness.seed=$s; done
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_bf16.py']
max_iters = 2100
train_cfg = dict(max_iters=max_iters, val_interval=700)
param_scheduler = _base_.param_scheduler
param_scheduler[1].update(end=max_iters)
default_hooks = dict(checkpoint=dict(interval=700))
