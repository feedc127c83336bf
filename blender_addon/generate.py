# SPDX-License-Identifier: GPL-3.0-or-later
"""The Generate operator: sample clips with core's generator and write each as a new action.

In the UI the sampler runs in a worker thread (it never touches bpy); a modal
timer shows its progress and Esc cancels it; the actions are written on the
main thread when it is done. In background mode (`blender -b`) there are no
events, so it runs synchronously.
"""

from __future__ import annotations

import threading

import bpy

from . import generator, rig
from .armature import fit_scene_to_clip, is_genanim_armature, stack_on_nla
from .core.errors import GenAnimError
from .operators import reported


class _Job:
    """A generation running in a worker thread: progress, cancel flag, result."""

    def __init__(self, run) -> None:
        self.fraction = 0.0
        self.cancel = False
        self.clips = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._main, args=(run,), daemon=True)
        self.thread.start()

    def progress(self, fraction: float) -> bool:
        self.fraction = fraction
        return not self.cancel

    def _main(self, run) -> None:
        try:
            self.clips = run(self.progress)
        except Exception as e:  # handed to the main thread, which reports it
            self.error = e


class GENANIM_OT_generate(bpy.types.Operator):
    """Generate motion for the action and style and write each variation as a new action on the selected armature"""

    bl_idname = "genanim.generate"
    bl_label = "Generate"
    bl_options = {'REGISTER', 'UNDO'}

    _job: _Job | None = None
    _timer = None

    def _prepare(self, context: bpy.types.Context):
        """Check the input and load the generator; returns (armature, run(progress) -> clips)."""
        s = context.scene.genanim
        target = rig.selected_armature(context)
        if s.seconds <= 0:  # checked before loading the model, which takes seconds
            raise GenAnimError(f"A duration of {s.seconds:g} s gives zero frames: set Duration above zero")
        gen = generator.load(context, s.model)
        if round(s.seconds * gen.fps) < 1:
            raise GenAnimError(f"A duration of {s.seconds:g} s gives zero frames at {gen.fps:g} fps")
        action, style = s.action.strip() or None, s.style.strip() or None
        if not gen.conditional and (action or style):
            raise GenAnimError(f"The {gen.name} model is unconditional: it takes no action or style; clear Action "
                               "and Style, or choose a conditional model (diffusion, cvae, cgan)")
        if action is not None and action not in gen.actions:
            raise GenAnimError(f"Unknown action {action!r}; this model knows: {', '.join(gen.actions)}")
        if style is not None and style not in gen.styles:
            raise GenAnimError(f"Unknown style {style!r}; this model knows: {', '.join(gen.styles)}")
        if not is_genanim_armature(target, gen.skeleton):
            rig.bone_map_of(target)  # an unmappable rig fails now, not after minutes of sampling
        # Plain values only: the worker thread must never read bpy data.
        kwargs = {"seconds": s.seconds, "count": s.variations, "seed": s.seed, "excerpt": s.excerpt,
                  "foot_pins": s.foot_pins}
        if gen.kind == "diffusion":  # the VAE/GAN families sample in one pass: no steps, no guidance
            kwargs.update(guidance=s.guidance, steps=s.steps or None)

        def run(progress):
            return gen.generate(action, style, progress=progress, **kwargs)

        return target, run

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            target, run = self._prepare(context)
            return self._write(context, target, run(None))

        return reported(self, work)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if bpy.app.background:
            return self.execute(context)

        def start() -> set[str]:
            self._target, run = self._prepare(context)
            self._job = _Job(run)
            wm = context.window_manager
            self._timer = wm.event_timer_add(0.1, window=context.window)
            wm.modal_handler_add(self)
            wm.progress_begin(0, 100)
            return {'RUNNING_MODAL'}

        return reported(self, start)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        job = self._job
        if event.type == 'ESC' and event.value == 'PRESS':
            job.cancel = True
        if event.type != 'TIMER':
            return {'RUNNING_MODAL'} if event.type == 'ESC' else {'PASS_THROUGH'}
        context.window_manager.progress_update(int(100 * job.fraction))
        if context.area is not None:
            context.area.header_text_set(f"GenAnim: generating {100 * job.fraction:.0f}%  (Esc cancels)")
        if job.thread.is_alive():
            return {'RUNNING_MODAL'}
        self._end(context)
        if job.cancel:
            self.report({'WARNING'}, "Generation cancelled; nothing was changed")
            return {'CANCELLED'}
        if job.error is not None:
            if isinstance(job.error, GenAnimError):
                self.report({'ERROR'}, str(job.error))
            else:
                self.report({'ERROR'}, f"Generation failed: {type(job.error).__name__}: {job.error}")
            return {'CANCELLED'}
        try:
            self._target.name  # noqa: B018 (raises ReferenceError if the armature was deleted meanwhile)
        except ReferenceError:
            self.report({'ERROR'}, "The armature was deleted while generating; nothing was written")
            return {'CANCELLED'}
        return reported(self, lambda: self._write(context, self._target, job.clips))

    def cancel(self, context: bpy.types.Context) -> None:
        if self._job is not None:
            self._job.cancel = True
        self._end(context)

    def _end(self, context: bpy.types.Context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
            context.window_manager.progress_end()
            if context.area is not None:
                context.area.header_text_set(None)

    def _write(self, context: bpy.types.Context, target: bpy.types.Object, clips) -> set[str]:
        s = context.scene.genanim
        names = []
        for i, clip in enumerate(clips):
            name = clip.name or f"{s.action or 'any'}_{s.style or 'any'}_seed{s.seed + i}"
            last = i == len(clips) - 1
            action = rig.apply_clip(target, clip, name, frame_start=s.frame_start,
                                    assign=s.placement == 'ACTION' and last)
            action.use_fake_user = True  # variations not on screen must survive saving
            if s.placement == 'NLA':  # the first variation plays; unmute a track to see another
                stack_on_nla(target, action, s.frame_start).mute = i > 0
            names.append(action.name)
        if clips:
            fit_scene_to_clip(context.scene, clips[0], s.frame_start, frame_range=s.fit_scene, rate=s.fit_rate)
        self.report({'INFO'}, f"Generated {len(names)} action(s) on {target.name!r}: {', '.join(names)}")
        return {'FINISHED'}


classes = (GENANIM_OT_generate,)
register, unregister = bpy.utils.register_classes_factory(classes)
