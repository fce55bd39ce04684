# hrnet_w18_small_isbi_two_stage_gpu_g384.py tested with the refine stage's 9 test-time views of the CPU recipe
# (hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py, chosen there on TrainingData 131-150): a 3x3 grid of
# patch centres 3.6 mm apart around the global stage's estimate -- 18 patch px at this config's 0.2 mm/px -- the
# 8 outer views turned by 6 degrees (corners one way, edge midpoints the other), the 9 answers averaged. Training is
# unchanged: a checkpoint of the g384 config is tested with this one.
# Outcome (2026-11-28): job 4's g384 checkpoint (README "GPU jobs 3 and 4"), Test1 1.533 -> 1.506 mm, SDR@2mm
# 76.1 -> 76.7 %; 242 s for Test1's 150 images on the 2-core VM.
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_gpu_g384_tta.py CHECKPOINT
_base_ = ['./hrnet_w18_small_isbi_two_stage_gpu_g384.py']
view_step = 18.0  # patch px between neighbouring views' centres (3.6 mm at 0.2 mm/px)
view_turn = 6.0  # degrees: corners -6, edge midpoints +6, centre 0
model = dict(test_cfg=dict(views=[dict(shift=(dx * view_step, dy * view_step),
                                       angle=0.0 if dx == dy == 0 else view_turn * (1 if (dx + dy) % 2 else -1))
                                  for dy in (-1, 0, 1) for dx in (-1, 0, 1)]))
