# The wide-window member of the mixed-window CPU ensemble (..._bf16_member_p25.py says why): 0.35 mm per patch px,
# a 22.4 mm refine window.
#   zoo train projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_bf16_member_p35.py --minutes 18.5 \
#       --no-test --work-dir work_dirs/bf16_member_p35 --cfg-options randomness.seed=3
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_bf16_member_p25.py']
patch_scale = 3.5
model = dict(patch_scale=patch_scale)
train_pipeline = _base_.train_pipeline
train_pipeline[1].update(patch_scale=patch_scale)
test_pipeline = _base_.test_pipeline
test_pipeline[1].update(patch_scale=patch_scale)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
