# SPDX-License-Identifier: GPL-3.0-or-later
"""Settings stored in the .blend: generation settings per scene, the bone mapping per armature object."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import generator
from .core.bodies.conditions import BUILDS
from .core.errors import GenAnimError
from .core.retarget.bone_map import PRESET_LABELS

PRESET_ITEMS = [("AUTO", "Automatic", "Match bones by name (presets first)")] + [
    (key, label, f"Bone names of the {label} rig") for key, label in PRESET_LABELS.items()
]


class GenAnimBoneMapItem(bpy.types.PropertyGroup):
    """One row of the editable mapping: a GenAnim joint and the rig bone that plays it."""

    joint: StringProperty(name="Joint", description="GenAnim skeleton joint")
    bone: StringProperty(name="Bone", description="Bone of this rig that follows the joint (empty: not mapped)")


def _is_armature(_self, obj: bpy.types.Object) -> bool:
    return obj.type == 'ARMATURE'


def _labels(context: bpy.types.Context, kind: str) -> list[str]:
    """The chosen model's action or style labels, offered as the field is typed in (none if it cannot be read)."""
    try:
        _, actions, styles = generator.model_info(context, context.scene.genanim.model)
    except GenAnimError:
        return []
    return actions if kind == "actions" else styles


class GenAnimSettings(bpy.types.PropertyGroup):
    """What the GenAnim panels operate with, saved per scene."""

    action: StringProperty(name="Action", default="walk", search=lambda _s, context, _t: _labels(context, "actions"),
                           description="Action label, e.g. walk, run, wave-right-hand (the list: the model's own)")
    style: StringProperty(name="Style", default="normal", search=lambda _s, context, _t: _labels(context, "styles"),
                          description="Style label, e.g. normal, happy, elderly (the list: the model's own)")
    seconds: FloatProperty(name="Duration", default=4.0, min=0.0, soft_min=0.5, max=60.0, unit='TIME_ABSOLUTE',
                           description="Length of each generated clip in seconds")
    variations: IntProperty(name="Variations", default=1, min=1, max=32,
                            description="How many different clips to generate (one new action each)")
    excerpt: BoolProperty(name="Excerpt", default=False,
                          description="A piece from the middle of a performance (to loop or cut into) instead of "
                          "a whole take that starts and ends at rest")
    foot_pins: BoolProperty(name="Foot Pins", default=True,
                            description="Hold still the feet the model flags in contact (off: the feet as the "
                            "network made them, for your own foot locking)")
    seed: IntProperty(name="Seed", default=0, min=0, description="Seed of the first variation (+1 per variation)")
    guidance: FloatProperty(name="Guidance", default=1.5, min=0.0, max=20.0,
                            description="How strongly the labels steer the motion (classifier-free guidance)")
    steps: IntProperty(name="Steps", default=0, min=0, max=1000,
                       description="Sampling steps (0: the model's default)")
    model: StringProperty(name="Model", default="",
                          description="Shipped model name or .safetensors path (empty: the default in preferences)")
    placement: EnumProperty(
        name="Place as",
        items=[
            ('ACTION', "Active Action", "The last variation becomes the active action; all are kept (Action Editor)"),
            ('NLA', "NLA Strips", "Each variation on a new NLA track; the active action is left alone"),
        ],
        default='ACTION',
    )
    frame_start: IntProperty(name="Start Frame", default=1, description="Scene frame of the clips' first frame")
    gaps: StringProperty(
        name="Gaps", default="20-50",
        description="Frame ranges to make, as From-To pairs (20-50, 80-110): From and To are kept, the frames "
                    "between made. A From before the action's start or a To after its end extends the action to it")
    gap_labels: BoolProperty(name="Use Action and Style", default=False,
                             description="Fill the gap with the Generate panel's action and style (off: any)")
    armature_scale: FloatProperty(name="Scale", default=1.0, min=0.01, max=100.0,
                                  description="Size of the created armature (1: the dataset actors' size, metres)")
    source: PointerProperty(name="Source", type=bpy.types.Object, poll=_is_armature,
                            description="GenAnim armature whose active action is retargeted (empty: a BVH file)")
    bvh_path: StringProperty(name="BVH", subtype='FILE_PATH', description="BVH clip to retarget when no source is set")
    fit_scene: BoolProperty(name="Fit Scene Range", default=False,
                            description="Set the scene's frame range to the new clips")
    fit_rate: BoolProperty(name="Match Scene Rate", default=False,
                           description="Set the scene's frame rate to the clips' (an exact rate, e.g. 30 fps)")
    # Characters: 0 / ANY means "not asked for": sampled from real people instead.
    char_sex: EnumProperty(name="Sex", items=[('ANY', "Any", ""), ('female', "Female", ""), ('male', "Male", "")],
                           default='ANY')
    char_age: FloatProperty(name="Age", default=0.0, min=0.0, max=80.0, description="Years (0: any)")
    char_stature: FloatProperty(name="Stature", default=0.0, min=0.0, max=210.0,
                                description="Body height in cm (0: any)")
    char_build: EnumProperty(name="Build", items=[('ANY', "Any", ""), *((b, b.title(), "") for b in BUILDS)],
                             default='ANY')
    char_count: IntProperty(name="Characters", default=1, min=1, max=16)
    char_seed: IntProperty(name="Seed", default=0, min=0)


classes = (GenAnimBoneMapItem, GenAnimSettings)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Scene.genanim = PointerProperty(type=GenAnimSettings)
    bpy.types.Object.genanim_bone_map = CollectionProperty(type=GenAnimBoneMapItem)
    bpy.types.Object.genanim_bone_map_index = IntProperty(default=0)
    bpy.types.Object.genanim_bone_map_preset = EnumProperty(name="Preset", items=PRESET_ITEMS, default='AUTO')


def unregister() -> None:
    del bpy.types.Object.genanim_bone_map_preset
    del bpy.types.Object.genanim_bone_map_index
    del bpy.types.Object.genanim_bone_map
    del bpy.types.Scene.genanim
    _unregister()
