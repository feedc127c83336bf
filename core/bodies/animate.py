"""A generated clip performed by a character: retargeted to its proportions, as glTF node keys (Y up, metres)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..motion.clip import Clip
from ..retarget.armature_space import Y_UP_TO_Z_UP
from ..retarget.bone_map import JOINTS as MAPPED
from ..retarget.reference import reference_pose
from ..retarget.retarget import retarget
from .body import JOINTS, PARENTS, Mesh
from .gltf import to_y_up


@dataclass(frozen=True)
class NodeAnimation:
    name: str
    times: np.ndarray  # (F,) seconds
    translations: np.ndarray  # (F, 22, 3) local node translations, metres, Y up
    rotations: np.ndarray  # (F, 22, 4) local node rotations (x, y, z, w), glTF order


def character_animation(mesh: Mesh, clip: Clip, name: str) -> NodeAnimation:
    """`clip` (GenAnim's skeleton) on the character's own skeleton, feet planted on its floor.

    The character's bones rest with no rotation (see gltf.py), so a retargeted pose-bone basis is directly the
    node's rotation, and its location adds to the rest offset."""
    rest = np.tile(np.eye(4), (len(JOINTS), 1, 1))
    rest[:, :3, 3] = mesh.joints  # Z up, like the retargeter's Blender rigs
    # joint_Root is left unmapped: it stays on the floor under the rest hips, and the hips carry the travel.
    pose = retarget(clip, reference_pose(clip.skeleton, clip), {j: j for j in MAPPED}, JOINTS, PARENTS, rest,
                    Y_UP_TO_Z_UP)
    par = np.array(PARENTS)
    offsets = mesh.joints - np.where(par[:, None] >= 0, mesh.joints[np.maximum(par, 0)], 0.0)
    frames = len(pose.locations)
    trans = np.broadcast_to(offsets, (frames, len(JOINTS), 3)).copy()
    quat = np.zeros((frames, len(JOINTS), 4))
    quat[..., 0] = 1.0
    for i, bone in enumerate(pose.bones):
        j = JOINTS.index(bone)
        trans[:, j] += pose.locations[:, i]
        quat[:, j] = pose.quaternions[:, i]
    rot = np.concatenate([to_y_up(quat[..., 1:]), quat[..., :1]], -1)  # the axis turns with the space
    return NodeAnimation(name, np.arange(frames) / clip.fps, to_y_up(trans), rot)
