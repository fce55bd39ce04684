# Your own images, from scratch, fewer than 50 of them: `zoo train --data` picks it when no start model shares a
# landmark, and puts your images where these ISBI stand-ins are (TrainingData 131-144 train, 145-148 validate).
#   zoo train --data my_export.json --from none
_base_ = ['./two-stage_hrnet-w18-small_b6-2k_isbi19-256.py']
max_iters = 600
val_interval = 100
train_dataloader = dict(dataset=dict(indices='130:144'))
val_dataloader = dict(dataset=dict(indices='144:148'))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
optim_wrapper = dict(optimizer=dict(lr=1e-3))  # half the 2000-iteration recipe's: a short run on few images
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-6),
]
# the checkpoint kept is the one that reads the validation images best
default_hooks = dict(checkpoint=dict(interval=val_interval, save_best='MRE', rule='less', max_keep_ckpts=1))
