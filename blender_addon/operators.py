# SPDX-License-Identifier: GPL-3.0-or-later
"""GenAnim's operators that need no PyTorch: create armature, bone mapping, retarget, BVH import, export.

Operators stay thin: they read settings, call `rig`/`armature` (which call
core) and turn every GenAnimError into a report, so bad input never shows
a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import bpy
from bpy.props import EnumProperty, FloatProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper
from mathutils import Vector

from . import generator, rig
from .armature import build_armature, fit_scene_to_clip, read_clip_action, skeleton_of
from .core.errors import GenAnimError, RigError
from .core.motion.clip import load_clip
from .core.retarget.armature_space import CM_TO_M
from .core.retarget.bone_map import REQUIRED
from .core.retarget.reference import default_skeleton, reference_pose


def reported(op: bpy.types.Operator, work: Callable[[], set[str]]) -> set[str]:
    """Run `work`; a GenAnimError becomes an error report and CANCELLED instead of a traceback."""
    try:
        return work()
    except GenAnimError as e:
        op.report({'ERROR'}, str(e))
        return {'CANCELLED'}


def make_active(context: bpy.types.Context, obj: bpy.types.Object) -> None:
    """Select `obj` alone and make it active, as Blender does with new objects (object mode only)."""
    if context.mode != 'OBJECT':
        return
    for o in context.selected_objects:
        o.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj


def new_genanim_armature(context: bpy.types.Context, skeleton, name: str, scale: float) -> bpy.types.Object:
    """An armature for `skeleton` standing in its reference pose at the 3D cursor, selected and active."""
    obj = build_armature(skeleton, name, CM_TO_M * scale, pose=reference_pose(skeleton))
    obj.location = context.scene.cursor.location
    make_active(context, obj)
    return obj


class GENANIM_OT_create_armature(bpy.types.Operator):
    """Add the chosen model's skeleton (GenAnim's, or that of weights trained on your own library) as an armature at
    the 3D cursor (Z up, metres)"""

    bl_idname = "genanim.create_armature"
    bl_label = "Create Armature"
    bl_options = {'REGISTER', 'UNDO'}

    name: StringProperty(name="Name", default="GenAnim")
    scale: FloatProperty(name="Scale", default=1.0, min=0.01, max=100.0,
                         description="1: the size of the dataset's actors, in metres")

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        self.scale = context.scene.genanim.armature_scale
        return self.execute(context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            skeleton = default_skeleton()
            try:  # the skeleton Generate writes onto: a model trained on another library brings its own
                own = generator.model_info(context, context.scene.genanim.model)[0]
            except GenAnimError as e:
                self.report({'WARNING'}, f"{e}: building GenAnim's own skeleton")
            else:
                skeleton = skeleton if own.names == skeleton.names else own
            obj = new_genanim_armature(context, skeleton, self.name, self.scale)
            self.report({'INFO'}, f"Created armature {obj.name!r} ({len(obj.data.bones)} bones)")
            return {'FINISHED'}

        return reported(self, work)


class GENANIM_OT_detect_bone_map(bpy.types.Operator):
    """Fill the selected rig's bone mapping from the chosen preset (Automatic: the best match by name)"""

    bl_idname = "genanim.detect_bone_map"
    bl_label = "Detect Bone Mapping"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            obj = rig.selected_armature(context)
            found = rig.fill_bone_map(obj, obj.genanim_bone_map_preset)
            missing = [j for j in REQUIRED if j not in found]
            if missing:
                self.report({'WARNING'}, f"Mapped {len(found)} joints; pick bones for {', '.join(missing)}")
            else:
                self.report({'INFO'}, f"Mapped {len(found)} joints of {obj.name!r}")
            return {'FINISHED'}

        return reported(self, work)


