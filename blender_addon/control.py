# SPDX-License-Identifier: GPL-3.0-or-later
"""Interactive control: Follow Path (an armature walks along a selected curve) and Puppeteer (steer it
live with the keyboard, Enter keeps the take as a new action, Esc leaves the scene as it was).

Modal operators get no events in background mode, so everything the Puppeteer operator does per
event lives in `PuppeteerRun`, which tests drive with a scripted event list through the same calls.
"""

from __future__ import annotations

import importlib
import time

import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import prefs, rig
from .armature import armature_conversion, clip_pose, is_genanim_armature
from .core.errors import GenAnimError
from .core.retarget.reference import reference_pose
from .core.retarget.retarget import retarget
from .core.retarget.rig import source_path
from .operators import reported

_loaded: dict[str, object] = {}


class GenAnimControlSettings(bpy.types.PropertyGroup):
    """Settings of the Control panel, saved per scene."""

    style: StringProperty(name="Style", default="normal", description="Style label, e.g. normal, elderly, active")
    speed: FloatProperty(name="Speed", default=1.4, min=0.1, max=8.0, unit='VELOCITY',
                         description="Speed along the path in metres per second (above 2.2 m/s the character runs)")
    backwards: BoolProperty(name="Backwards", default=False,
                            description="Walk the path backwards, facing away from its direction (above 1 m/s with "
                                        "quicker steps: the data's backward walks are slow)")
    frame_start: IntProperty(name="Start Frame", default=1, description="Scene frame of the take's first frame")
    model: StringProperty(name="Model", default="", subtype='FILE_PATH',
                          description="Controller weights (.safetensors); empty: the shipped controller")


def load_controller(context: bpy.types.Context):
    """The controller (core.control), loaded once per session; GenAnimError in plain words when it cannot be."""
    s = context.scene.genanim_control
    path = bpy.path.abspath(s.model) if s.model else str(prefs.weights_dir(context) / "controller.safetensors")
    if path not in _loaded:
        controller = importlib.import_module(f"{__package__}.core.control.controller")
        _loaded[path] = controller.load_controller(path)
    return _loaded[path]


def curve_path(curve: bpy.types.Object, armature: bpy.types.Object, context: bpy.types.Context,
               skeleton) -> tuple[np.ndarray, float]:
    """((N, 2) x, z metres, the armature's metres per metre of the clip): where the hips of a clip of
    `skeleton` go (data frame, Y up) so that the armature's hips go along the evaluated curve (its first
    spline); another rig than GenAnim's moves on its own scale (see `core.retarget.rig.source_path`)."""
    if curve.type != 'CURVE':
        raise GenAnimError(f"{curve.name!r} is a {curve.type.lower()}, not a curve")
    ev = curve.evaluated_get(context.evaluated_depsgraph_get())
    mesh = ev.to_mesh()
    try:
        pts = np.array([v.co[:] for v in mesh.vertices], np.float64).reshape(-1, 3)
        edges = np.array([e.vertices[:] for e in mesh.edges], np.int64).reshape(-1, 2)
    finally:
        ev.to_mesh_clear()
    if len(pts) < 2:
        raise GenAnimError(f"The curve {curve.name!r} has fewer than two points: draw a path with at least two")
    order = _chain(len(pts), edges)
    world = pts[order] @ np.array(curve.matrix_world)[:3, :3].T + np.array(curve.matrix_world)[:3, 3]
    inv = np.linalg.inv(np.array(armature.matrix_world))
    local = world @ inv[:3, :3].T + inv[:3, 3]  # armature space
    if not is_genanim_armature(armature, skeleton):
        data, scale = source_path(local, rig.rig_of(armature), rig.bone_map_of(armature), skeleton)
        return data / 100.0, 100.0 * scale
    axes, scale, _ = armature_conversion(armature.data, [])
    data = local @ np.asarray(axes, np.float64) / scale  # data space (Y up, cm): axes.T @ p / scale, row form
    return data[:, [0, 2]] / 100.0, 100.0 * scale


