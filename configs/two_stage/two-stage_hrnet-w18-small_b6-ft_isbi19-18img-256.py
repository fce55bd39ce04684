# Fine-tuning recipe for a handful of annotated images: the `isbi19` recipe on 18 ISBI images, no validation split.
#   zoo train configs/two_stage/two-stage_hrnet-w18-small_b6-ft_isbi19-18img-256.py --load-from isbi19 --minutes 10
_base_ = ['./two-stage_hrnet-w18-small_b6-2k_isbi19-256.py']
# TrainingData 131-148: images the shipped model never trained on (it only picked its checkpoint with them)
train_dataloader = dict(dataset=dict(indices='130:148'))
val_dataloader = None  # 18 images leave none to validate on: the last checkpoint is the model
val_cfg = None
val_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(checkpoint=dict(save_best=None, max_keep_ckpts=1))
