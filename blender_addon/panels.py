# SPDX-License-Identifier: GPL-3.0-or-later
"""The GenAnim tab in the 3D Viewport's sidebar."""

from __future__ import annotations

import bpy

from .core.retarget.bone_map import REQUIRED


class GENANIM_UL_bone_map(bpy.types.UIList):
    """One row per GenAnim joint: the rig bone that follows it (searchable)."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        missing = item.joint in REQUIRED and not item.bone
        row.alert = missing or (bool(item.bone) and item.bone not in data.data.bones)
        row.label(text=item.joint, icon='ERROR' if missing else 'BONE_DATA')
        row.prop_search(item, "bone", data.data, "bones", text="")


class _Panel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "GenAnim"


class GENANIM_PT_main(_Panel, bpy.types.Panel):
    bl_label = "GenAnim"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        obj = context.active_object
        if obj is None or obj.type != 'ARMATURE':
            layout.label(text="Select an armature to animate", icon='INFO')
        else:
            layout.label(text=obj.name, icon='ARMATURE_DATA')
        row = layout.row(align=True)
        row.prop(context.scene.genanim, "armature_scale")
        row.operator("genanim.create_armature", icon='OUTLINER_OB_ARMATURE')


def _settings_column(layout: bpy.types.UILayout, context: bpy.types.Context, props: tuple[str, ...]) -> None:
    """The scene's GenAnim settings `props`, one per row, labels split as in Blender's own panels."""
    layout.use_property_split = True
    col = layout.column()
    for prop in props:
        col.prop(context.scene.genanim, prop)


class GENANIM_PT_generate(_Panel, bpy.types.Panel):
    bl_label = "Generate"
    bl_parent_id = "GENANIM_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        _settings_column(layout, context, ("action", "style", "seconds", "excerpt", "foot_pins", "variations", "seed",
                                           "guidance", "steps", "model", "placement", "frame_start", "fit_scene",
                                           "fit_rate"))
        layout.operator("genanim.generate", icon='PLAY')


class GENANIM_PT_fill_gap(_Panel, bpy.types.Panel):
    bl_label = "Fill Gaps"
    bl_parent_id = "GENANIM_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        _settings_column(layout, context, ("gaps", "gap_labels", "seed"))
        layout.label(text="Makes the frames between From and To", icon='INFO')
        layout.operator("genanim.fill_gap", icon='IPO_EASE_IN_OUT')


class GENANIM_PT_characters(_Panel, bpy.types.Panel):
    bl_label = "Characters"
    bl_parent_id = "GENANIM_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        _settings_column(layout, context, ("char_sex", "char_age", "char_stature", "char_build", "char_count",
                                           "char_seed"))
        layout.operator("genanim.generate_characters", icon='OUTLINER_OB_ARMATURE')


class GENANIM_PT_retarget(_Panel, bpy.types.Panel):
    bl_label = "Retarget"
    bl_parent_id = "GENANIM_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        s = context.scene.genanim
        col = layout.column()
        col.prop(s, "source")
        sub = col.row()
        sub.enabled = s.source is None
        sub.prop(s, "bvh_path")
        obj = context.active_object
        if obj is None or obj.type != 'ARMATURE':
            layout.label(text="Select the rig to retarget onto", icon='INFO')
            return
        row = layout.row(align=True)
        row.prop(obj, "genanim_bone_map_preset", text="")
        row.operator("genanim.detect_bone_map", text="Detect", icon='VIEWZOOM')
        if len(obj.genanim_bone_map):
            layout.template_list("GENANIM_UL_bone_map", "", obj, "genanim_bone_map", obj, "genanim_bone_map_index",
                                 rows=6)
        else:
            layout.label(text="Mapping: automatic (Detect to edit it)")
        layout.operator("genanim.retarget", icon='ARMATURE_DATA')


class GENANIM_PT_files(_Panel, bpy.types.Panel):
    bl_label = "Import / Export"
    bl_parent_id = "GENANIM_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.operator("genanim.import_bvh", icon='IMPORT')
        row = layout.row(align=True)
        for fmt, label in (('BVH', "BVH"), ('FBX', "FBX"), ('GLTF', "glTF")):
            row.operator("genanim.export_action", text=label, icon='EXPORT').format = fmt


classes = (GENANIM_UL_bone_map, GENANIM_PT_main, GENANIM_PT_generate, GENANIM_PT_fill_gap, GENANIM_PT_characters,
           GENANIM_PT_retarget, GENANIM_PT_files)
register, unregister = bpy.utils.register_classes_factory(classes)