def _chain(n: int, edges: np.ndarray) -> np.ndarray:
    """Vertex order of the first connected chain of an evaluated curve (its first spline), from one end."""
    if not len(edges):
        return np.arange(n)
    nbrs: dict[int, list[int]] = {}
    for a, b in edges:
        nbrs.setdefault(int(a), []).append(int(b))
        nbrs.setdefault(int(b), []).append(int(a))
    start = int(edges[0, 0])
    ends = [v for v, ns in nbrs.items() if len(ns) == 1]
    if ends:
        start = min(ends)  # an open spline: from its first end
    order, prev = [start], -1
    while True:
        nxt = [v for v in nbrs[order[-1]] if v != prev and v not in order[-2:]]
        if not nxt or nxt[0] == start:
            break
        prev = order[-1]
        order.append(nxt[0])
    return np.array(order)


def _pick_curve(context: bpy.types.Context) -> bpy.types.Object:
    curves = [o for o in context.selected_objects if o.type == 'CURVE']
    if not curves:
        raise GenAnimError("Select a curve object (the path) together with the armature")
    if len(curves) > 1:
        raise GenAnimError(f"{len(curves)} curves are selected ({', '.join(c.name for c in curves)}): select one")
    return curves[0]


class GENANIM_OT_follow_path(bpy.types.Operator):
    """Walk (or run, by speed) the active armature along the selected curve into a new action"""

    bl_idname = "genanim.follow_path"
    bl_label = "Follow Path"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context: bpy.types.Context) -> set[str]:
        def work() -> set[str]:
            s = context.scene.genanim_control
            target = rig.selected_armature(context)
            curve = _pick_curve(context)
            follow = importlib.import_module(f"{__package__}.core.control.follow")
            ctl = load_controller(context)
            ctl.style_id(s.style.strip() or None)
            points, scale = curve_path(curve, target, context, ctl.skeleton)
            points = follow.check_path(points, f"The curve {curve.name!r}")
            clip = follow.follow(ctl, points, s.style.strip() or None, s.speed / scale,  # the speed is the rig's
                                 "walk-back" if s.backwards else None,
                                 report=lambda message: self.report({'WARNING'}, f"{curve.name!r}: {message}"))
            action = rig.apply_clip(target, clip, f"follow_{curve.name}_{s.style or 'any'}",
                                    frame_start=s.frame_start)
            self.report({'INFO'}, f"{target.name!r} follows {curve.name!r}: new action {action.name!r}, "
                                  f"{clip.num_frames} frames")
            return {'FINISHED'}

        return reported(self, work)


class PuppeteerRun:
    """One puppeteer take on an armature: what the modal operator does per event, without the event loop.

    start: remembers the armature's pose and action; handle/tick: input and time; finish: the take as a
    new action; cancel: the armature back exactly as it was (nothing new is created before finish)."""

    def __init__(self, context: bpy.types.Context, target: bpy.types.Object | None = None):
        s = context.scene.genanim_control
        self.target = target or rig.selected_armature(context)
        self.ctl = load_controller(context)
        self.genanim_rig = is_genanim_armature(self.target, self.ctl.skeleton)
        if not self.genanim_rig:
            self.bone_map = rig.bone_map_of(self.target)
            self.rig = rig.rig_of(self.target)
            self.reference = reference_pose(self.ctl.skeleton)
        session = importlib.import_module(f"{__package__}.core.control.puppeteer")
        self.session = session.PuppeteerSession(self.ctl, s.style.strip() or "normal")
        self.frame_start = s.frame_start
        adt = self.target.animation_data
        self._saved_action = adt.action if adt is not None else None
        self._saved_pose = {pb.name: (pb.rotation_mode, tuple(pb.rotation_quaternion), tuple(pb.rotation_euler),
                                      tuple(pb.location)) for pb in self.target.pose.bones}
        if adt is not None:
            adt.action = None  # the live pose would be overwritten by the action on every redraw
        self.show()

    def handle(self, kind: str, value: str, shift: bool = False) -> str:
        return self.session.event(kind, value, shift)

    def tick(self, seconds: float) -> int:
        n = self.session.advance(seconds)
        if n:
            self.show()
        return n

    def play(self, script) -> str:
        """A scripted take: (seconds, kind, value, shift) events, with ticks between them as the timer gives."""
        for dt, kind, value, shift in script:
            while dt > 1e-9:
                self.tick(min(dt, 0.05))
                dt -= 0.05
            outcome = self.handle(kind, value, shift)
            if outcome in ('FINISH', 'CANCEL'):
                return outcome
        return 'RUNNING'

    def show(self) -> None:
        """Pose the armature in the controller's current frame, standing feet held (live display, no keys)."""
        clip = self.session.pose()
        obj = self.target
        if self.genanim_rig:
            pose = clip_pose(obj, clip)
        else:
            r = self.rig
            pose = retarget(clip, self.reference, self.bone_map, r.names, r.parents, r.rest, r.axes, plant_feet=False)
        bones, loc, quat = pose.bones, pose.locations, pose.quaternions
        for i, name in enumerate(bones):
            pb = obj.pose.bones[name]
            pb.rotation_mode = 'QUATERNION'
            pb.rotation_quaternion = quat[0, i]
            pb.location = loc[0, i]

    def restore(self) -> None:
        """The armature's pose and action as before the take."""
        for pb in self.target.pose.bones:
            mode, q, e, loc = self._saved_pose[pb.name]
            pb.rotation_mode = mode
            pb.rotation_quaternion, pb.rotation_euler, pb.location = q, e, loc
        if self._saved_action is not None:
            self.target.animation_data.action = self._saved_action

    def finish(self) -> bpy.types.Action:
        clip = self.session.take(f"puppeteer_{self.session.style}")
        self.restore()
        return rig.apply_clip(self.target, clip, clip.name, frame_start=self.frame_start)

    def cancel(self) -> None:
        self.restore()


