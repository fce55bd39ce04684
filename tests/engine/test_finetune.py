"""Fine-tuning across landmark sets keeps the backbone and the landmarks both sets share by symbol."""
import torch

from zoo.data.landmark_sets import get_landmark_set
from zoo.engine.hooks import remap_landmark_weights
from zoo.registry import MODELS


def _model(landmark_set: str, head: dict):
    return MODELS.build(dict(
        type="LandmarkDetector", landmark_set=landmark_set,
        data_preprocessor=dict(type="LandmarkDataPreprocessor", mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small"), neck=dict(type="HRNetV2Neck"),
        head=head, decoder=dict(type="DarkDecoder"), loss=dict(type="HeatmapMSELoss")))


def test_heatmap_rows_follow_symbols_from_31_to_isbi():
    head = dict(type="HeatmapHead", output_stride=4, sigma=2.0)
    source, target = _model("ceph31", head), _model("isbi2015", head)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    src_syms, dst_syms = list(get_landmark_set("ceph31").symbols), list(get_landmark_set("isbi2015").symbols)
    remap_landmark_weights(state, target.state_dict(), src_syms, dst_syms)
    missing, unexpected = target.load_state_dict(state, strict=True)  # every shape now fits
    assert not missing and not unexpected
    per_landmark = [k for k in fresh if k.startswith("head.") and fresh[k].shape[:1] == (19,)]
    assert per_landmark, "the heatmap head should have per-landmark parameters"
    for key in per_landmark:
        for i_dst, symbol in enumerate(dst_syms):  # all 19 ISBI symbols exist in the 31-set
            i_src = src_syms.index(symbol)
            assert torch.equal(target.state_dict()[key][i_dst], source.state_dict()[key][i_src])
    backbone_key = next(k for k in fresh if k.startswith("backbone."))
    assert torch.equal(target.state_dict()[backbone_key], source.state_dict()[backbone_key])


def test_symbols_missing_from_the_source_keep_their_fresh_init():
    head = dict(type="HeatmapHead", output_stride=4, sigma=2.0)
    source, target = _model("ruler", head), _model("ceph31", head)
    state = dict(source.state_dict())
    before = {k: v.clone() for k, v in target.state_dict().items()}
    remap_landmark_weights(state, target.state_dict(), ["p1", "p2"], list(get_landmark_set("ceph31").symbols))
    key = next(k for k in before if k.startswith("head.") and before[k].shape[:1] == (31,))
    syms = list(get_landmark_set("ceph31").symbols)
    assert torch.equal(state[key][syms.index("p1")], source.state_dict()[key][0])
    assert torch.equal(state[key][syms.index("S")], before[key][syms.index("S")])


def test_two_stage_heads_follow_symbols_in_both_stages():
    """The shipped model is two-stage: its per-landmark rows sit under ``global_stage.head.`` and
    ``refine_stage.head.``, and fine-tuning it on another set must keep the rows both sets share."""
    tiny = dict(backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small"), neck=dict(type="HRNetV2Neck"),
                decoder=dict(type="DarkDecoder"), loss=dict(type="HeatmapMSELoss"))

    def two_stage(landmark_set):
        return MODELS.build(dict(
            type="TwoStageDetector", landmark_set=landmark_set, patch_size=32, patch_scale=2.0,
            global_stage=dict(tiny, head=dict(type="HeatmapHead", output_stride=4)),
            refine_stage=dict(tiny, head=dict(type="HeatmapHead", output_stride=2, channels=8))))

    torch.manual_seed(0)
    source, target = two_stage("isbi2015"), two_stage("ceph31")
    state = {k: v.clone() for k, v in source.state_dict().items()}
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    src, dst = list(get_landmark_set("isbi2015").symbols), list(get_landmark_set("ceph31").symbols)
    remap_landmark_weights(state, target.state_dict(), src, dst)
    missing, unexpected = target.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    for stage in ("global_stage", "refine_stage"):
        rows = [k for k in fresh if k.startswith(f"{stage}.head.") and fresh[k].shape[:1] == (31,)]
        assert rows, f"{stage} should have per-landmark rows"
        for key in rows:
            assert torch.equal(target.state_dict()[key][dst.index("Go")], source.state_dict()[key][src.index("Go")])
            assert torch.equal(target.state_dict()[key][dst.index("p1")], fresh[key][dst.index("p1")])
