# Runtime shared by every config: mmengine's Runner with the zoo's hooks.
default_scope = 'zoo'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keeps the latest two and the best by validation MRE (mm where the spacing is known)
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=2,
                    save_best='MRE', rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [dict(type='ZooCheckpointHook'), dict(type='NonFiniteLossHook')]

env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(by_epoch=False, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])

val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
