# SPDX-License-Identifier: GPL-3.0-or-later
"""The Fill Gap operator: the diffusion model generates the frames between two kept frames of an action.

It runs synchronously (one gap samples in well under a second on a CPU), so it works the same in
`blender -b`. The result is a new action; the user's action is kept, untouched.
"""

from __future__ import annotations

import bpy

from . import generator, rig
from .armature import is_genanim_armature, read_clip_action
from .core.errors import GenAnimError, RigError
from .operators import reported


class GENANIM_OT_fill_gap(bpy.types.Operator):
    """Generate the frames between From and To of the selected GenAnim armature's action as a new action"""

    bl_idname = "genanim.fill_gap"
    bl_label = "Fill Gap"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            s = context.scene.genanim
            obj = rig.selected_armature(context)
            action = rig.active_action(obj, "to fill a gap in: import, generate or key one first")
            first, last = (round(v) for v in action.frame_range)
            if not first <= s.gap_from < s.gap_to <= last or s.gap_to - s.gap_from < 2:
                raise GenAnimError(f"Set From and To inside the action's frames {first}..{last}, From before To with "
                                   f"at least one frame between them (now {s.gap_from}..{s.gap_to})")
            gen = generator.load(context, s.model)
            if gen.kind != "diffusion":
                raise GenAnimError(f"The {gen.name} model ({gen.kind}) cannot fill gaps: choose the diffusion model")
            if not is_genanim_armature(obj, gen.skeleton):
                raise RigError(f"{obj.name!r} is not an armature of GenAnim's skeleton: Fill Gap works on one made by "
                               "Create Armature, Import BVH or Generate (retarget the result onto your rig)")
            fps = context.scene.render.fps / context.scene.render.fps_base
            clip = read_clip_action(obj, gen.skeleton, action, fps)
            labels = (s.action.strip() or None, s.style.strip() or None) if s.gap_labels else (None, None)
            filled = gen.inbetween(clip, s.gap_from - first, s.gap_to - first, *labels, seed=s.seed,
                                   steps=s.steps or None)
            action.use_fake_user = True  # the user's action stays in the file though no longer active
            new = rig.apply_clip(obj, filled, f"{action.name}_filled", frame_start=first)
            self.report({'INFO'}, f"Filled frames {s.gap_from + 1}..{s.gap_to - 1} of {action.name!r} as new action "
                        f"{new.name!r}; {action.name!r} is kept")
            if abs(fps - gen.fps) > 1e-3:  # the model's frames are 1/30 s apart whatever the scene plays
                self.report({'WARNING'}, f"The scene plays {fps:g} fps, the model makes motion at {gen.fps:g} fps: the "
                            f"filled frames play at {fps / gen.fps:.2f}x speed (set the scene to {gen.fps:g} fps)")
            return {'FINISHED'}

        return reported(self, work)


classes = (GENANIM_OT_fill_gap,)
register, unregister = bpy.utils.register_classes_factory(classes)
