"""Foot contacts for retargeted motion: standing feet sit on the floor and do not slide.

Rotation deltas carry the source's joint angles onto a rig of other proportions, so a
standing foot floats, sinks or slides. Contacts are found on the source (a foot joint
near the lowest height it reaches, and slow). During each, the rig's ankle moves so that
the lowest of its foot's sole points touches the rig's floor, and across the floor it
travels only as the source's ankle does (scaled to the rig; a planted mocap ankle barely
moves, so the rig's slide is removed while heel and toe roll are kept). Two-bone IK of
hip and knee takes it there and keeps the foot's own orientation; where the leg cannot
reach, the root is lowered first. Corrections fade in and out over EASE_S either side.
Pure numpy; `plant` works on any forward kinematics given as a function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..motion.ik import nearest_true, runs, two_bone_ik

CONTACT_HEIGHT = 0.03  # leg lengths above the lowest height a foot joint reaches (2.5 cm on an 85 cm leg)
CONTACT_SPEED = 0.25  # leg lengths per second across the floor (21 cm/s on an 85 cm leg)
GAP_S = 0.1  # shorter breaks in a contact are flicker: bridged, so the ankle keeps one anchor
EASE_S = 0.15  # seconds over which a correction fades in before a contact and out after it
REACH = 0.995  # planted legs stretch to at most this fraction of thigh + shin: a locked knee has no bend axis


@dataclass
class Leg:
    """One rig leg to plant: rig bone indices, the source joints driving them, where it stands."""

    bones: tuple[int, int, int]  # rig thigh, shin, foot
    joints: tuple[int, int]  # source joints whose rotations drive the thigh and the shin
    sole: np.ndarray  # (K, 3) rest armature-space points under the foot that the foot bone carries
    contact: np.ndarray  # (F,) bool: frames the source's foot stands
    guide: np.ndarray  # (F, 3) the source's ankle in rig axes and units: how a planted ankle may travel


def foot_contacts(heights: np.ndarray, planar: np.ndarray, fps: float, leg: float) -> np.ndarray:
    """(F,) bool: frames where any of one foot's joints stands.

    heights (F, K) and planar positions (F, K, 2) of the foot's joints (ankle, toes), source
    units; leg: the source's leg length in those units. A joint stands when it is within
    CONTACT_HEIGHT of the lowest height it reaches (its 5th percentile) and moves slower than
    CONTACT_SPEED across the floor. Breaks up to GAP_S long are bridged.
    """
    near = heights - np.percentile(heights, 5, axis=0) < CONTACT_HEIGHT * leg
    if len(heights) < 2:
        return near.any(axis=1)
    speed = np.linalg.norm(np.gradient(planar, axis=0), axis=-1) * fps
    contact = np.any(near & (speed < CONTACT_SPEED * leg), axis=1)
    for s, e in runs(contact, bridge=GAP_S * fps):
        contact[s:e] = True
    return contact


def ease(values: np.ndarray, known: np.ndarray, frames: int) -> np.ndarray:
    """(F, D) values kept where `known` (F,) and, elsewhere, the nearest known value fading
    linearly to zero `frames` + 1 frames away."""
    if not known.any():
        return np.zeros_like(values)
    near = nearest_true(known)
    w = np.clip(1 - np.abs(np.arange(len(known)) - near) / (frames + 1), 0, 1)
    return values[near] * w[:, None]


def dilate(need: np.ndarray, frames: int) -> np.ndarray:
    """(F,) at least `need` at every frame, each value fading linearly over `frames` + 1 frames either side."""
    out = np.zeros_like(need)
    t = np.arange(len(need))
    for s in np.flatnonzero(need > 0):
        out = np.maximum(out, need[s] * np.clip(1 - np.abs(t - s) / (frames + 1), 0, 1))
    return out


def carried(full: np.ndarray, rest: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(F, K, 3) where a bone posed by `full` (F, 4, 4) takes the (K, 3) points it carries from rest (4, 4)."""
    local = (points - rest[:3, 3]) @ rest[:3, :3]  # into the bone's frame: R^T (p - t), as rows
    return local @ full[:, :3, :3].transpose(0, 2, 1) + full[:, None, :3, 3]


def plant(fk: Callable[[np.ndarray, np.ndarray], np.ndarray], rot: np.ndarray, root_pos: np.ndarray,
          rest: np.ndarray, legs: list[Leg], up: np.ndarray, floor: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Source rotations (F, J, 3, 3) and root positions (F, 3) with the legs' contacts planted.

    fk(rot, root_pos) -> (F, B, 4, 4) armature-space rig bone matrices, where a bone driven by
    source joint j turns with rot[:, j] (world-space turns applied to rot[:, j] turn the bone);
    rest (B, 4, 4) the rig's rest matrices; up (3,) the rig's up axis; floor: its height.
    """
    full = fk(rot, root_pos)
    frames = int(round(EASE_S * fps))
    targets, need = [], np.zeros(len(rot))
    for leg in legs:
        hip, knee, foot = leg.bones
        ankle = full[:, foot, :3, 3]
        lowest = (carried(full[:, foot], rest[foot], leg.sole) @ up).min(1)  # (F,) lowest sole point's height
        offset = np.outer(floor - lowest, up)
        for s, e in runs(leg.contact):
            m = (s + e) // 2  # the ankle stays where it is mid-contact, moving only as the source's does
            slide = ankle[s:e] - ankle[m] - (leg.guide[s:e] - leg.guide[m])
            offset[s:e] -= slide - np.outer(slide @ up, up)
        target = ankle + ease(offset, leg.contact, frames)
        targets.append(target)
        to_target = target - full[:, hip, :3, 3]
        reach = REACH * (np.linalg.norm(full[:, knee, :3, 3] - full[:, hip, :3, 3], axis=-1)
                         + np.linalg.norm(ankle - full[:, knee, :3, 3], axis=-1))
        below = -(to_target @ up)  # how far the target is below the hip
        across2 = np.maximum(np.sum(to_target**2, -1) - below**2, 0)
        drop = below - np.sqrt(np.maximum(reach**2 - across2, 0))  # root drop that brings the target in reach
        need = np.maximum(need, np.where(np.linalg.norm(to_target, axis=-1) > reach, drop, 0.0))
    root_pos = root_pos - np.outer(dilate(need, frames), up)
    full = fk(rot, root_pos)
    rot = rot.copy()
    for leg, target in zip(legs, targets, strict=True):
        hip, knee, foot = leg.bones
        swing, knee_turn = two_bone_ik(full[:, hip, :3, 3], full[:, knee, :3, 3], full[:, foot, :3, 3], target)
        thigh_j, shin_j = leg.joints
        rot[:, shin_j] = swing @ knee_turn @ rot[:, shin_j]
        rot[:, thigh_j] = swing @ rot[:, thigh_j]
    return rot, root_pos

