"""The pose-basis maths on its own: Blender's pose composition emulated in numpy, any bone roll."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender_addon.core.errors import MotionDataError
from blender_addon.core.motion.clip import load_clip
from blender_addon.core.motion.rotations import quat_to_matrix
from blender_addon.core.retarget.armature_space import (
    Y_UP_TO_Z_UP,
    bone_layout,
    clip_to_pose_basis,
    rest_positions,
    to_armature_space,
)

pytestmark = pytest.mark.blender  # lives with the Blender tests it underpins


def _random_rest(heads: np.ndarray, seed: int = 0) -> np.ndarray:
    """Rest matrices with the given heads and arbitrary orientations (any roll, any direction)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(len(heads), 3, 3)))
    q *= np.sign(np.linalg.det(q))[:, None, None]  # proper rotations
    rest = np.tile(np.eye(4), (len(heads), 1, 1))
    rest[:, :3, :3] = q
    rest[:, :3, 3] = heads
    return rest


def test_basis_reproduces_fk_for_any_rest_orientation(sample_clip_path: Path):
    clip = load_clip(sample_clip_path).slice(0, 20)
    heads = to_armature_space(rest_positions(clip.skeleton))
    rest = _random_rest(heads)
    loc, quat = clip_to_pose_basis(clip, rest)

    # Blender: pose_j = pose_parent @ rest_parent^-1 @ rest_j @ basis_j (roots: rest_j @ basis_j).
    basis = np.tile(np.eye(4), loc.shape[:2] + (1, 1))
    basis[..., :3, :3] = quat_to_matrix(quat)
    basis[..., :3, 3] = loc
    pose = np.empty_like(basis)
    for j, p in enumerate(clip.skeleton.parents):
        local = rest[j] if p < 0 else np.linalg.inv(rest[p]) @ rest[j]
        pose[:, j] = (local if p < 0 else pose[:, p] @ local) @ basis[:, j]

    g_rot, g_pos = clip.global_transforms()
    np.testing.assert_allclose(pose[..., :3, 3], to_armature_space(g_pos), atol=1e-9)
    c = Y_UP_TO_Z_UP
    np.testing.assert_allclose(pose[..., :3, :3], c @ g_rot @ c.T @ rest[:, :3, :3], atol=1e-9)
    # Sign-continuous quaternions: neighbouring frames never sit in opposite hemispheres.
    assert (np.sum(quat[1:] * quat[:-1], axis=-1) >= 0).all()


def test_layout_has_no_zero_length_bones(sample_clip_path: Path):
    skel = load_clip(sample_clip_path).skeleton
    heads, tails = bone_layout(skel)
    lengths = np.linalg.norm(tails - heads, axis=-1)
    assert (lengths > 0.01).all()
    # Leaves with a zero end site (Head, hands, toes) continue their parent's direction.
    for leaf in ("Head", "Hand_L", "Toes_R"):
        j, p = skel.index(leaf), skel.parents[skel.index(leaf)]
        d, dp = tails[j] - heads[j], tails[p] - heads[p]
        assert np.dot(d, dp) / (np.linalg.norm(d) * np.linalg.norm(dp)) > 0.999


def test_wrong_rest_matrices_raise(sample_clip_path: Path):
    clip = load_clip(sample_clip_path).slice(0, 2)
    with pytest.raises(MotionDataError, match="rest matrices"):
        clip_to_pose_basis(clip, np.tile(np.eye(4), (3, 1, 1)))
