# Fine-tuning recipe for a handful of annotated images: the `isbi19` recipe on 18 ISBI images, 600 iterations.
#   zoo train configs/two_stage/two-stage_hrnet-w18-small_b6-ft_isbi19-18img-256.py --load-from isbi19
_base_ = ['./two-stage_hrnet-w18-small_b6-2k_isbi19-256.py']
max_iters = 600
# TrainingData 131-148: images the shipped model never trained on (it only picked its checkpoint with them)
train_dataloader = dict(dataset=dict(indices='130:148'))
val_dataloader = None  # 18 images leave none to validate on: the last checkpoint is the model
val_cfg = None
val_evaluator = None
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=2e-4))  # a tenth of the training recipe's: keep what the start model knows
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-6),
]
default_hooks = dict(checkpoint=dict(interval=max_iters, save_best=None, max_keep_ckpts=1))
