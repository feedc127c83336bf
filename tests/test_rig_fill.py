"""Filling gaps on any rig (core.retarget.rig, core.retarget.rig_fill) and gaps open at a clip's ends."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES

from core.errors import GenAnimError
from core.generation import load_generator
from core.motion.clip import Clip, load_clip
from core.retarget.retarget import RigPose
from core.retarget.rig import full_bases, pose_matrices, rig_clip, to_rig, to_skeleton
from core.retarget.rig_fill import check_gaps, fill_rig_gaps, frame_gaps, parse_gaps
from core.retarget.standard_rigs import MIXAMO_MAP, mixamo_rig

WALK = "dataset-2_walk_normal_001.bvh"


@pytest.fixture(scope="module")
def walk() -> Clip:
    return load_clip(SAMPLES / WALK).slice(0, 150)


@pytest.fixture(scope="module")
def gen():
    return load_generator("diffusion", backend="numpy")


def _max_step(positions: np.ndarray) -> np.ndarray:
    """(F-1,) the largest distance any joint moves from each frame to the next."""
    return np.linalg.norm(np.diff(positions, axis=0), axis=-1).max(1)


def test_a_rigs_motion_comes_back_onto_our_skeleton(walk):
    rig = mixamo_rig(roll_seed=3)
    pose = to_rig(walk, rig, MIXAMO_MAP)
    clip = rig_clip(rig, pose, walk.fps)
    heads = pose_matrices(rig, pose)[..., :3, 3] @ rig.axes  # data axes, as the clip has them
    order = [rig.names.index(n) for n in clip.skeleton.names]
    assert np.abs(clip.global_positions() - heads[:, order]).max() < 1e-9
    back = to_skeleton(clip, walk.skeleton, MIXAMO_MAP).global_positions()
    mapped = [walk.skeleton.names.index(j) for j in MIXAMO_MAP]
    err = np.linalg.norm(back[:, mapped] - walk.global_positions()[:, mapped], axis=-1)  # cm
    assert err.mean() < 0.5 and err.max() < 5.0


def test_gaps_are_read_placed_and_checked():
    assert parse_gaps("20-50, 80 - 110;3..9") == [(20, 50), (80, 110), (3, 9)]
    for text, why in (("20", "cannot read '20'"), ("", "no gap given"), ("20-50 x", "cannot read 'x'")):
        with pytest.raises(GenAnimError, match=why):
            parse_gaps(text)
    # Scene frames of an action on 1..100 -> the clip's frames: an end outside the action extends it.
    assert frame_gaps([(20, 50)], 1, 100) == (1, 100, [(19, 49)])
    assert frame_gaps([(-9, 11), (90, 130)], 1, 100) == (-9, 130, [(-1, 20), (99, 140)])
    for gaps, why in (([(120, 150)], "must be a frame of the action"), ([(0, 101)], "covers the whole action")):
        with pytest.raises(GenAnimError, match=why):
            frame_gaps(gaps, 1, 100)
    assert check_gaps([(50, 80), (10, 50)], 100) == [(10, 50), (50, 80)]
    for gaps, why in (([(10, 50), (40, 60)], "gaps overlap"), ([(10, 11)], "needs a frame"), ([], "no gap")):
        with pytest.raises(GenAnimError, match=why):
            check_gaps(gaps, 100)


def _extended(clip: Clip, before: int, after: int) -> Clip:
    """`clip` with its first and last frames repeated: the placeholders of an extension."""
    pad = [(before, after)] + [(0, 0)] * 2
    return Clip(clip.skeleton, np.pad(clip.rotations, pad, mode="edge"), np.pad(clip.translations, pad, mode="edge"),
                clip.fps, clip.name)


@pytest.mark.parametrize("side", ["start", "end"])
def test_inbetween_extends_a_clip_at_either_end(gen, walk, side):
    clip = _extended(walk, 40, 0) if side == "start" else _extended(walk, 0, 40)
    start, end = (-1, 40) if side == "start" else (walk.num_frames - 1, clip.num_frames)
    out = gen.inbetween(clip, start, end, "walk", samples=2)
    made = np.zeros(clip.num_frames, bool)
    made[start + 1 : end] = True
    assert np.array_equal(out.rotations[~made], clip.rotations[~made])
    assert np.array_equal(out.translations[~made], clip.translations[~made])
    pos = out.global_positions()
    hips = pos[made, walk.skeleton.names.index("Hips")]
    assert np.linalg.norm(hips[-1, [0, 2]] - hips[0, [0, 2]]) > 50  # cm: it walks, not a held pose
    join = start if side == "end" else end - 1
    assert _max_step(pos)[join] < 2 * _max_step(walk.global_positions()).max()  # no jump onto the kept frames


def test_fill_rig_gaps_keeps_the_animators_bases_and_joins_them(gen, walk):
    rig = mixamo_rig()
    keys = RigPose(list(rig.names), *full_bases(rig, to_rig(walk, rig, MIXAMO_MAP)), np.zeros(len(rig.names), bool))
    gaps = [(20, 50), (90, 120)]
    out = fill_rig_gaps(gen, rig, MIXAMO_MAP, keys, walk.fps, gaps, "walk", samples=2)
    assert out.bones == list(MIXAMO_MAP.values()) and out.moving.tolist() == [b == "Hips" for b in out.bones]
    made = np.zeros(walk.num_frames, bool)
    for a, b in gaps:
        made[a + 1 : b] = True
    k = [rig.names.index(b) for b in out.bones]
    assert np.abs(out.quaternions[~made] * np.sign(out.quaternions[~made, :, :1])
                  - keys.quaternions[~made][:, k] * np.sign(keys.quaternions[~made][:, k, :1])).max() < 1e-12
    assert np.abs(out.locations[~made] - keys.locations[~made][:, k]).max() < 1e-12
    filled, real = (pose_matrices(rig, p)[..., :3, 3] for p in (out, keys))
    assert np.abs(filled[made] - real[made]).max() > 0.05  # m: the gaps are the model's, not the keys
    for a, b in gaps:  # each gap joins its kept frames without a jump
        assert max(_max_step(filled)[[a, b - 1]]) < 2 * _max_step(real).max()
