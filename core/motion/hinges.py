"""Hinge joints: joints that recorded motion only ever turns about one axis of their own (knees, toes).

A knee of the Bandai Namco data keeps its axis to about 0.3 degrees. Leg IK bends such a knee about
that axis (`core.motion.ik.two_bone_ik`): the plane of a nearly straight leg is mostly the tilt of its
rest pose, and bending in it threw a knee sideways (weights/diffusion.md)."""

from __future__ import annotations

import numpy as np

from .rotations import normalize

Hinges = dict[int, np.ndarray]  # joint -> its unit axis as its parent sees it (3,)


def find_hinges(rotations: np.ndarray, max_wobble: float = 0.02, min_motion: float = 0.05) -> Hinges:
    """Hinge joints of local rotations (F, J, 3, 3): those with one axis a of their own that every frame's
    rotation R turns to the same b in the parent's frame (R a = b: a turn about a after a fixed turn), to
    within `max_wobble` radians rms, while the joint turns by more than `min_motion` radians rms. The
    axis b points so that the joint mostly turns by positive angles about it (the way a knee bends)."""
    out: Hinges = {}
    for j in range(rotations.shape[1]):
        rot = rotations[:, j]  # (F, 3, 3)
        dev = rot - rot.mean(0)
        # a minimises the spread of R a over the frames: the eigenvector of the least eigenvalue
        evals, evecs = np.linalg.eigh(np.einsum("fki,fkj->ij", dev, dev) / len(dev))
        wobble, motion = np.sqrt(np.maximum(evals[[0, -1]], 0.0))
        if wobble < max_wobble and motion > min_motion:
            axis = evecs[:, 0]
            skew = rot - np.swapaxes(rot, -1, -2)  # (F, 3, 3): 2 sin(angle) [turn axis]x
            axis = axis * (np.sign(np.median(skew[:, [2, 0, 1], [1, 2, 0]] @ axis)) or 1.0)
            out[j] = normalize(np.einsum("fij,j->i", rot, axis))
    return out


def hinges_to_json(hinges: Hinges, names: tuple[str, ...]) -> dict:
    return {names[j]: axis.tolist() for j, axis in hinges.items()}


def hinges_from_json(d: dict, names: tuple[str, ...]) -> Hinges:
    return {names.index(n): np.array(axis) for n, axis in d.items()}
