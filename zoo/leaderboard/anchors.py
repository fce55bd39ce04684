"""Published figures on the same test split, printed beside a leaderboard for context (never ranked).

Keyed by (dataset type, split). Sources: the papers' own tables for ISBI 2015 Test1 (0.1 mm/px,
19 landmarks); papers differ in the ground truth they score against (senior or the mean of both
doctors) and some selected their model on Test1.
"""
from __future__ import annotations

PUBLISHED = {
    ("ISBI2015Dataset", "test1"): {
        "note": "published results on ISBI 2015 Test1 (150 images); ground truth and model selection vary by paper",
        "rows": [
            {"method": "Lindner et al. 2016, random-forest regression voting", "MRE_mm": 1.67,
             "SDR": [74.95, 80.28, 84.56, 89.68]},
            {"method": "Chen et al. 2019, attentive feature pyramid (MICCAI)", "MRE_mm": 1.17,
             "SDR": [86.67, 92.67, 95.54, 98.53]},
            {"method": "Zhong et al. 2019, attention-guided global and local patches", "MRE_mm": 1.12,
             "SDR": [86.91, 91.82, 94.88, 97.90]},
            {"method": "FARNet 2022", "MRE_mm": 1.12, "SDR": [88.03, 92.73, 95.96, 98.48]},
            {"method": "the project's naive CPU baseline (not published): HRNet-W18 from scratch, 256 px letterbox, "
                       "heatmaps at stride 4, sigma 2, MSE, AdamW 2e-3 cosine, 700 iterations of batch 8, 42 min on "
                       "2 CPU cores, Taylor sub-pixel decoding", "MRE_mm": 3.27, "SDR": [30.3, 41.7, 52.3, 70.3]},
        ],
        "best_band_mm": (1.12, 1.17),
    },
}


def anchors_for(split: dict | None) -> dict | None:
    if not split:
        return None
    return PUBLISHED.get((split.get("type"), split.get("split")))
