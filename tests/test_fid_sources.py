"""The edits `scripts/fid_sources.py` makes to test what holds a generated set's FID up."""

from __future__ import annotations

import sys

import numpy as np
from conftest import REPO, SAMPLES

from core.motion.clip import load_clip
from core.motion.representation import representation_for
from core.motion.rotations import quat_angle

sys.path.insert(0, str(REPO / "scripts"))
import fid_sources  # noqa: E402


def walk():
    return load_clip(SAMPLES / "dataset-1_walk_old_001.bvh")


def test_body_parts_split_the_body_below_the_root_by_its_shape():
    clip = walk()
    parts = fid_sources.body_parts(clip)
    names = clip.skeleton.names
    rep = representation_for(clip.skeleton)
    every = np.concatenate(list(parts.values()))
    assert len(set(every.tolist())) == len(every)  # no joint in two parts
    assert set(every.tolist()) == set(range(clip.skeleton.num_joints)) - {rep.root, *rep.ancestors}
    assert set(rep.feet) <= set(parts["legs"].tolist())
    assert {"Hand_L", "Hand_R"} <= {names[j] for j in parts["arms"]}
    assert {"Head", "Spine"} <= {names[j] for j in parts["trunk"]}


def test_swing_further_scales_each_joints_turn_from_its_mean():
    clip, same, wider = walk(), walk(), walk()
    arm = fid_sources.body_parts(clip)["arms"][:2]
    fid_sources.swing_further(same, arm, 1.0)
    fid_sources.swing_further(wider, arm, 2.0)
    for j in arm:
        assert np.allclose(quat_angle(same.rotations[:, j], clip.rotations[:, j]), 0.0, atol=1e-5)
        q = clip.rotations[:, j] * np.sign((clip.rotations[:, j] * clip.rotations[:1, j]).sum(-1, keepdims=True))
        mean = np.broadcast_to(q.mean(0) / np.linalg.norm(q.mean(0)), q.shape)
        assert np.allclose(quat_angle(wider.rotations[:, j], mean), 2 * quat_angle(q, mean), atol=1e-4)


def test_turn_to_scales_the_heading_change_and_keeps_the_root_height():
    clip = load_clip(SAMPLES / "dataset-2_walk-turn-left_elderly_001.bvh")
    rep = representation_for(clip.skeleton)

    def heading():
        return np.degrees(np.unwrap(rep.heading(clip.global_transforms()[0][:, rep.root])))

    before, height = heading(), clip.global_positions()[:, rep.root, 1].copy()
    assert abs(before[-1] - before[0]) > 45.0  # a clip that turns
    fid_sources.turn_to(clip, 2 * abs(before[-1] - before[0]))
    after = heading()
    assert np.allclose(after - after[0], 2 * (before - before[0]), atol=0.5)  # every frame's turn doubled
    assert np.allclose(clip.global_positions()[:, rep.root, 1], height, atol=1e-4)
