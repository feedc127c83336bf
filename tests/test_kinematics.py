"""Forward kinematics: hand-checked chains, rigid bones keep their length, numpy == torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.motion import rotations as R
from core.motion.bvh import read_bvh
from core.motion.clip import Clip
from core.motion.kinematics import forward_kinematics
from core.motion.skeleton import Skeleton

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "bandai-namco" / "samples").glob("*.bvh"))
HALF = np.pi / 2


@pytest.fixture(scope="module", params=SAMPLES, ids=[p.stem for p in SAMPLES])
def sample(request):
    bvh = read_bvh(request.param)
    return bvh, Clip.from_bvh(bvh)


def test_there_are_sample_clips():
    assert len(SAMPLES) >= 2


def _chain():
    """Root at (1, 2, 3) turned 90° about Z; joint 1 offset (2, 0, 0) turned 90° about X;
    joint 2 offset (0, 3, 0) under joint 1; joint 3 offset (0, 0, -1) under the root."""
    parents = [-1, 0, 1, 0]
    rots = np.stack([R.axis_angle_matrix(2, np.array(HALF)), R.axis_angle_matrix(0, np.array(HALF)),
                     np.eye(3), np.eye(3)])
    trans = np.array([[1.0, 2, 3], [2, 0, 0], [0, 3, 0], [0, 0, -1]])
    return parents, rots, trans


def test_hand_checked_chain():
    parents, rots, trans = _chain()
    g_rot, g_pos = forward_kinematics(parents, rots, trans)
    # Rz(90) takes x->y, so joint 1 sits at (1, 2, 3) + (0, 2, 0).
    # Joint 2: Rz(90) Rx(90) takes y -> z -> z, so it sits 3 above joint 1.
    # Joint 3: Rz(90) keeps z, so it sits 1 below the root.
    want = np.array([[1, 2, 3], [1, 4, 3], [1, 4, 6], [1, 2, 2]], dtype=float)
    np.testing.assert_allclose(g_pos, want, atol=1e-14)
    rz = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    rx = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]])
    np.testing.assert_allclose(g_rot[0], rz, atol=1e-15)
    np.testing.assert_allclose(g_rot[1], rz @ rx, atol=1e-15)
    np.testing.assert_allclose(g_rot[2], rz @ rx, atol=1e-15)
    np.testing.assert_allclose(g_rot[3], rz, atol=1e-15)


def test_hand_checked_chain_batched_and_in_torch():
    parents, rots, trans = _chain()
    # frame 0: the chain above; frame 1: no rotation, so positions are summed offsets
    rots_b = np.stack([rots, np.broadcast_to(np.eye(3), rots.shape)])
    trans_b = np.stack([trans, trans])
    want = np.array([[[1, 2, 3], [1, 4, 3], [1, 4, 6], [1, 2, 2]],
                     [[1, 2, 3], [3, 2, 3], [3, 5, 3], [1, 2, 2]]], dtype=float)
    _, pos = forward_kinematics(parents, rots_b, trans_b)
    np.testing.assert_allclose(pos, want, atol=1e-14)
    _, pos_t = forward_kinematics(parents, torch.from_numpy(rots_b), torch.from_numpy(trans_b))
    assert isinstance(pos_t, torch.Tensor)
    np.testing.assert_allclose(pos_t.numpy(), want, atol=1e-14)
    # extra leading batch dimensions
    _, pos_2 = forward_kinematics(parents, np.stack([rots_b] * 3), np.stack([trans_b] * 3))
    assert pos_2.shape == (3, 2, 4, 3)
    np.testing.assert_allclose(pos_2[2], want, atol=1e-14)


def test_two_roots_are_independent():
    parents = [-1, 0, -1, 2]
    rots = np.stack([R.axis_angle_matrix(1, np.array(HALF)), np.eye(3), np.eye(3), np.eye(3)])
    trans = np.array([[0.0, 0, 0], [0, 0, 1], [5, 0, 0], [0, 0, 1]])
    _, pos = forward_kinematics(parents, rots, trans)
    # Ry(90) takes z to x
    np.testing.assert_allclose(pos, [[0, 0, 0], [1, 0, 0], [5, 0, 0], [5, 0, 1]], atol=1e-15)


def test_clip_fk_of_a_tiny_bvh_matches_hand_result():
    from core.motion.bvh import parse_bvh

    text = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Knee
  {
    OFFSET 0 -10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -10 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.04
1 100 0 0 0 0 0 0 0
1 100 0 90 0 0 0 90 0
"""
    clip = Clip.from_bvh(parse_bvh(text))
    assert clip.fps == pytest.approx(25.0)
    pos = clip.global_positions()
    np.testing.assert_allclose(pos[0], [[1, 100, 0], [1, 90, 0]], atol=1e-12)
    # Rz(90) takes -y to +x: the knee swings to the +x side; the knee's own X rotation of 90 does not move it
    np.testing.assert_allclose(pos[1], [[1, 100, 0], [11, 100, 0]], atol=1e-12)


