"""A rig's motion as a clip and back: the round trip that lets GenAnim's models work on any mapped rig.

A rig is its bones' names, parents and armature-space rest matrices (Blender: `bone.matrix_local`) and the
axes that take data space (Y up, front +Z) to its armature space. Its motion is a pose-bone basis per
frame and bone, as Blender keys it. `rig_clip` turns that motion into a clip of a skeleton made of the
rig's own bones (its rest pose is the rig's rest, in the rig's units), which `to_skeleton` retargets onto
GenAnim's skeleton; `to_rig` retargets a clip of GenAnim's skeleton onto the rig. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import RigError
from ..motion.clip import Clip
from ..motion.kinematics import forward_kinematics
from ..motion.skeleton import Skeleton
from .armature_space import pose_basis_to_clip, posed_matrices
from .reference import reference_pose
from .retarget import RigPose, _topological, leg_length, retarget


@dataclass(frozen=True)
class Rig:
    names: tuple[str, ...]  # (B,) bone names
    parents: tuple[int, ...]  # (B,) parent index or -1
    rest: np.ndarray  # (B, 4, 4) armature-space rest matrices
    axes: np.ndarray  # (3, 3) data axes -> the rig's armature axes

    def __post_init__(self) -> None:
        rest = np.asarray(self.rest, dtype=np.float64)
        if rest.shape != (len(self.names), 4, 4) or len(self.parents) != len(self.names):
            raise RigError(f"expected {len(self.names)} bone rest matrices and parents, got {rest.shape} and "
                           f"{len(self.parents)}")
        object.__setattr__(self, "rest", rest)
        object.__setattr__(self, "axes", np.asarray(self.axes, dtype=np.float64))

    def order(self) -> list[int]:
        """Bone indices, parents before children."""
        return _topological(self.parents)

    def skeleton(self) -> Skeleton:
        """A skeleton of the rig's bones (parents first) resting as the rig rests, in data axes and rig units."""
        order = self.order()
        heads = self.rest[order, :3, 3] @ self.axes  # data axes: p = C^T h, as rows
        new = {b: k for k, b in enumerate(order)}
        parents = np.array([new[self.parents[b]] if self.parents[b] >= 0 else -1 for b in order])
        offsets = heads - np.where(parents[:, None] >= 0, heads[np.maximum(parents, 0)], 0.0)
        return Skeleton(tuple(self.names[b] for b in order), parents, offsets)


def full_bases(rig: Rig, pose: RigPose) -> tuple[np.ndarray, np.ndarray]:
    """((F, B, 3) locations, (F, B, 4) quaternions) of every rig bone: `pose`'s bones as posed, the others
    at rest (zero location, identity rotation)."""
    frames = len(pose.quaternions)
    loc = np.zeros((frames, len(rig.names), 3))
    quat = np.zeros((frames, len(rig.names), 4))
    quat[..., 0] = 1.0
    index = {n: i for i, n in enumerate(rig.names)}
    for k, bone in enumerate(pose.bones):
        loc[:, index[bone]] = pose.locations[:, k]
        quat[:, index[bone]] = pose.quaternions[:, k]
    return loc, quat


def pose_matrices(rig: Rig, pose: RigPose) -> np.ndarray:
    """(F, B, 4, 4) armature-space bone matrices of `pose`, composed as Blender does."""
    return posed_matrices(rig.rest, rig.parents, *full_bases(rig, pose), rig.order())


def rig_clip(rig: Rig, pose: RigPose, fps: float, name: str = "") -> Clip:
    """The rig's motion `pose` as a clip of `rig.skeleton()` (data axes, rig units)."""
    skel = rig.skeleton()
    order = [rig.names.index(n) for n in skel.names]
    loc, quat = full_bases(rig, pose)
    return pose_basis_to_clip(skel, rig.rest[order], loc[:, order], quat[:, order], fps, rig.axes, 1.0, None, name)


def to_rig(clip: Clip, rig: Rig, bone_map: Mapping[str, str], source_map: Mapping[str, str] | None = None) -> RigPose:
    """`clip` retargeted onto the rig's mapped bones (bone_map: {GenAnim joint: rig bone}), feet planted."""
    return retarget(clip, reference_pose(clip.skeleton, clip), bone_map, rig.names, rig.parents, rig.rest, rig.axes,
                    source_map)


def skeleton_rig(skeleton: Skeleton, pose: tuple[np.ndarray, np.ndarray]) -> tuple[Rig, np.ndarray]:
    """`skeleton` as a rig (data axes and units) whose bones rest in `pose` ((J, 3, 3) local rotations,
    (J, 3) translations), and the (J, 3, 3) global rotations of that pose."""
    g_rot, g_pos = forward_kinematics(skeleton.parents, *(np.asarray(p, np.float64) for p in pose))
    rest = np.tile(np.eye(4), (skeleton.num_joints, 1, 1))
    rest[:, :3, :3] = g_rot
    rest[:, :3, 3] = g_pos
    return Rig(skeleton.names, tuple(int(p) for p in skeleton.parents), rest, np.eye(3)), g_rot


def to_skeleton(clip: Clip, skeleton: Skeleton, source_map: Mapping[str, str]) -> Clip:
    """`clip` of another skeleton (a rig's, see `rig_clip`) retargeted onto GenAnim's `skeleton`;
    source_map: {GenAnim joint: the clip's joint}. Joints left unmapped keep their reference pose."""
    ref = reference_pose(skeleton)
    target, ref_rot = skeleton_rig(skeleton, ref)
    pose = retarget(clip, reference_pose(clip.skeleton, clip), {j: j for j in source_map}, target.names,
                    target.parents, target.rest, np.eye(3), source_map)
    loc, quat = full_bases(target, pose)
    return pose_basis_to_clip(skeleton, target.rest, loc, quat, clip.fps, np.eye(3), 1.0, ref_rot, clip.name)


def source_path(points: np.ndarray, rig: Rig, bone_map: Mapping[str, str],
                skeleton: Skeleton) -> tuple[np.ndarray, float]:
    """(N, 3) armature-space points a rig's hips should pass -> ((N, 2) ground points (x, z, the data's units)
    that a clip of `skeleton` (GenAnim's) must take its hips through for `to_rig` to put the rig's hips
    there, rig units per data unit): retargeting moves the rig's hips from their rest place by the source's
    travel times the ratio of leg lengths (see `retarget`)."""
    index = {n: i for i, n in enumerate(rig.names)}
    heads = rig.rest[:, :3, 3]
    _, ref_pos = forward_kinematics(skeleton.parents, *(np.asarray(p, np.float64) for p in reference_pose(skeleton)))
    scale = leg_length({j: heads[index[b]] for j, b in bone_map.items()}) / leg_length(
        {j: ref_pos[skeleton.names.index(j)] for j in bone_map if j in skeleton.names})
    data = (np.asarray(points, np.float64) - heads[index[bone_map["Hips"]]]) @ rig.axes / scale
    return data[:, [0, 2]], scale
