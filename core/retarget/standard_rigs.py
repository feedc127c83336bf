"""A reference rig of other proportions than GenAnim's skeleton, for measuring what retargeting costs.

A Mixamo-named character (bone names without the "mixamorig:" prefix), T- or A-pose, with bone rolls
drawn at random as imported rigs have them; used by the in-betweening benchmark's rig-transfer row and
by the retargeting tests.
"""

from __future__ import annotations

import numpy as np

from .armature_space import Y_UP_TO_Z_UP
from .bone_map import PRESETS
from .rig import Rig

# A Mixamo-named T-pose character 1.8 m tall (Z up, facing -Y, its left at +X): (bone, parent, head, tail).
_MIXAMO_CENTRE = [
    ("Hips", None, (0, 0, 1.0), (0, 0, 1.1)),
    ("Spine", "Hips", (0, 0, 1.1), (0, 0, 1.22)),
    ("Spine1", "Spine", (0, 0, 1.22), (0, 0, 1.34)),
    ("Spine2", "Spine1", (0, 0, 1.34), (0, 0, 1.5)),
    ("Neck", "Spine2", (0, 0, 1.5), (0, 0, 1.6)),
    ("Head", "Neck", (0, 0, 1.6), (0, 0, 1.8)),
]
_MIXAMO_LEFT = [
    ("LeftShoulder", "Spine2", (0.06, 0, 1.45), (0.18, 0, 1.45)),
    ("LeftArm", "LeftShoulder", (0.18, 0, 1.45), (0.45, 0, 1.45)),
    ("LeftForeArm", "LeftArm", (0.45, 0, 1.45), (0.70, 0, 1.45)),
    ("LeftHand", "LeftForeArm", (0.70, 0, 1.45), (0.80, 0, 1.45)),
    ("LeftUpLeg", "Hips", (0.09, 0, 0.95), (0.09, 0, 0.52)),
    ("LeftLeg", "LeftUpLeg", (0.09, 0, 0.52), (0.09, 0, 0.08)),
    ("LeftFoot", "LeftLeg", (0.09, 0, 0.08), (0.09, -0.12, 0.02)),
    ("LeftToeBase", "LeftFoot", (0.09, -0.12, 0.02), (0.09, -0.2, 0.02)),
]


def mixamo_bones(a_pose: bool = False) -> list[tuple[str, str | None, np.ndarray, np.ndarray]]:
    """The rig's bones; `a_pose` lowers the arms 45 degrees about the shoulder joint."""
    out = []
    for name, parent, head, tail in _MIXAMO_CENTRE + _MIXAMO_LEFT:
        head, tail = np.array(head, float), np.array(tail, float)
        if a_pose and name in ("LeftArm", "LeftForeArm", "LeftHand"):
            pivot = np.array([0.18, 0, 1.45])
            c, s = np.cos(np.radians(-45)), np.sin(np.radians(-45))
            turn = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
            head, tail = pivot + turn @ (head - pivot), pivot + turn @ (tail - pivot)
        out.append((name, parent, head, tail))
        if name.startswith("Left"):
            mirror = np.array([-1.0, 1, 1])
            out.append((name.replace("Left", "Right"), parent and parent.replace("Left", "Right"),
                        head * mirror, tail * mirror))
    return out


def rest_matrices(heads: np.ndarray, tails: np.ndarray, rolls: np.ndarray) -> np.ndarray:
    """Bone rest matrices laid out as Blender's: Y along the bone, any roll about it."""
    rest = np.tile(np.eye(4), (len(heads), 1, 1))
    for b, (h, t, roll) in enumerate(zip(heads, tails, rolls, strict=True)):
        y = (t - h) / np.linalg.norm(t - h)
        x = np.cross(y, [0.3, 0.5, 0.8])
        x /= np.linalg.norm(x)
        z = np.cross(x, y)
        x, z = np.cos(roll) * x + np.sin(roll) * z, -np.sin(roll) * x + np.cos(roll) * z
        rest[b, :3, :3] = np.stack([x, y, z], axis=1)
        rest[b, :3, 3] = h
    return rest


def mixamo_arrays(a_pose: bool = False, roll_seed: int = 0) -> tuple[list[str], list[int], np.ndarray]:
    """(names, parents, (B, 4, 4) rest matrices) of the Mixamo-named rig, bone rolls drawn at random."""
    bones = mixamo_bones(a_pose)
    names = [b[0] for b in bones]
    parents = [names.index(b[1]) if b[1] else -1 for b in bones]
    rolls = np.random.default_rng(roll_seed).uniform(-np.pi, np.pi, len(bones))
    return names, parents, rest_matrices(np.array([b[2] for b in bones]), np.array([b[3] for b in bones]), rolls)


# {GenAnim joint: bone} of `mixamo_rig`.
MIXAMO_MAP = {j: b.removeprefix("mixamorig:") for j, b in PRESETS["MIXAMO"].items()}


def mixamo_rig(a_pose: bool = False, roll_seed: int = 0) -> Rig:
    """The Mixamo-named rig, its armature axes Blender's (Z up)."""
    names, parents, rest = mixamo_arrays(a_pose, roll_seed)
    return Rig(tuple(names), tuple(parents), rest, Y_UP_TO_Z_UP)
