# AdamW with linear warm-up and cosine decay over a fixed number of iterations.
max_iters = 2000
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=500)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-6),
]
