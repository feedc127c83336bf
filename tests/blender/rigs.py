"""Rigs other than GenAnim's for the retargeting tests: their geometry (numpy) and built in Blender."""

from __future__ import annotations

import numpy as np

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


def rig_matrices(pose, names: list[str], parents: list[int], rest: np.ndarray) -> np.ndarray:
    """(F, B, 4, 4) armature-space bone matrices of a retargeted pose, composed as Blender does."""
    num_f = len(pose.quaternions)
    full = np.empty((num_f, len(names), 4, 4))
    from core.motion.rotations import quat_to_matrix

    for b, p in enumerate(parents):
        basis = np.tile(np.eye(4), (num_f, 1, 1))
        if names[b] in pose.bones:
            k = pose.bones.index(names[b])
            basis[:, :3, :3] = quat_to_matrix(pose.quaternions[:, k])
            basis[:, :3, 3] = pose.locations[:, k]
        local = rest[b] if p < 0 else np.linalg.inv(rest[p]) @ rest[b]
        full[:, b] = (local if p < 0 else full[:, p] @ local) @ basis
    return full


def tpose_clip(clip):
    """`clip` carried by a T-pose skeleton with Mixamo's names (no prefix) and proportions, in cm, Y up:
    what a BVH from another source looks like (its rest pose is a T-pose, unlike GenAnim's)."""
    from core.motion.clip import Clip
    from core.motion.rotations import matrix_to_quat
    from core.motion.skeleton import Skeleton
    from core.retarget.armature_space import Y_UP_TO_Z_UP as C
    from core.retarget.bone_map import PRESETS
    from core.retarget.reference import reference_pose
    from core.retarget.retarget import retarget

    names, parents, rest = mixamo_arrays()
    bone_map = {j: b.removeprefix("mixamorig:") for j, b in PRESETS["MIXAMO"].items()}
    full = rig_matrices(retarget(clip, reference_pose(clip.skeleton), bone_map, names, parents, rest),
                        names, parents, rest)
    g_rot = C.T @ full[..., :3, :3] @ np.swapaxes(rest[:, :3, :3], -1, -2) @ C  # rest rotations are identity
    g_pos = full[..., :3, 3] @ C / 0.01
    heads = rest[:, :3, 3] @ C / 0.01
    offsets = np.array([heads[b] - (heads[p] if p >= 0 else 0) for b, p in enumerate(parents)])
    rot = np.empty_like(g_rot)
    trans = np.broadcast_to(offsets, g_pos.shape).copy()
    for b, p in enumerate(parents):
        rot[:, b] = g_rot[:, b] if p < 0 else np.swapaxes(g_rot[:, p], -1, -2) @ g_rot[:, b]
        if p < 0:
            trans[:, b] = g_pos[:, b]
    return Clip(Skeleton(tuple(names), np.array(parents), offsets), matrix_to_quat(rot), trans, clip.fps, "tpose")


def build_mixamo_rig(name: str = "Mixamo", a_pose: bool = False, prefix: str = "mixamorig:"):
    """A Mixamo-named armature with assorted bone rolls (as imported rigs have), connected chains."""
    import bpy

    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='EDIT')
    rolls = np.linspace(-2.5, 2.5, 22)
    for k, (bone, parent, head, tail) in enumerate(mixamo_bones(a_pose)):
        eb = arm.edit_bones.new(prefix + bone)
        eb.head, eb.tail, eb.roll = head, tail, rolls[k]
        if parent:
            eb.parent = arm.edit_bones[prefix + parent]
            eb.use_connect = bone not in ("LeftShoulder", "RightShoulder", "LeftUpLeg", "RightUpLeg")
    bpy.ops.object.mode_set(mode='OBJECT')
    return obj


def build_rigify_metarig():
    """Rigify's human metarig (the add-on is enabled for it), as an animator adds it."""
    import addon_utils
    import bpy

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.active_object
