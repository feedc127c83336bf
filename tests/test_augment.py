"""Mirroring, rotation about the vertical and time warping of clips."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import SAMPLES

from core.data.labels import mirror_label, parse_clip_name
from core.errors import MotionDataError
from core.motion.augment import (
    Mirror,
    animated_joints,
    mirror,
    mirror_reflections,
    rotate_vertical,
    rotation_matrices_equal,
    time_warp,
)
from core.motion.clip import Clip, load_clip
from core.motion.representation import MotionRepresentation
from core.motion.rotations import axis_angle_matrix
from core.motion.skeleton import Skeleton

W = np.array([-1.0, 1.0, 1.0])  # the default world reflection flips X


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    return [load_clip(p) for p in sorted(SAMPLES.glob("*.bvh"))]


def symmetrised(clip: Clip) -> Clip:
    """The clip on an exactly symmetric copy of its skeleton (right offsets = mirrored left ones)."""
    skel = clip.skeleton
    signs = mirror_reflections(skel, animated_joints(clip), rotations=clip.rotations)
    m, offsets = skel.mirror_indices(), skel.offsets.copy()
    for c in range(skel.num_joints):
        if m[c] > c:  # one of each pair, chosen by index
            offsets[m[c]] = signs[skel.parents[c]] * offsets[c]
    sym = Skeleton(skel.names, skel.parents, offsets, skel.end_sites, skel.channels)
    moving = animated_joints(clip)
    trans = np.where(moving[None, :, None], clip.translations, offsets[None])
    return Clip(sym, clip.rotations, trans, clip.fps, clip.name)


def test_mirror_twice_is_identity(clips):
    for c in clips:
        back = mirror(mirror(c))
        assert rotation_matrices_equal(back.rotations, c.rotations, atol=1e-12)
        np.testing.assert_array_equal(back.translations, c.translations)


def test_mirrored_positions_are_reflected_counterparts(clips):
    for c in clips:
        m = c.skeleton.mirror_indices()
        pos, mpos = c.global_positions(), mirror(c).global_positions()
        # Exact on a symmetric skeleton; the dataset's own skeleton is symmetric to a fraction of a millimetre.
        np.testing.assert_allclose(mpos, W * pos[:, m], atol=0.1)
        s = symmetrised(c)
        np.testing.assert_allclose(mirror(s).global_positions(), W * s.global_positions()[:, m], atol=1e-9)


def test_mirrored_limbs_keep_the_data_s_rotation_values(clips):
    """A straight bone's offsets allow two reflections, half a turn about the bone apart; the motion picks
    the one under which a mirrored walk's local rotations stay near the walk's own (the other puts every
    limb half a turn away: the same positions, a second set of values for a model to learn)."""
    poses = np.concatenate([c.rotations for c in clips])
    walk = next(c for c in clips if "walk_normal" in c.name)
    for mirrored in (mirror(walk), mirror(walk, poses=poses)):
        angle = 2 * np.degrees(np.arccos(np.clip(np.abs(np.sum(mirrored.rotations * walk.rotations, -1)), 0, 1)))
        assert angle.mean(0).max() < 45.0


def test_mirror_of_a_corpus_decides_the_reflections_once(clips):
    """`Mirror` gives exactly what `mirror(clip, poses=...)` gives, deciding the reflections once for all
    clips that animate the same joints."""
    poses = np.concatenate([c.rotations for c in clips])
    mirrored = Mirror(poses)
    for c in clips:
        a, b = mirrored(c), mirror(c, poses=poses)
        np.testing.assert_array_equal(a.rotations, b.rotations)
        np.testing.assert_array_equal(a.translations, b.translations)
    assert len(mirrored.reflections) == len({tuple(animated_joints(c)) for c in clips}) < len(clips)


def test_mirror_keeps_bone_lengths_and_skeleton(clips):
    c = clips[0]
    mc = mirror(c)
    assert mc.skeleton is c.skeleton
    par = c.skeleton.parents
    child = np.nonzero(par >= 0)[0]
    length = lambda p: np.linalg.norm(p[:, child] - p[:, par[child]], axis=-1)  # noqa: E731
    fixed = ~animated_joints(c)[child]
    before, after = length(c.global_positions())[:, fixed], length(mc.global_positions())[:, fixed]
    np.testing.assert_allclose(after, before, atol=1e-9)


def test_mirror_turns_the_other_way_and_swaps_the_label(clips):
    c = next(c for c in clips if "walk-turn-left" in c.name)
    rep = MotionRepresentation(c.skeleton)
    yaw = lambda clip: float(rep.encode(clip)[:-1, rep.layout.yaw_rate].sum())  # noqa: E731
    assert abs(yaw(c)) > 0.5
    assert yaw(mirror(c)) == pytest.approx(-yaw(c), abs=1e-6)
    assert mirror_label(parse_clip_name(c.name + ".bvh").action) == "walk-turn-right"


def test_asymmetric_skeleton_is_an_error(clips):
    c = clips[0]
    skel = c.skeleton
    offsets = skel.offsets.copy()
    offsets[skel.index("LowerArm_L")] *= 1.5
    bent = Skeleton(skel.names, skel.parents, offsets, skel.end_sites, skel.channels)
    with pytest.raises(MotionDataError, match="not left/right symmetric.*UpperArm_L"):
        mirror(replace(c, skeleton=bent, translations=np.broadcast_to(offsets, c.translations.shape).copy()))


def test_hierarchy_asymmetry_is_an_error():
    names = ("Root", "Arm_L", "Arm_R", "Hand_L", "Hand_R")
    parents = np.array([-1, 0, 0, 1, 1])  # Hand_R hangs off the left arm
    offsets = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [1, 0, 0], [1, 0, 0]], float)
    with pytest.raises(MotionDataError, match="Hand_L"):
        mirror_reflections(Skeleton(names, parents, offsets))


def test_rotate_vertical(clips):
    c = clips[1]
    angle = 0.7
    r = rotate_vertical(c, angle)
    rot = axis_angle_matrix(1, np.float64(angle))
    np.testing.assert_allclose(r.global_positions(), c.global_positions() @ rot.T, atol=1e-9)
    full = rotate_vertical(c, 2 * np.pi)
    np.testing.assert_allclose(full.global_positions(), c.global_positions(), atol=1e-9)


def test_time_warp(clips):
    c = clips[2]
    same = time_warp(c, 1.0)
    assert same.num_frames == c.num_frames and rotation_matrices_equal(same.rotations, c.rotations)
    fast = time_warp(c, 2.0)
    assert fast.num_frames == (c.num_frames - 1) // 2 + 1 and fast.fps == c.fps
    assert rotation_matrices_equal(fast.rotations, c.rotations[::2])
    np.testing.assert_allclose(fast.translations, c.translations[::2])
    slow = time_warp(c, 0.5)
    assert slow.num_frames == 2 * c.num_frames - 1
    assert rotation_matrices_equal(slow.rotations[::2], c.rotations)
    np.testing.assert_allclose(slow.translations[1::2], (c.translations[:-1] + c.translations[1:]) / 2)
    with pytest.raises(MotionDataError, match="positive"):
        time_warp(c, 0)
