# SPDX-License-Identifier: GPL-3.0-or-later
"""The Fill Gap operator: the diffusion model makes the frames of each gap of an action, on any mapped rig.

A GenAnim armature is filled on its own skeleton; any other rig through core's round trip to GenAnim's
skeleton and back (`core.retarget.rig_fill`). The result is a new action, a copy of the user's with the
mapped bones keyed on every frame: kept frames hold the user's poses, other bones and channels keep the
user's keys. It runs synchronously (a gap samples in about a second on a CPU), so it works the same in
`blender -b`; the window manager's progress shows how far it is.
"""

from __future__ import annotations

import bpy
import numpy as np

from . import generator, rig
from .armature import (
    action_frames,
    clip_pose,
    is_genanim_armature,
    read_clip_action,
    read_pose_bases,
    write_filled_action,
)
from .core.errors import GenAnimError
from .core.retarget.retarget import RigPose
from .core.retarget.rig_fill import fill_gaps, fill_rig_gaps, frame_gaps, parse_gaps
from .operators import reported


class GENANIM_OT_fill_gap(bpy.types.Operator):
    """Make the frames of each gap (From-To) of the selected armature's action, as a new action"""

    bl_idname = "genanim.fill_gap"
    bl_label = "Fill Gaps"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            s = context.scene.genanim
            obj = rig.selected_armature(context)
            action = rig.active_action(obj, "to fill gaps in: import, generate or key one first")
            frames = action_frames(action)
            lo, hi, gaps = frame_gaps(parse_gaps(s.gaps), int(frames[0]), int(frames[-1]))
            gen = generator.load(context, s.model)
            if gen.kind != "diffusion":
                raise GenAnimError(f"The {gen.name} model ({gen.kind}) cannot fill gaps: choose the diffusion model")
            fps = context.scene.render.fps / context.scene.render.fps_base
            frames = np.arange(lo, hi + 1)  # beyond the keys the curves hold their ends: placeholders to fill
            labels = (s.action.strip() or None, s.style.strip() or None) if s.gap_labels else (None, None)
            options = dict(seed=s.seed, steps=s.steps or None, progress=_progress(context))
            wm = context.window_manager
            wm.progress_begin(0, 100)
            try:
                if is_genanim_armature(obj, gen.skeleton):
                    clip = read_clip_action(obj, gen.skeleton, action, fps, frames)
                    out = clip_pose(obj, fill_gaps(gen, clip, gaps, *labels, **options))
                else:
                    bone_map = rig.bone_map_of(obj)
                    r = rig.rig_of(obj)
                    loc, quat = read_pose_bases(obj, action, r.names, frames)
                    pose = RigPose(list(r.names), loc, quat, np.zeros(len(r.names), bool))
                    out = fill_rig_gaps(gen, r, bone_map, pose, fps, gaps, *labels, **options)
            finally:
                wm.progress_end()
            action.use_fake_user = True  # the user's action stays in the file though no longer active
            new = write_filled_action(obj, action, out.bones, out.locations, out.quaternions, out.moving,
                                      f"{action.name}_filled", frame_start=lo)
            self.report({'INFO'}, f"Filled {len(gaps)} gap{'s' * (len(gaps) > 1)} ({s.gaps.strip()}) of "
                        f"{action.name!r} as new action {new.name!r}; {action.name!r} is kept")
            if abs(fps - gen.fps) > 1e-3:  # the model's frames are 1/30 s apart whatever the scene plays
                self.report({'WARNING'}, f"The scene plays {fps:g} fps, the model makes motion at {gen.fps:g} fps: the "
                            f"filled frames play at {fps / gen.fps:.2f}x speed (set the scene to {gen.fps:g} fps)")
            return {'FINISHED'}

        return reported(self, work)


def _progress(context: bpy.types.Context):
    def update(fraction: float) -> bool:
        context.window_manager.progress_update(int(100 * fraction))
        return True

    return update


classes = (GENANIM_OT_fill_gap,)
register, unregister = bpy.utils.register_classes_factory(classes)