def test_numpy_and_torch_fk_agree_on_samples(sample):
    _, clip = sample
    mats = clip.rotation_matrices()
    g_rot, g_pos = forward_kinematics(clip.skeleton.parents, mats, clip.translations)
    g_rot_t, g_pos_t = forward_kinematics(clip.skeleton.parents, torch.from_numpy(mats),
                                          torch.from_numpy(clip.translations))
    assert g_pos.shape == (clip.num_frames, clip.skeleton.num_joints, 3)
    np.testing.assert_allclose(g_pos_t.numpy(), g_pos, atol=1e-9, rtol=0)
    np.testing.assert_allclose(g_rot_t.numpy(), g_rot, atol=1e-12, rtol=0)
    # global rotations stay rotations
    np.testing.assert_allclose(g_rot @ np.swapaxes(g_rot, -1, -2), np.broadcast_to(np.eye(3), g_rot.shape), atol=1e-12)


def _rigid_joints(bvh):
    """Joints with a parent whose position channels (if any) never change."""
    out = []
    for j, (chans, cols) in enumerate(zip(bvh.channels, bvh.channel_slices(), strict=True)):
        if bvh.parents[j] < 0:
            continue
        pos_cols = [k for k, c in enumerate(chans) if c.endswith("position")]
        values = bvh.motion[:, cols][:, pos_cols]
        if values.size == 0 or np.all(values == values[:1]):
            out.append(j)
    return out


def test_rigid_bones_keep_their_length_in_samples(sample):
    bvh, clip = sample
    rigid = _rigid_joints(bvh)
    assert len(rigid) >= 15  # the samples animate translation on very few joints
    pos = clip.global_positions()
    parents = clip.skeleton.parents
    for j in rigid:
        length = np.linalg.norm(pos[:, j] - pos[:, parents[j]], axis=-1)
        want = np.linalg.norm(clip.translations[0, j])
        np.testing.assert_allclose(length, want, atol=1e-9, err_msg=bvh.names[j])


def test_rigid_bones_keep_their_length_under_random_rotations():
    rng = np.random.default_rng(0)
    num_j = 12
    parents = np.array([-1] + [int(rng.integers(0, j)) for j in range(1, num_j)])
    offsets = rng.normal(scale=20, size=(num_j, 3))
    skel = Skeleton(tuple(f"j{j}" for j in range(num_j)), parents, offsets)
    q = rng.normal(size=(50, num_j, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    trans = np.broadcast_to(offsets, (50, num_j, 3)).copy()
    trans[:, 0] = rng.normal(scale=100, size=(50, 3))
    clip = Clip(skel, q, trans, 30.0)
    pos = clip.global_positions()
    for j in range(1, num_j):
        np.testing.assert_allclose(np.linalg.norm(pos[:, j] - pos[:, parents[j]], axis=-1),
                                   np.linalg.norm(offsets[j]), rtol=1e-12)
    np.testing.assert_allclose(skel.bone_lengths()[1:], np.linalg.norm(offsets[1:], axis=-1))
    assert skel.bone_lengths()[0] == 0
    # the distance between two joints of one rigid chain does not change either
    leaf = num_j - 1
    chain = [leaf]
    while parents[chain[-1]] >= 0:
        chain.append(int(parents[chain[-1]]))
    if len(chain) > 2:
        d = np.linalg.norm(pos[:, chain[0]] - pos[:, chain[1]], axis=-1)
        assert np.ptp(d) < 1e-9
