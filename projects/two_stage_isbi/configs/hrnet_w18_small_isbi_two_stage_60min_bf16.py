# The all-patches 60-minute CPU recipe (hrnet_w18_small_isbi_two_stage_60min_allpatches.py) trained in bf16
# autocast (CPUAutocastOptimWrapper, zoo/engine/cpu_autocast.py) on a CPU with native bf16, the time it saves
# spent on iterations: the recipe under-fits (1.11 mm on its own training images), so iterations are what it
# lacks. Weights, gradients and AdamW stay fp32; validation and testing run in fp32.
# Why: on the 2-core AMD EPYC with AVX512-BF16 (2026-11-28) one training step of the all-patches recipe took
# 0.67 s in bf16 against 1.05 s in fp32 (benchmarks/cpu_bf16_step.py: same batch, interleaved, median of 6).
# On a CPU without native bf16 the wrapper is slower than fp32; `zoo train --amp` picks it only where the CPU
# has bf16 (native_bf16()).
# max_iters is a first guess: trained with `--minutes 57`, TimeBudgetHook moves the end (and the cosine's) to
# what the machine's pace fits, validations included.
# Outcome (2026-11-28, at 33a1c16, loss still in bf16): 6326 iterations in 55.9 minutes; validation's pick
# (iteration 3200, 1.416 mm) 1.5828 mm on Test1, 1.5177 with the 9 refine views: no better than the fp32
# recipe's 2000 iterations. The time went into three averaged runs next (..._bf16_member.py).
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_bf16.py --minutes 57
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py \
#       work_dirs/<run>/best_*.pth
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_allpatches.py']
max_iters = 3200
train_cfg = dict(max_iters=max_iters, val_interval=800)
param_scheduler = _base_.param_scheduler
param_scheduler[1].update(end=max_iters)
optim_wrapper = dict(type='CPUAutocastOptimWrapper')
default_hooks = dict(checkpoint=dict(interval=800))