class GENANIM_OT_puppeteer(bpy.types.Operator):
    """Steer the active armature live: WASD or arrows steer, Shift runs, 1-9 switch style, Enter keeps the take
    as a new action, Esc cancels"""

    bl_idname = "genanim.puppeteer"
    bl_label = "Puppeteer"
    bl_options = {'REGISTER', 'UNDO'}

    _run: PuppeteerRun | None = None
    _timer = None
    _last = 0.0

    def execute(self, context: bpy.types.Context) -> set[str]:  # scripts and `blender -b`: no keyboard to read
        self.report({'ERROR'}, "Puppeteer needs the interactive viewport (it reads the keyboard live); scripts can "
                               "drive blender_addon.control.PuppeteerRun with a list of events instead")
        return {'CANCELLED'}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)

        def start() -> set[str]:
            self._run = PuppeteerRun(context)
            wm = context.window_manager
            self._timer = wm.event_timer_add(1.0 / 30.0, window=context.window)
            self._last = time.perf_counter()
            wm.modal_handler_add(self)
            context.workspace.status_text_set(self._run.session.status())
            return {'RUNNING_MODAL'}

        return reported(self, start)

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        run = self._run
        if event.type == 'TIMER':
            now = time.perf_counter()
            if run.tick(now - self._last) and context.screen is not None:
                for area in context.screen.areas:
                    if area.type == 'VIEW_3D':
                        area.tag_redraw()
            self._last = now
            context.workspace.status_text_set(run.session.status())
            return {'RUNNING_MODAL'}
        outcome = run.handle(event.type, event.value, event.shift)
        if outcome == 'FINISH':
            self._end(context)
            return reported(self, lambda: self._keep(run))
        if outcome == 'CANCEL':
            self._end(context)
            run.cancel()
            self.report({'INFO'}, "Puppeteer cancelled; nothing was changed")
            return {'CANCELLED'}
        return {'RUNNING_MODAL'} if outcome == 'HANDLED' else {'PASS_THROUGH'}

    def _keep(self, run: PuppeteerRun) -> set[str]:
        action = run.finish()
        self.report({'INFO'}, f"Puppeteer take written as action {action.name!r} ({len(run.ctl.frames)} frames)")
        return {'FINISHED'}

    def cancel(self, context: bpy.types.Context) -> None:  # Blender ends the operator (e.g. file load)
        self._end(context)
        if self._run is not None:
            self._run.cancel()

    def _end(self, context: bpy.types.Context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        context.workspace.status_text_set(None)


class GENANIM_PT_control(bpy.types.Panel):
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "GenAnim"
    bl_label = "Control"
    bl_parent_id = "GENANIM_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        col = layout.column()
        s = context.scene.genanim_control
        for prop in ("style", "speed", "backwards", "frame_start", "model"):
            col.prop(s, prop)
        layout.operator("genanim.follow_path", icon='CURVE_PATH')
        layout.operator("genanim.puppeteer", icon='PLAY')


classes = (GenAnimControlSettings, GENANIM_OT_follow_path, GENANIM_OT_puppeteer, GENANIM_PT_control)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Scene.genanim_control = PointerProperty(type=GenAnimControlSettings)


def unregister() -> None:
    del bpy.types.Scene.genanim_control
    _loaded.clear()
    _unregister()
