# The quickstart trained on mirrored images half the time, so that flip testing (test_cfg.flip_test) applies:
# a model trained without mirrors must not be flip tested (a mirrored cephalogram faces the other way).
#   zoo train configs/heatmap/hm_hrnet-w18-small_flip_b8-300_synth31-256.py
_base_ = ['../quickstart.py']
# the quickstart's steps, with the mirror after the letterbox and before the affine
train_pipeline = [
    dict(type='LoadCephalogram', channels=3, keep_gray=True),
    dict(type='LetterboxResize', size=_base_.input_size, pad_value=0),
    dict(type='RandomHorizontalFlip', prob=0.5),
    _base_.random_affine,
    _base_.photometric_jitter,
    _base_.random_blur,
    _base_.random_sharpness,
    _base_.pack_inputs,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(test_cfg=dict(flip_test=True))
