"""Follow Path and Puppeteer in real Blender, with the shipped controller (skipped until its weights exist)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from conftest import evaluated_heads  # noqa: E402
from rigs import build_mixamo_rig  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import compat  # noqa: E402
from blender_addon.core.evaluation.metrics import foot_skating_rate  # noqa: E402
from blender_addon.core.motion.clip import load_clip  # noqa: E402
from blender_addon.core.motion.representation import representation_for  # noqa: E402
from blender_addon.rig import bone_map_of  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "weights" / "controller.safetensors"
SAMPLES = REPO.parent / "shared" / "data" / "bandai-namco" / "samples"
pytestmark = [pytest.mark.blender]
BARS = {"distance_m": 0.10, "facing_deg": 15.0, "skating_ratio": 1.5}


@pytest.fixture(scope="module", autouse=True)
def addon():
    if not WEIGHTS.is_file():
        pytest.skip(f"no controller weights at {WEIGHTS}: train and export the controller first")
    blender_addon.register()
    yield
    blender_addon.unregister()


def _fcurves(action) -> list:
    return [fc for slot in action.slots for fc in compat.get_channelbag(action, slot).fcurves]


def _bezier(points) -> bpy.types.Object:
    """An open Bezier curve object through `points` (x, y metres on the ground, Blender Z up), auto handles."""
    data = bpy.data.curves.new("Path", 'CURVE')
    data.dimensions = '3D'
    spline = data.splines.new('BEZIER')
    spline.bezier_points.add(len(points) - 1)
    for bp, (x, y) in zip(spline.bezier_points, points, strict=True):
        bp.co = (x, y, 0.0)
        bp.handle_left_type = bp.handle_right_type = 'AUTO'
    obj = bpy.data.objects.new("Path", data)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _select(active, *others) -> None:
    for o in bpy.context.scene.objects:
        o.select_set(False)
    for o in (active, *others):
        o.select_set(True)
    bpy.context.view_layer.objects.active = active


def _polyline(curve) -> np.ndarray:
    ev = curve.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = ev.to_mesh()
    pts = np.array([(curve.matrix_world @ v.co)[:] for v in mesh.vertices])
    ev.to_mesh_clear()
    return pts[:, :2]


def _closest(line: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points q (N, 2) from a polyline (M, 2) and the unit tangent there."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.clip(((q[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    foot = a + t[..., None] * ab
    d = np.linalg.norm(q[:, None] - foot, axis=-1)
    i = d.argmin(1)
    tan = ab[i] / np.linalg.norm(ab[i], axis=-1, keepdims=True)
    return d[np.arange(len(q)), i], tan


def test_follow_path_on_a_bezier_curve_meets_the_bars():
    bpy.ops.genanim.create_armature()
    arm = bpy.context.active_object
    arm.location = (0.5, -1.0, 0.0)  # not at the origin: the path is read in world space
    curve = _bezier([(0.0, 0.0), (1.5, 2.5), (0.0, 5.0), (-1.5, 7.5)])
    _select(arm, curve)
    s = bpy.context.scene.genanim_control
    s.style, s.speed = "normal", 1.4
    before = set(bpy.data.actions)
    assert bpy.ops.genanim.follow_path() == {'FINISHED'}
    new = [a for a in bpy.data.actions if a not in before]
    assert len(new) == 1 and arm.animation_data.action == new[0]
    num_f = int(max(kp.co[0] for fc in _fcurves(new[0]) for kp in fc.keyframe_points))
    names = ("Hips", "UpperLeg_L", "UpperLeg_R", "Foot_L", "Toes_L", "Foot_R", "Toes_R")
    got = evaluated_heads(arm, names, range(1, num_f + 1))  # (F, 7, 3) world metres, Z up
    line = _polyline(curve)
    dist, tan = _closest(line, got[:, 0, :2])
    across = got[:, 1, :2] - got[:, 2, :2]  # right hip -> left hip
    fwd = np.stack([across[:, 1], -across[:, 0]], -1)  # left x up (+Z): forward
    moving = np.linalg.norm(got[:, 0, :2] - line[-1], axis=-1) > 0.2
    cos = (fwd * tan).sum(-1) / np.linalg.norm(fwd, axis=-1)
    facing = np.degrees(np.arccos(np.clip(cos, -1, 1)))[moving]
    feet = got[:, 3:] * 100.0
    feet_yup = np.stack([feet[..., 0], feet[..., 2], -feet[..., 1]], -1)  # back to the data's Y up, cm
    skate = foot_skating_rate(feet_yup, [0, 1, 2, 3], 30.0)
    real = []
    for name in ("dataset-2_walk_normal_001.bvh", "dataset-1_walk_old_001.bvh", "dataset-2_run_active_001.bvh"):
        clip = load_clip(SAMPLES / name)
        real.append(foot_skating_rate(clip.global_positions(), representation_for(clip.skeleton).feet, clip.fps))
    print(f"distance {dist.mean():.3f} m, facing {facing.mean():.1f} deg, skating {skate:.3f} "
          f"vs real {np.mean(real):.3f}, end {np.linalg.norm(got[-1, 0, :2] - line[-1]):.2f} m")
    assert dist.mean() < BARS["distance_m"]
    assert facing.mean() < BARS["facing_deg"]
    assert skate <= BARS["skating_ratio"] * np.mean(real)
    assert np.linalg.norm(got[0, 0, :2] - line[0]) < 0.1 and np.linalg.norm(got[-1, 0, :2] - line[-1]) < 0.5


def test_follow_path_lands_a_mixamo_rig_on_the_curve():
    """Another rig (Mixamo names and proportions, at 1.8 m) walks on the curve itself, on its own scale, and stops
    at the curve's end."""
    arm = build_mixamo_rig()
    curve = _bezier([(0.0, 0.0), (1.5, 2.5), (0.0, 5.0), (-1.5, 7.5)])
    _select(arm, curve)
    s = bpy.context.scene.genanim_control
    s.style, s.speed = "normal", 1.4
    assert bpy.ops.genanim.follow_path() == {'FINISHED'}
    action = arm.animation_data.action
    start, end = (round(v) for v in action.frame_range)
    hips = evaluated_heads(arm, ["mixamorig:Hips"], range(start, end + 1))[:, 0, :2]
    line = _polyline(curve)
    dist, _ = _closest(line, hips)
    print(f"Mixamo rig: distance {100 * dist.mean():.1f} cm, end {100 * np.linalg.norm(hips[-1] - line[-1]):.1f} cm")
    assert dist.mean() < 0.05
    assert np.linalg.norm(hips[0] - line[0]) < 0.1 and np.linalg.norm(hips[-1] - line[-1]) < 0.3


