"""Motion augmentation on `Clip`: left/right mirroring, rotation about the vertical, time warping.

Mirroring (any left/right symmetric skeleton). A world reflection W (flipping
one horizontal axis) maps the motion of joint m(c) onto joint c, where m swaps
left and right counterparts (`Skeleton.mirror_indices`). Because every joint
has its own local frame, each joint j gets a local reflection T_j among
diag(-1,1,1), diag(1,-1,1), diag(1,1,-1), -I: one that maps the rest offsets of
its children (and its end site) onto their counterparts', o_c = T_j o_m(c).
Where several do (a straight bone: T and T times a half turn about the bone),
the motion decides: the one that maps the counterpart's rotations nearest the
joint's own (otherwise mirrored limbs come out turned half a turn about their
bones: the same positions, but a second set of rotation values for a learner).
Then, with T of a root's parent being W,

    L'_c = T_p(c) L_m(c) T_c        (local rotations, still proper rotations)
    t'_c = T_p(c) t_m(c)            (only animated translations; rest offsets stay)

so that world positions become p'_c = W p_m(c) and mirroring twice is the
identity. Joints whose reflection neither decides (zero-length leaf bones,
ties) inherit their parent's, which keeps chain conventions.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from ..errors import MotionDataError
from .clip import Clip
from .rotations import axis_angle_matrix, matrix_to_quat, quat_mul, quat_slerp, quat_to_matrix
from .skeleton import Skeleton

# The diagonal reflections: one axis flipped, or all three (a one-axis flip followed by a half turn about
# that axis, which the offsets of a straight bone cannot tell from the one-axis flip).
_REFLECTIONS = np.array([[-1.0, 1, 1], [1, -1, 1], [1, 1, -1], [-1, -1, -1]])
# Quaternion of diag(a * b) for two reflections a, b (a proper diagonal: identity or a half turn).
_HALF_TURNS = {
    (1, 1, 1): (1.0, 0, 0, 0), (1, -1, -1): (0, 1.0, 0, 0), (-1, 1, -1): (0, 0, 1.0, 0), (-1, -1, 1): (0, 0, 0, 1.0)
}


def animated_joints(clip: Clip, tol: float = 1e-3) -> np.ndarray:
    """(J,) bool: joints whose translation departs from the rest offset in some frame."""
    return (np.abs(clip.translations - clip.skeleton.offsets).max(axis=(0, 2)) > tol) if clip.num_frames else (
        np.zeros(clip.skeleton.num_joints, bool)
    )


def mirror_reflections(skeleton: Skeleton, animated: np.ndarray | None = None, world_axis: int = 0,
                       rotations: np.ndarray | None = None) -> np.ndarray:
    """(J + 1, 3) sign vectors: the local reflection T_j of each joint, then W.

    Where the offsets leave a choice (a straight bone), `rotations` (F, J, 4), the motion to be
    mirrored, decide: the reflection whose mirror of the counterpart's rotation lies nearer the
    joint's own. Raises MotionDataError if the skeleton is not left/right symmetric.
    """
    animated = np.zeros(skeleton.num_joints, bool) if animated is None else np.asarray(animated, bool)
    fits = _fitting_reflections(skeleton, tuple(animated.tolist()))
    par, m = skeleton.parents, skeleton.mirror_indices()
    signs = np.ones((skeleton.num_joints + 1, 3))
    signs[-1, world_axis] = -1  # index -1 (a root's parent) reads the world reflection
    for j in range(skeleton.num_joints):  # parents first; a pair of counterparts gets one reflection
        if m[j] < j:
            continue
        cands = [signs[par[j]]] if fits[j] is None else [_REFLECTIONS[k] for k in fits[j]]
        if rotations is not None and len(cands) > 1:
            score = [sum(_agreement(rotations, c, int(m[c]), signs[par[c]], b) for c in {j, int(m[j])}) for b in cands]
            best = max(score)
            cands = [b for b, sc in zip(cands, score, strict=True) if sc >= best - 1e-6]
        inherit = [b for b in cands if np.array_equal(b, signs[par[j]])]
        signs[j] = signs[m[j]] = (inherit or cands)[0]
    return signs


def _agreement(rotations: np.ndarray, c: int, mc: int, a: np.ndarray, b: np.ndarray) -> float:
    """Mean |cos(angle / 2)| between joint c's rotations and those of its counterpart mc mirrored with
    parent reflection a and own reflection b (every 4th frame)."""
    q = rotations[::4]
    return float(np.abs(np.sum(_mirrored(q[:, mc], a, b) * q[:, c], axis=-1)).mean())


def _mirrored(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(F, 4) quaternions of A R B for rotations q (F, 4) and diagonal reflections a, b."""
    # A R B = (A B)(B R B); B R B = (-B) R (-B) has quaternion (w, -B v) for a diagonal reflection B.
    brb = np.concatenate([q[:, :1], -q[:, 1:] * b], axis=-1)
    return quat_mul(np.broadcast_to(np.array(_HALF_TURNS[tuple(int(v) for v in a * b)]), brb.shape), brb)


