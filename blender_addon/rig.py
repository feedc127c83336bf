# SPDX-License-Identifier: GPL-3.0-or-later
"""Putting a core clip onto any armature: our own exactly, other rigs through the bone map and core's retargeting."""

from __future__ import annotations

import bpy
import numpy as np

from .armature import is_genanim_armature, write_clip_action, write_pose_action
from .core.errors import RigError
from .core.motion.clip import Clip
from .core.motion.skeleton import Skeleton
from .core.retarget.armature_space import Y_UP_TO_Z_UP
from .core.retarget.bone_map import JOINTS, REQUIRED, check_bone_map, detect_bone_map, preset_map
from .core.retarget.rig import Rig, to_rig


def selected_armature(context: bpy.types.Context) -> bpy.types.Object:
    """The active object if it is an armature; RigError saying what is wrong otherwise."""
    obj = context.active_object
    if obj is None:
        selected = [o for o in context.selected_objects if o.type == 'ARMATURE']
        if len(selected) == 1:
            return selected[0]
        raise RigError("Nothing is selected: select an armature (click it in the viewport or Outliner)")
    if obj.type != 'ARMATURE':
        raise RigError(f"{obj.name!r} is a {obj.type.lower()}, not an armature: select the character's armature")
    return obj


def active_action(obj: bpy.types.Object, use: str) -> bpy.types.Action:
    """`obj`'s active action; RigError saying it has none and what it was wanted for (`use`) otherwise."""
    action = obj.animation_data.action if obj.animation_data else None
    if action is None:
        raise RigError(f"{obj.name!r} has no active action {use}")
    return action


def rig_of(obj: bpy.types.Object) -> Rig:
    """The armature's bones (names, parents, armature-space rest matrices) and axes, as core's retargeting sees them."""
    bones = list(obj.data.bones)
    names = tuple(b.name for b in bones)
    index = {n: i for i, n in enumerate(names)}
    parents = tuple(index[b.parent.name] if b.parent else -1 for b in bones)
    return Rig(names, parents, np.array([np.array(b.matrix_local) for b in bones]), rig_axes(obj))


def fill_bone_map(obj: bpy.types.Object, preset: str) -> dict[str, str]:
    """Fill the armature's editable mapping list from a preset (AUTO: the best match); returns the found map."""
    names = [b.name for b in obj.data.bones]
    if preset == 'AUTO':
        _, found = detect_bone_map(names)
    else:
        found = preset_map(preset, names)
    obj.genanim_bone_map.clear()
    for joint in JOINTS:
        item = obj.genanim_bone_map.add()
        item.joint = joint
        item.bone = found.get(joint, "")
    return found


def bone_map_of(obj: bpy.types.Object) -> dict[str, str]:
    """The armature's bone map: its edited list if it has one, else detected now; checked (RigError names gaps)."""
    if len(obj.genanim_bone_map):
        bone_map = {item.joint: item.bone for item in obj.genanim_bone_map}
    else:
        bone_map = detect_bone_map(b.name for b in obj.data.bones)[1]
    return check_bone_map(bone_map, (b.name for b in obj.data.bones), f"Rig {obj.name!r}")


def source_map_of(skeleton: Skeleton) -> dict[str, str] | None:
    """None for clips of GenAnim's skeleton; else which of the clip's joints plays each GenAnim joint."""
    if all(j in skeleton.names for j in REQUIRED):
        return None
    found = detect_bone_map(skeleton.names)[1]
    return check_bone_map(found, skeleton.names, "The clip's skeleton")


def rig_axes(obj: bpy.types.Object) -> np.ndarray:
    """Data axes (Y up) -> this armature's space, undoing the object's own rotation (e.g. FBX imports)."""
    rot = np.array(obj.matrix_world.to_3x3().normalized())
    return rot.T @ Y_UP_TO_Z_UP


def apply_clip(
    obj: bpy.types.Object, clip: Clip, action_name: str, *, frame_start: int = 1, assign: bool = True
) -> bpy.types.Action:
    """Write `clip` onto armature `obj` as a new action: exactly on a GenAnim armature, retargeted otherwise."""
    if clip.num_frames == 0:
        raise RigError("the clip has zero frames: nothing to animate")
    if is_genanim_armature(obj, clip.skeleton):
        return write_clip_action(obj, clip, action_name, frame_start=frame_start, assign=assign)
    bone_map = bone_map_of(obj)
    source_map = source_map_of(clip.skeleton)
    if source_map is not None:
        bone_map = {j: b for j, b in bone_map.items() if j in source_map}
    pose = to_rig(clip, rig_of(obj), bone_map, source_map)
    return write_pose_action(
        obj, pose.bones, pose.locations, pose.quaternions, pose.moving, action_name,
        frame_start=frame_start, assign=assign,
    )