def test_follow_path_backwards_walks_the_curve_facing_away_from_it():
    arm = build_mixamo_rig()
    curve = _bezier([(0.0, 0.0), (0.0, 1.5), (0.0, 3.0)])
    _select(arm, curve)
    s = bpy.context.scene.genanim_control
    s.style, s.speed, s.backwards = "normal", 0.8, True
    try:
        assert bpy.ops.genanim.follow_path() == {'FINISHED'}
    finally:
        s.backwards = False
    start, end = (round(v) for v in arm.animation_data.action.frame_range)
    got = evaluated_heads(arm, ("mixamorig:Hips", "mixamorig:LeftUpLeg", "mixamorig:RightUpLeg"),
                          range(start, end + 1))[..., :2]  # (F, 3, 2) world metres on the ground
    across = got[:, 1] - got[:, 2]
    fwd = np.stack([across[:, 1], -across[:, 0]], -1)
    step = np.diff(got[:, 0], axis=0)
    moving = np.linalg.norm(step, axis=-1) * 30 > 0.3  # m/s
    along = (step * fwd[1:]).sum(-1)
    assert moving.sum() > 30 and (along[moving] < 0).mean() > 0.95  # going where its back is
    assert np.linalg.norm(got[-1, 0] - _polyline(curve)[-1]) < 0.3


def test_follow_path_without_a_curve_says_so():
    bpy.ops.genanim.create_armature()
    with pytest.raises(RuntimeError, match="Select a curve object"):
        bpy.ops.genanim.follow_path()


def test_follow_path_with_an_unknown_style_says_so():
    bpy.ops.genanim.create_armature()
    arm = bpy.context.active_object
    _select(arm, _bezier([(0.0, 0.0), (0.0, 2.0)]))
    bpy.context.scene.genanim_control.style = "moonwalk"
    with pytest.raises(RuntimeError, match="unknown style 'moonwalk'"):
        bpy.ops.genanim.follow_path()


