# The quickstart trained on mirrored images half the time (RandomHorizontalFlip), so that flip testing applies:
# its test averages each prediction with the mirrored image's (test_cfg.flip_test). Flip testing a model trained
# without mirrors is wrong (a mirrored cephalogram faces the other way; README).
#   zoo train configs/quickstart_flip.py
_base_ = ['./quickstart.py']
train_pipeline = _base_.train_pipeline
train_pipeline.insert(2, dict(type='RandomHorizontalFlip', prob=0.5))  # after the letterbox, before the affine
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(test_cfg=dict(flip_test=True))
