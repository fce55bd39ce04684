# The 31-landmark schedule: Adam, cosine annealing with warm restarts, gradient clipping.
max_iters = 30000
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=1000)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-5), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='CosineRestartLR', by_epoch=False, begin=500, end=max_iters,
         periods=[2500, 5000, 7500, 14500], restart_weights=[1.0, 0.8, 0.6, 0.4], eta_min=1e-6),
]