# Two seconds walking forward, a right turn while running, a style switch, a stop.
SCRIPT = [(0.2, "W", "PRESS", False), (1.5, "LEFT_SHIFT", "PRESS", True), (0.2, "D", "PRESS", True),
          (1.0, "W", "RELEASE", True), (0.3, "LEFT_SHIFT", "RELEASE", False), (0.2, "THREE", "PRESS", False),
          (1.0, "D", "RELEASE", False), (0.8, "MIDDLEMOUSE", "PRESS", False)]


@pytest.mark.parametrize("make_rig", ["genanim", build_mixamo_rig], ids=["genanim", "mixamo"])
def test_scripted_puppeteer_take_keys_every_mapped_bone(make_rig):
    from blender_addon.control import PuppeteerRun

    if make_rig == "genanim":
        bpy.ops.genanim.create_armature()
        obj = bpy.context.active_object
        bones = list(obj.data.bones.keys())
    else:
        obj = make_rig()
        bpy.context.view_layer.objects.active = obj
        bones = list(bone_map_of(obj).values())
    before = set(bpy.data.actions)
    run = PuppeteerRun(bpy.context)
    assert run.play(SCRIPT + [(0.0, "RET", "PRESS", False)]) == 'FINISH'
    assert run.session.style == "feminine" and run.session.held == set()
    action = run.finish()
    assert [a for a in bpy.data.actions if a not in before] == [action]
    assert obj.animation_data.action == action
    num_f = len(run.ctl.frames)
    assert num_f >= 5.0 * 30 * 0.9  # ~5.4 s of events at 30 fps
    keys = {fc.data_path: len(fc.keyframe_points) for fc in _fcurves(action)}
    for bone in bones:
        assert keys[f'pose.bones["{bone}"].rotation_quaternion'] == num_f
    track = np.array(run.ctl.track)
    assert np.linalg.norm(track[-1, :2] - track[0, :2]) > 200  # it went somewhere (cm)


def test_puppeteer_live_pose_keeps_standing_feet_still():
    """In the viewport, not only in the kept take: a foot the controller says stands stays where it is."""
    from blender_addon.control import PuppeteerRun

    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    run = PuppeteerRun(bpy.context)
    rep = run.ctl.rep
    ankles = ("Foot_L", "Foot_R")
    cols = [rep.feet.index(rep.skeleton.names.index(n)) for n in ankles]
    run.handle("W", "PRESS")
    pos, standing = [], []
    for i in range(150):
        if i == 75:
            run.handle("D", "PRESS")  # and a turn
        if run.tick(1 / 30) == 1:  # one controller frame, shown
            bpy.context.view_layer.update()
            pos.append([(obj.matrix_world @ obj.pose.bones[n].head)[:2] for n in ankles])
            standing.append(run.ctl.frames[-1][rep.layout.contacts][cols] > 0.5)
    run.restore()
    speed = np.linalg.norm(np.diff(np.array(pos), axis=0), axis=-1) * 30.0  # (F-1, 2) m/s
    held = np.array(standing)[1:] & np.array(standing)[:-1]
    assert held.sum() > 30
    print(f"live standing ankles: {100 * speed[held].mean():.1f} cm/s")
    assert speed[held].mean() < 0.15


def test_cancelled_puppeteer_leaves_no_new_data():
    from blender_addon.control import PuppeteerRun

    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    obj.pose.bones["Head"].rotation_quaternion = (0.9, 0.1, 0.0, 0.0)
    obj.pose.bones["Head"].keyframe_insert("rotation_quaternion", frame=1)
    user_action = obj.animation_data.action
    pose = {pb.name: (tuple(pb.rotation_quaternion), tuple(pb.location), pb.rotation_mode) for pb in obj.pose.bones}
    counts = (len(bpy.data.actions), len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.armatures))
    run = PuppeteerRun(bpy.context)
    assert run.play(SCRIPT + [(0.0, "ESC", "PRESS", False)]) == 'CANCEL'
    assert any(tuple(pb.location) != pose[pb.name][1] for pb in obj.pose.bones)  # it did move live
    run.cancel()
    assert (len(bpy.data.actions), len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.armatures)) == counts
    assert obj.animation_data.action == user_action
    after = {pb.name: (tuple(pb.rotation_quaternion), tuple(pb.location), pb.rotation_mode) for pb in obj.pose.bones}
    assert after == pose


def test_puppeteer_needs_the_interactive_viewport():
    bpy.ops.genanim.create_armature()
    with pytest.raises(RuntimeError, match="needs the interactive viewport"):
        bpy.ops.genanim.puppeteer()