class GENANIM_OT_retarget(bpy.types.Operator):
    """Put the source motion (a GenAnim armature's action or a BVH file) onto the selected rig as a new action"""

    bl_idname = "genanim.retarget"
    bl_label = "Retarget"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            settings = context.scene.genanim
            target = rig.selected_armature(context)
            source = settings.source
            if source is not None:
                if source == target:
                    raise RigError("The source and the selected rig are the same armature: select another rig")
                action = rig.active_action(source, "to retarget (it is the Retarget source)")
                fps = context.scene.render.fps / context.scene.render.fps_base
                clip = read_clip_action(source, skeleton_of(source), action, fps)
            elif settings.bvh_path:
                clip = load_clip(bpy.path.abspath(settings.bvh_path))
            else:
                raise RigError("No source: pick a GenAnim armature or a BVH file under Retarget")
            action = rig.apply_clip(target, clip, f"{clip.name or 'clip'}_{target.name}",
                                    frame_start=settings.frame_start)
            fit_scene_to_clip(context.scene, clip, settings.frame_start, frame_range=settings.fit_scene,
                              rate=settings.fit_rate)
            self.report({'INFO'}, f"Retargeted {clip.num_frames} frames onto {target.name!r} as {action.name!r}")
            return {'FINISHED'}

        return reported(self, work)


class GENANIM_OT_import_bvh(bpy.types.Operator, ImportHelper):
    """Load a BVH clip as a new action on the selected armature (retargeted if needed), or on a new armature"""

    bl_idname = "genanim.import_bvh"
    bl_label = "Import BVH Clip"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".bvh"
    filter_glob: StringProperty(default="*.bvh", options={'HIDDEN'})

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            if not self.filepath or Path(self.filepath).is_dir():
                raise GenAnimError("No BVH file chosen: pick a .bvh file")
            clip = load_clip(self.filepath)
            settings = context.scene.genanim
            if context.active_object is None:
                target = new_genanim_armature(context, clip.skeleton, clip.name or "Clip", 1.0)
            else:
                target = rig.selected_armature(context)
            action = rig.apply_clip(target, clip, clip.name or "Clip", frame_start=settings.frame_start)
            fit_scene_to_clip(context.scene, clip, settings.frame_start, frame_range=settings.fit_scene,
                              rate=settings.fit_rate)
            self.report({'INFO'}, f"Imported {clip.num_frames} frames onto {target.name!r} as {action.name!r}")
            return {'FINISHED'}

        return reported(self, work)


_EXPORT_EXT = {'BVH': ".bvh", 'FBX': ".fbx", 'GLTF': ".glb"}


@contextmanager
def _only_selected(context: bpy.types.Context, obj: bpy.types.Object, frame_range: tuple[int, int]):
    """Select only `obj` (active) and set the scene range, restoring the user's selection and range after."""
    view_layer, scene = context.view_layer, context.scene
    prev_selected = [o for o in view_layer.objects if o.select_get()]
    prev_active = view_layer.objects.active
    prev_range = scene.frame_start, scene.frame_end
    for o in prev_selected:
        o.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj
    scene.frame_start, scene.frame_end = frame_range
    try:
        yield
    finally:
        scene.frame_start, scene.frame_end = prev_range
        obj.select_set(False)
        for o in prev_selected:
            o.select_set(True)
        view_layer.objects.active = prev_active


class GENANIM_OT_export_action(bpy.types.Operator, ExportHelper):
    """Export the selected armature's active action with Blender's BVH, FBX or glTF exporter"""

    bl_idname = "genanim.export_action"
    bl_label = "Export Action"
    bl_options = {'REGISTER'}

    filename_ext = ".bvh"
    format: EnumProperty(
        name="Format",
        items=[('BVH', "BVH", "Motion capture text format"), ('FBX', "FBX", "Autodesk FBX (armature + animation)"),
               ('GLTF', "glTF", "glTF binary (.glb), armature + animation")],
        default='BVH',
    )

    def check(self, context: bpy.types.Context) -> bool:
        self.filename_ext = _EXPORT_EXT[self.format]
        return super().check(context)

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            obj = rig.selected_armature(context)
            action = rig.active_action(obj, "to export: generate, retarget or import one")
            if not self.filepath.strip():
                raise GenAnimError("No file to export to: choose a file name")
            chosen = Path(bpy.path.abspath(self.filepath))
            if self.filepath.endswith(("/", "\\")) or chosen.is_dir():
                raise GenAnimError(f"{chosen} is a folder: add a file name to export to")
            path = chosen.with_suffix(_EXPORT_EXT[self.format])
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise GenAnimError(f"Cannot make the folder {path.parent} to export to: {e.strerror or e}") from None
            frame_range = tuple(round(v) for v in action.frame_range)
            with _only_selected(context, obj, frame_range):
                export_action(self.format, path, frame_range, action.name)
            if not path.is_file():
                raise GenAnimError(f"Blender's {self.format} exporter wrote nothing to {path}")
            self.report({'INFO'}, f"Exported {action.name!r} to {path}")
            return {'FINISHED'}

        return reported(self, work)


