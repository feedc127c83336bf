"""Every difference between the Blender versions GenAnim supports (4.5 LTS and 5.0) lives here.

Callers never test `bpy.app.version` themselves; they call these helpers.
Features are detected where possible, so a point release that backports or
moves an API keeps working.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy_extras import anim_utils


def new_action_slot(action: bpy.types.Action, obj: bpy.types.Object) -> bpy.types.ActionSlot:
    """A new slot in `action` for animating `obj` (named after it)."""
    return action.slots.new(id_type=obj.id_type, name=obj.name)


def ensure_channelbag(action: bpy.types.Action, slot: bpy.types.ActionSlot) -> bpy.types.ActionChannelbag:
    """The channelbag holding `slot`'s F-curves, created if missing."""
    ensure = getattr(anim_utils, "action_ensure_channelbag_for_slot", None)
    if ensure is not None:  # 5.0+
        return ensure(action, slot)
    # 4.4/4.5: one layer with one keyframe strip, as 5.0's helper builds it.
    if not action.layers:
        action.layers.new("Layer")
    layer = action.layers[0]
    if not layer.strips:
        layer.strips.new(type='KEYFRAME')
    return layer.strips[0].channelbag(slot, ensure=True)


def get_channelbag(action: bpy.types.Action, slot: bpy.types.ActionSlot) -> bpy.types.ActionChannelbag | None:
    """`slot`'s channelbag in `action`, or None."""
    return anim_utils.action_get_channelbag_for_slot(action, slot)


def assign_action(obj: bpy.types.ID, action: bpy.types.Action, slot: bpy.types.ActionSlot) -> None:
    """Make `action`/`slot` the active action of `obj`."""
    adt = obj.animation_data or obj.animation_data_create()
    adt.action = action
    adt.action_slot = slot


def new_fcurve(
    channelbag: bpy.types.ActionChannelbag, data_path: str, index: int, group_name: str
) -> bpy.types.FCurve:
    """A new F-curve in `channelbag`, in the channel group `group_name` (created if missing)."""
    fcurves = channelbag.fcurves
    if "group_name" in fcurves.bl_rna.functions["new"].parameters:  # 5.0+
        return fcurves.new(data_path, index=index, group_name=group_name)
    # 4.5: fcurves.new has no group argument; assign the group afterwards.
    group = channelbag.groups.get(group_name) or channelbag.groups.new(group_name)
    fc = fcurves.new(data_path, index=index)
    fc.group = group
    return fc


def set_strip_slot(strip: bpy.types.NlaStrip, slot: bpy.types.ActionSlot) -> None:
    """Make an NLA strip play `slot` of its action (needed once an action can hold several slots)."""
    if getattr(strip, "action_slot", None) != slot:
        strip.action_slot = slot


def user_data_dir(package: str, *parts: str, create: bool = True) -> Path:
    """A writable folder for the add-on's data (downloads, caches), created if missing (when `create`).

    Extensions get their own user folder; a legacy add-on install has none
    (`extension_path_user` raises ValueError), so it uses Blender's user
    DATAFILES folder instead. Never the add-on's own folder, which updates replace.
    """
    try:
        base = Path(bpy.utils.extension_path_user(package, create=create))
    except ValueError:
        base = Path(bpy.utils.user_resource('DATAFILES', path="genanim", create=create))
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def online_access_allowed() -> bool:
    """Whether the user allows Blender to go online (always true before 4.2 had the setting)."""
    return bool(getattr(bpy.app, "online_access", True))
