# Tests the 60-minute CPU ensemble (three bf16 members, hrnet_w18_small_isbi_two_stage_60min_bf16_member.py) with
# each member's refine stage on the 9 test-time views of hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py.
# The ensemble checkpoint (`zoo ensemble`) tests without views as it is; this config only adds them.
# Also tried on the held-out 131-150 (2026-11-28): two refine passes over the views (`iters=2` in each member's
# test_cfg) 1.4055 mm against 1.3848 for one pass (`zoo test` with test_dataloader.dataset.split=train and
# indices=130:150). Not kept.
#   zoo ensemble work_dirs/bf16_member{1,2,3}/best_*.pth --out work_dirs/bf16_ensemble.pth
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_bf16_ensemble_tta.py \
#       work_dirs/bf16_ensemble.pth
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py']
member = _base_.model
model = dict(_delete_=True, type='EnsembleDetector', landmark_set=member['landmark_set'], members=[member] * 3,
             data_preprocessor=member['data_preprocessor'])
