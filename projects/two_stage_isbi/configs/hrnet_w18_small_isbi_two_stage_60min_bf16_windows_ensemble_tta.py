# Tests the mixed-window 60-minute CPU ensemble -- the bf16 member at 0.3 mm per patch px (seed 1), ..._p25.py at
# 0.25 (seed 2) and ..._p35.py at 0.35 (seed 3), in that order -- with each member's refine stage on the 9
# test-time views of hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py (their steps are patch px, so each
# member's views cover the same fraction of its own window).
# Outcome (2026-11-28): Test1 1.5218 mm (SDR 75.6 / 82.6 / 87.0 / 92.3 %), 1.5305 without the views; the plain
# ensemble (..._bf16_ensemble_tta.py) 1.5152 / 1.5249. Details in ..._bf16_member_p25.py.
#   zoo ensemble work_dirs/bf16_member1/best_*.pth work_dirs/bf16_member_p25/best_*.pth \
#       work_dirs/bf16_member_p35/best_*.pth --out work_dirs/bf16_windows_ensemble.pth
#   zoo test projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_60min_bf16_windows_ensemble_tta.py \
#       work_dirs/bf16_windows_ensemble.pth
_base_ = ['./hrnet_w18_small_isbi_two_stage_60min_allpatches_tta.py']
member = _base_.model
model = dict(_delete_=True, type='EnsembleDetector', landmark_set=member['landmark_set'],
             members=[dict(member, patch_scale=scale) for scale in (3.0, 2.5, 3.5)],
             data_preprocessor=member['data_preprocessor'])
