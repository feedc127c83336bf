"""Analytic two-bone leg IK and runs of contact frames: shared by the cleanup of generated
motion (`core.models.cleanup`) and by retargeting's foot planting (`core.retarget.feet`)."""

from __future__ import annotations

import numpy as np

from .rotations import normalize, rotation_about


def nearest_true(flags: np.ndarray) -> np.ndarray:
    """(F,) index of the nearest frame where `flags` (F,) is True; needs at least one."""
    idx = np.flatnonzero(flags)
    t = np.arange(len(flags))
    pos = np.clip(np.searchsorted(idx, t), 1, max(len(idx) - 1, 1))
    lo, hi = idx[pos - 1], idx[np.minimum(pos, len(idx) - 1)]
    return np.where(np.abs(t - lo) <= np.abs(hi - t), lo, hi)


def runs(flags: np.ndarray, bridge: float = 0, shortest: int = 1) -> list[tuple[int, int]]:
    """[start, end) of each run of True in (F,) flags, after joining runs at most `bridge` frames
    apart and dropping those shorter than `shortest` (flicker in contact flags)."""
    d = np.diff(np.r_[0, flags.astype(np.int8), 0])
    out: list[list[int]] = []
    for s, e in zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True):
        if out and s - out[-1][1] <= bridge:
            out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out if e - s >= shortest]


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray,
                reach: float = 1.0, hinge: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World-space turns (F, 3, 3) of the thigh and of the shin (about the knee) that bring the
    ankle to `target`; all inputs (F, 3) positions. The shin turns in the leg's bending plane to
    set the hip-ankle distance (at most `reach` of thigh + shin), then the whole leg swings about
    the hip onto the target. Where the leg is straight its bending plane is taken from the nearest
    frame where it is not. `hinge` (F, 3): the knee's own unit axis in the world, turning about which
    by a positive angle bends it (`core.motion.hinges`): the shin turns about it instead, to the
    bend the distance asks, so a knee neither bends sideways (a nearly straight leg's bending plane
    is mostly the rest pose's tilt) nor backwards.
    """
    thigh, shin = knee - hip, ankle - knee
    l1, l2 = np.linalg.norm(thigh, axis=-1), np.linalg.norm(shin, axis=-1)
    dist = np.clip(np.linalg.norm(target - hip, axis=-1), np.abs(l1 - l2) + 1e-9, (l1 + l2) * min(reach, 1 - 1e-9))
    wanted = np.arccos(np.clip((l1**2 + l2**2 - dist**2) / (2 * l1 * l2), -1, 1))  # interior angle at the knee
    if hinge is not None:
        flexion = np.arctan2(np.sum(np.cross(thigh, shin) * hinge, -1), np.sum(thigh * shin, -1))  # signed
        knee_turn = rotation_about(hinge, np.pi - wanted - flexion)
    else:
        bend = np.cross(thigh, shin)  # turning the shin about it bends the knee further
        bent = np.linalg.norm(bend, axis=-1) > 1e-6 * l1 * l2
        if bent.any():
            bend = np.where(bent[:, None], bend, bend[nearest_true(bent)])
        interior = np.arccos(np.clip(np.sum(-thigh * shin, -1) / (l1 * l2), -1, 1))
        knee_turn = rotation_about(normalize(bend), np.where(bent.any(), interior - wanted, 0.0))
    return swing(thigh + np.einsum("fij,fj->fi", knee_turn, shin), target - hip), knee_turn


def swing(a: np.ndarray, b: np.ndarray, max_angle: float = np.pi) -> np.ndarray:
    """(F, 3, 3) the least rotations turning the directions of vectors a (F, 3) towards those of b (F, 3), by at
    most `max_angle` radians."""
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    angle = np.arctan2(sin, np.sum(a * b, -1))
    # Opposite (or equal) directions have no cross product: any axis perpendicular to a turns a onto b.
    flat = sin <= 1e-9 * np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    if flat.any():
        other = np.where(np.abs(normalize(a)[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        axis = np.where(flat[..., None], np.cross(a, other), axis)
    return rotation_about(normalize(axis), np.minimum(angle, max_angle))
