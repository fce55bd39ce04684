# hrnet_w18_small_isbi_two_stage_gpu_g384.py with a super-resolution refine head: heatmaps at the patch's own
# resolution (stride 1, 0.2 mm per heatmap px, pixel-shuffle upsampling) instead of stride 2. Why: on Test1 the GPU
# runs' refine stage started from the truth is still 1.33-1.39 mm off (scripts/refine_oracle.py), whatever the
# global stage (2.57 mm at 256 px, 2.01 with HRNet-W18 at 384 px): the refine stage itself now limits the error.
# One of three refine-stage changes trained side by side with their baseline in one GPU job (README).
# Outcome (2026-11-28, GPU job 4, 3-minute budget): 755 iterations, validation 1.425 mm (the best of the job),
# Test1 1.558 mm against its baseline's 1.533; from the truth 1.33 against 1.31.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_gpu_g384_stride1.py --amp --minutes 30
_base_ = ['./hrnet_w18_small_isbi_two_stage_gpu_g384.py']
model = dict(refine_stage=dict(head=dict(output_stride=1, upsample='pixel_shuffle')))
