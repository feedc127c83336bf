"""Motion augmentation on `Clip`: left/right mirroring, rotation about the vertical, time warping.

Mirroring (any left/right symmetric skeleton). A world reflection W (flipping
one horizontal axis) maps the motion of joint m(c) onto joint c, where m swaps
left and right counterparts (`Skeleton.mirror_indices`). Because every joint
has its own local frame, each joint j gets a local reflection T_j among
diag(-1,1,1), diag(1,-1,1), diag(1,1,-1): the one that maps the rest offsets of
its children (and its end site) onto their counterparts', o_c = T_j o_m(c).
Then, with T of a root's parent being W,

    L'_c = T_p(c) L_m(c) T_c        (local rotations, still proper rotations)
    t'_c = T_p(c) t_m(c)            (only animated translations; rest offsets stay)

so that world positions become p'_c = W p_m(c) and mirroring twice is the
identity. Joints whose reflection the offsets do not decide (zero-length leaf
bones, ties) inherit their parent's, which keeps chain conventions.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from ..errors import MotionDataError
from .clip import Clip
from .rotations import axis_angle_matrix, matrix_to_quat, quat_mul, quat_slerp, quat_to_matrix
from .skeleton import Skeleton

_REFLECTIONS = np.array([[-1.0, 1, 1], [1, -1, 1], [1, 1, -1]])
# Quaternion of diag(a * b) for two reflections a, b (a proper diagonal: identity or a half turn).
_HALF_TURNS = {
    (1, 1, 1): (1.0, 0, 0, 0), (1, -1, -1): (0, 1.0, 0, 0), (-1, 1, -1): (0, 0, 1.0, 0), (-1, -1, 1): (0, 0, 0, 1.0)
}


def animated_joints(clip: Clip, tol: float = 1e-3) -> np.ndarray:
    """(J,) bool: joints whose translation departs from the rest offset in some frame."""
    return (np.abs(clip.translations - clip.skeleton.offsets).max(axis=(0, 2)) > tol) if clip.num_frames else (
        np.zeros(clip.skeleton.num_joints, bool)
    )


def mirror_reflections(skeleton: Skeleton, animated: np.ndarray | None = None, world_axis: int = 0) -> np.ndarray:
    """(J + 1, 3) sign vectors: the local reflection T_j of each joint, then W.

    Raises MotionDataError if the skeleton is not left/right symmetric.
    """
    animated = np.zeros(skeleton.num_joints, bool) if animated is None else np.asarray(animated, bool)
    return _reflections(skeleton, tuple(animated.tolist()), world_axis).copy()


@lru_cache(maxsize=64)
def _reflections(skeleton: Skeleton, animated: tuple[bool, ...], world_axis: int) -> np.ndarray:
    par, m, off = skeleton.parents, skeleton.mirror_indices(), skeleton.offsets
    num_j = skeleton.num_joints
    for j in range(num_j):
        if m[m[j]] != j or (par[j] >= 0 and par[m[j]] != m[par[j]]) or (par[j] < 0) != (par[m[j]] < 0):
            raise MotionDataError(
                f"skeleton is not left/right symmetric: joint {skeleton.names[j]!r} and its counterpart "
                f"{skeleton.names[m[j]]!r} do not sit at mirrored places in the hierarchy"
            )
    world = np.ones(3)
    world[world_axis] = -1
    signs = np.ones((num_j + 1, 3))
    signs[num_j] = world  # index -1 (a root's parent) reads the world reflection
    for j in range(num_j):  # parents first, so a joint can inherit its parent's reflection
        pairs = []  # (offset, counterpart offset) this joint's reflection must map
        for a in {j, int(m[j])}:
            for c in skeleton.children(a):
                if not (animated[c] or animated[m[c]]):
                    pairs.append((off[c], off[m[c]]))
            if a in skeleton.end_sites and m[a] in skeleton.end_sites:
                pairs.append((skeleton.end_sites[a], skeleton.end_sites[int(m[a])]))
        inherited = signs[par[j]]
        if not pairs or max(np.linalg.norm(o) for o, _ in pairs) < 1e-6:
            signs[j] = inherited
            continue
        o, om = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        # Worst misfit of each candidate, relative to the bone length it concerns.
        err = [np.max(np.linalg.norm(o - s * om, axis=1) / (np.linalg.norm(o, axis=1) + 1.0)) for s in _REFLECTIONS]
        best = float(min(err))
        if best > 0.05:
            raise MotionDataError(
                f"skeleton is not left/right symmetric: the bones below {skeleton.names[j]!r} do not mirror "
                f"those below {skeleton.names[m[j]]!r} (misfit {best:.0%} of bone length)"
            )
        fits = [k for k, e in enumerate(err) if e <= best + 1e-3]
        inherit = [k for k in fits if np.array_equal(_REFLECTIONS[k], inherited)]
        signs[j] = _REFLECTIONS[inherit[0] if inherit else fits[0]]
    return signs


def _sign_quat(signs: np.ndarray) -> np.ndarray:
    return np.array(_HALF_TURNS[tuple(int(v) for v in signs)])


def mirror(clip: Clip, world_axis: int = 0) -> Clip:
    """Left/right mirrored clip (see the module docstring); the skeleton is unchanged.

    `world_axis` is the horizontal axis the world reflection flips (0 = X). Swap
    the clip's action label with `core.data.labels.mirror_label`.
    """
    skel = clip.skeleton
    animated = animated_joints(clip)
    animated = animated | animated[skel.mirror_indices()]
    signs = _reflections(skel, tuple(animated.tolist()), world_axis)
    m, par = skel.mirror_indices(), skel.parents
    rot = np.empty_like(clip.rotations)
    trans = clip.translations.copy()
    for c in range(skel.num_joints):
        a, b = signs[par[c]], signs[c]  # par -1 reads the world row
        q = clip.rotations[:, m[c]]
        # A R B = (A B)(B R B); B R B has quaternion (w, -B v) for a diagonal reflection B.
        brb = np.concatenate([q[:, :1], -q[:, 1:] * b], axis=-1)
        rot[:, c] = quat_mul(np.broadcast_to(_sign_quat(a * b), brb.shape), brb)
        if animated[c]:
            trans[:, c] = clip.translations[:, m[c]] * a
    return replace(clip, rotations=rot, translations=trans, name=f"{clip.name}_mirror" if clip.name else "")


def rotate_vertical(clip: Clip, angle: float, up_axis: int = 1) -> Clip:
    """Clip turned by `angle` radians about the vertical axis through the origin.

    Only the top joints change: their local rotation and translation are in world space.
    """
    r = axis_angle_matrix(up_axis, np.asarray(angle, dtype=np.float64))
    q = matrix_to_quat(r)
    rot, trans = clip.rotations.copy(), clip.translations.copy()
    for j in np.nonzero(clip.skeleton.parents < 0)[0]:
        rot[:, j] = quat_mul(np.broadcast_to(q, rot[:, j].shape), rot[:, j])
        trans[:, j] = trans[:, j] @ r.T
    return replace(clip, rotations=rot, translations=trans)


def time_warp(clip: Clip, factor: float) -> Clip:
    """Clip played `factor` times faster at the same fps (factor 2: half the frames).

    Resamples at source times 0, factor, 2 factor, ...: slerp for rotations,
    linear interpolation for translations.
    """
    if not factor > 0:
        raise MotionDataError(f"time warp factor must be positive, got {factor}")
    num_f = clip.num_frames
    if num_f < 2:
        return replace(clip)
    t = np.arange(0.0, num_f - 1 + 1e-9, factor)
    i0 = np.minimum(np.floor(t).astype(int), num_f - 2)
    w = t - i0
    weights = np.broadcast_to(w[:, None], (len(t), clip.skeleton.num_joints))
    rot = quat_slerp(clip.rotations[i0], clip.rotations[i0 + 1], weights)
    trans = clip.translations[i0] * (1 - w)[:, None, None] + clip.translations[i0 + 1] * w[:, None, None]
    return replace(clip, rotations=rot, translations=trans)


def rotation_matrices_equal(a: np.ndarray, b: np.ndarray, atol: float = 1e-6) -> bool:
    """True if two (…, 4) quaternion arrays encode the same rotations (q and -q are equal)."""
    return bool(np.allclose(quat_to_matrix(a), quat_to_matrix(b), atol=atol))
