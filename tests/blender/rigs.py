"""Rigs other than GenAnim's for the retargeting tests: their geometry (numpy) and built in Blender."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# Run as a script by the install checks, which must not import the repository's `core` before they have
# looked whether the installed add-on leaks one: the functions below import it when called.
if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def rig_matrices(pose, names: list[str], parents: list[int], rest: np.ndarray) -> np.ndarray:
    """(F, B, 4, 4) armature-space bone matrices of a retargeted pose, composed as Blender does."""
    from core.retarget.rig import Rig, pose_matrices

    return pose_matrices(Rig(tuple(names), tuple(parents), rest, np.eye(3)), pose)


def tpose_clip(clip):
    """`clip` carried by a T-pose skeleton with Mixamo's names (no prefix) and proportions, in cm, Y up:
    what a BVH from another source looks like (its rest pose is a T-pose, unlike GenAnim's)."""
    from core.motion.clip import Clip
    from core.motion.skeleton import Skeleton
    from core.retarget.rig import rig_clip, to_rig
    from core.retarget.standard_rigs import MIXAMO_MAP, mixamo_rig

    rig = mixamo_rig()
    metres = rig_clip(rig, to_rig(clip, rig, MIXAMO_MAP), clip.fps)
    skel = metres.skeleton
    return Clip(Skeleton(skel.names, skel.parents, 100.0 * skel.offsets), metres.rotations,
                100.0 * metres.translations, clip.fps, "tpose")


def _build_armature(name: str, bones, rolls, connected=lambda bone: False):
    """An armature object of `bones` (name, parent, head, tail) with bone rolls `rolls`, made active."""
    import bpy

    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='EDIT')
    for (bone, parent, head, tail), roll in zip(bones, rolls, strict=True):
        eb = arm.edit_bones.new(bone)
        eb.head, eb.tail, eb.roll = head, tail, roll
        if parent:
            eb.parent = arm.edit_bones[parent]
            eb.use_connect = connected(bone)
    bpy.ops.object.mode_set(mode='OBJECT')
    return obj


def build_mixamo_rig(name: str = "Mixamo", a_pose: bool = False, prefix: str = "mixamorig:"):
    """A Mixamo-named armature with assorted bone rolls (as imported rigs have), connected chains."""
    from core.retarget.standard_rigs import mixamo_bones

    bones = [(prefix + b, parent and prefix + parent, head, tail) for b, parent, head, tail in mixamo_bones(a_pose)]
    loose = {prefix + b for b in ("LeftShoulder", "RightShoulder", "LeftUpLeg", "RightUpLeg")}
    return _build_armature(name, bones, np.linspace(-2.5, 2.5, len(bones)), lambda bone: bone not in loose)


def build_rigify_metarig():
    """Rigify's human metarig (the add-on is enabled for it), as an animator adds it."""
    import addon_utils
    import bpy

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.active_object


# MakeHuman's game_engine skeleton as MPFB2 builds it, 1.75 m, Z up, facing -Y: a root bone at the feet,
# three spine bones and unmapped finger bones (bone, parent, head, tail).
_MAKEHUMAN_CENTRE = [
    ("root", None, (0, 0, 0), (0, 0.1, 0)),
    ("pelvis", "root", (0, 0, 0.98), (0, 0, 1.06)),
    ("spine_01", "pelvis", (0, 0, 1.06), (0, 0, 1.18)),
    ("spine_02", "spine_01", (0, 0, 1.18), (0, 0, 1.30)),
    ("spine_03", "spine_02", (0, 0, 1.30), (0, 0, 1.44)),
    ("neck_01", "spine_03", (0, 0, 1.44), (0, 0, 1.55)),
    ("head", "neck_01", (0, 0, 1.55), (0, 0, 1.75)),
]
_MAKEHUMAN_LEFT = [
    ("clavicle_l", "spine_03", (0.03, 0, 1.40), (0.17, 0, 1.42)),
    ("upperarm_l", "clavicle_l", (0.17, 0, 1.42), (0.42, 0, 1.28)),
    ("lowerarm_l", "upperarm_l", (0.42, 0, 1.28), (0.64, 0, 1.14)),
    ("hand_l", "lowerarm_l", (0.64, 0, 1.14), (0.72, 0, 1.09)),
    ("index_01_l", "hand_l", (0.72, 0, 1.09), (0.76, 0, 1.06)),
    ("thigh_l", "pelvis", (0.10, 0, 0.94), (0.10, 0, 0.52)),
    ("calf_l", "thigh_l", (0.10, 0, 0.52), (0.10, 0.02, 0.09)),
    ("foot_l", "calf_l", (0.10, 0.02, 0.09), (0.10, -0.11, 0.02)),
    ("ball_l", "foot_l", (0.10, -0.11, 0.02), (0.10, -0.18, 0.02)),
]


def build_makehuman_rig(name: str = "MakeHuman"):
    """MakeHuman's game_engine rig (A-pose arms, a root bone, fingers), assorted bone rolls."""
    bones = list(_MAKEHUMAN_CENTRE)
    for bone, parent, head, tail in _MAKEHUMAN_LEFT:
        bones.append((bone, parent, head, tail))
        bones.append((bone[:-2] + "_r", parent[:-2] + "_r" if parent.endswith("_l") else parent,
                      (-head[0], head[1], head[2]), (-tail[0], tail[1], tail[2])))
    return _build_armature(name, bones, [(k * 0.7) % 3.0 - 1.5 for k in range(len(bones))])