def export_action(fmt: str, path: Path, frame_range: tuple[int, int], name: str) -> None:
    """Run Blender's exporter for `fmt` on the active, only selected armature's active action (`name`) over
    `frame_range`."""
    try:
        if fmt == 'BVH':
            bpy.ops.export_anim.bvh(filepath=str(path), frame_start=frame_range[0], frame_end=frame_range[1],
                                    rotate_mode='NATIVE', root_transform_only=False)
        elif fmt == 'FBX':
            scene = bpy.context.scene
            own = scene.name
            scene.name = name  # the exporter names the take after the scene; the scene's own name comes back
            try:
                bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True, object_types={'ARMATURE'},
                                         add_leaf_bones=False, bake_anim=True, bake_anim_use_all_actions=False,
                                         bake_anim_use_nla_strips=False)
            finally:
                scene.name = own
        else:
            bpy.ops.export_scene.gltf(filepath=str(path), export_format='GLB', use_selection=True,
                                      export_animations=True, export_animation_mode='ACTIVE_ACTIONS',
                                      export_nla_strips_merged_animation_name=name)
    except AttributeError:
        raise GenAnimError(f"Blender's {fmt} exporter is not enabled (Preferences > Add-ons)") from None
    except RuntimeError as e:  # its message may end a Python traceback: the last line says what went wrong
        raise GenAnimError(f"Blender's {fmt} exporter failed: {str(e).strip().splitlines()[-1]}") from None


class GENANIM_OT_generate_characters(bpy.types.Operator):
    """Add rigged, skinned characters of the requested build, each bound to a new armature of GenAnim's skeleton"""

    bl_idname = "genanim.generate_characters"
    bl_label = "Generate Characters"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        from .character import build_character
        from .core.bodies.character import CharacterGenerator
        from .core.bodies.conditions import Condition

        def work() -> set[str]:
            s = context.scene.genanim
            cond = Condition.make(
                sex=None if s.char_sex == 'ANY' else s.char_sex,
                age=s.char_age or None,
                stature=s.char_stature or None,
                build=None if s.char_build == 'ANY' else s.char_build,
            )
            characters = CharacterGenerator.load().generate(cond, s.char_count, s.char_seed)
            wm = context.window_manager
            wm.progress_begin(0, len(characters))
            try:
                arms = []
                for k, ch in enumerate(characters):
                    arm, _ = build_character(ch, f"Character_{s.char_seed + k}")
                    # Side by side from the 3D cursor, 0.8 m apart.
                    arm.location = context.scene.cursor.location + Vector((0.8 * k, 0.0, 0.0))
                    arms.append(arm)
                    wm.progress_update(k + 1)
            finally:
                wm.progress_end()
            make_active(context, arms[-1])
            self.report({'INFO'}, f"Added {len(arms)} character(s): {', '.join(a.name for a in arms)}")
            return {'FINISHED'}

        return reported(self, work)


classes = (
    GENANIM_OT_create_armature,
    GENANIM_OT_generate_characters,
    GENANIM_OT_detect_bone_map,
    GENANIM_OT_retarget,
    GENANIM_OT_import_bvh,
    GENANIM_OT_export_action,
)
register, unregister = bpy.utils.register_classes_factory(classes)