@lru_cache(maxsize=64)
def _fitting_reflections(skeleton: Skeleton, animated: tuple[bool, ...]) -> tuple[tuple[int, ...] | None, ...]:
    """Per joint, the indices into _REFLECTIONS that map the rest offsets of its children (and end
    site) onto their counterparts' (None where there are no offsets to map: the joint inherits)."""
    par, m, off = skeleton.parents, skeleton.mirror_indices(), skeleton.offsets
    num_j = skeleton.num_joints
    for j in range(num_j):
        if m[m[j]] != j or (par[j] >= 0 and par[m[j]] != m[par[j]]) or (par[j] < 0) != (par[m[j]] < 0):
            raise MotionDataError(
                f"skeleton is not left/right symmetric: joint {skeleton.names[j]!r} and its counterpart "
                f"{skeleton.names[m[j]]!r} do not sit at mirrored places in the hierarchy"
            )
    fits: list[tuple[int, ...] | None] = []
    for j in range(num_j):
        pairs = []  # (offset, counterpart offset) this joint's reflection must map
        for a in {j, int(m[j])}:
            for c in skeleton.children(a):
                if not (animated[c] or animated[m[c]]):
                    pairs.append((off[c], off[m[c]]))
            if a in skeleton.end_sites and m[a] in skeleton.end_sites:
                pairs.append((skeleton.end_sites[a], skeleton.end_sites[int(m[a])]))
        if not pairs or max(np.linalg.norm(o) for o, _ in pairs) < 1e-6:
            fits.append(None)
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
        fits.append(tuple(k for k, e in enumerate(err) if e <= best + 1e-3))
    return tuple(fits)


def mirrorable(skeleton: Skeleton) -> bool:
    """Whether the skeleton's names pair some joints left/right (`Skeleton.mirror_indices`): what mirroring needs."""
    return bool((skeleton.mirror_indices() != np.arange(skeleton.num_joints)).any())


def mirror(clip: Clip, world_axis: int = 0, poses: np.ndarray | None = None) -> Clip:
    """Left/right mirrored clip (see the module docstring); the skeleton is unchanged.

    `world_axis` is the horizontal axis the world reflection flips (0 = X). `poses` (N, J, 4):
    local rotations that decide the reflections the offsets leave open (default: the clip's
    own); pass frames of the whole dataset so that all its clips mirror alike (a clip with
    one-sided motion can on its own pick a half turn about a bone), or use `Mirror`, which
    decides them once for many clips. Swap the clip's action label with
    `core.data.labels.mirror_label`.
    """
    animated = _animated_pairs(clip)
    signs = mirror_reflections(clip.skeleton, animated, world_axis, clip.rotations if poses is None else poses)
    return _reflect(clip, animated, signs)


class Mirror:
    """`mirror` with `poses` for the clips of one skeleton, the reflections decided once per set of
    animated joints instead of once per clip (deciding them is most of the time of mirroring)."""

    def __init__(self, poses: np.ndarray, world_axis: int = 0):
        self.poses, self.world_axis = poses, world_axis
        self.reflections: dict[tuple[bool, ...], np.ndarray] = {}

    def __call__(self, clip: Clip) -> Clip:
        animated = _animated_pairs(clip)
        key = tuple(animated.tolist())
        if key not in self.reflections:
            self.reflections[key] = mirror_reflections(clip.skeleton, animated, self.world_axis, self.poses)
        return _reflect(clip, animated, self.reflections[key])


def _animated_pairs(clip: Clip) -> np.ndarray:
    """(J,) bool: joints whose translation is animated, or whose counterpart's is."""
    animated = animated_joints(clip)
    return animated | animated[clip.skeleton.mirror_indices()]


def _reflect(clip: Clip, animated: np.ndarray, signs: np.ndarray) -> Clip:
    """The mirrored clip for reflections `signs` (J + 1, 3) (`mirror_reflections`)."""
    skel = clip.skeleton
    m, par = skel.mirror_indices(), skel.parents
    rot = np.empty_like(clip.rotations)
    trans = clip.translations.copy()
    for c in range(skel.num_joints):
        a = signs[par[c]]  # par -1 reads the world row
        rot[:, c] = _mirrored(clip.rotations[:, m[c]], a, signs[c])
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
