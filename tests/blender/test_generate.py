"""The Generate operator with the real diffusion model: skipped (with the reason) until its weights exist."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from conftest import SAMPLES, evaluated_heads  # noqa: E402
from rigs import build_makehuman_rig, build_mixamo_rig, build_rigify_metarig  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import compat  # noqa: E402
from blender_addon.armature import read_clip_action  # noqa: E402
from blender_addon.core.motion.clip import load_clip  # noqa: E402
from blender_addon.core.retarget.armature_space import ROTATION_PROPERTY, to_armature_space  # noqa: E402
from blender_addon.rig import apply_clip, bone_map_of  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# The shipped weights; GENANIM_TEST_WEIGHTS points at another .safetensors (e.g. a fresh export) to test with.
WEIGHTS = Path(os.environ.get("GENANIM_TEST_WEIGHTS", REPO / "weights" / "diffusion.safetensors"))
pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.fixture(scope="module")
def gen():
    for package in ("torch", "safetensors"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed in this Python")
    if not WEIGHTS.is_file():
        pytest.skip(f"no trained weights at {WEIGHTS}: train the diffusion model first")
    from blender_addon.core.generation import load_generator

    blender_addon.register()
    yield load_generator(str(WEIGHTS), device="cpu")
    blender_addon.unregister()


def _settings(gen, **kw):
    s = bpy.context.scene.genanim
    s.action = "walk" if "walk" in gen.actions else gen.actions[0]
    s.style = gen.styles[0]
    s.seconds, s.variations, s.seed, s.model, s.placement = 2.0, 1, 7, str(WEIGHTS), 'ACTION'
    s.foot_pins = True
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def _fcurves(action) -> list:
    return [fc for slot in action.slots for fc in compat.get_channelbag(action, slot).fcurves]


def test_generate_onto_our_armature_matches_core_fk(gen):
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    s = _settings(gen, variations=2)
    before = set(bpy.data.actions)
    assert bpy.ops.genanim.generate() == {'FINISHED'}
    new = [a for a in bpy.data.actions if a not in before]
    assert len(new) == 2 and all(a.use_fake_user for a in new)
    clips = gen.generate(s.action, s.style, seconds=s.seconds, count=2, seed=s.seed, guidance=s.guidance)
    assert sorted(a.name for a in new) == sorted(c.name for c in clips)
    clip = next(c for c in clips if c.name == obj.animation_data.action.name)
    frames = np.linspace(0, clip.num_frames - 1, 8).round().astype(int)
    got = evaluated_heads(obj, clip.skeleton.names, 1 + frames) - np.array(obj.location)
    assert np.abs(got - to_armature_space(clip.global_positions()[frames])).max() < 1e-3


@pytest.mark.parametrize("make_rig", [build_mixamo_rig, build_rigify_metarig], ids=["mixamo", "rigify"])
def test_generate_onto_other_rigs_keys_every_mapped_bone(gen, make_rig):
    rig = make_rig()
    bpy.context.view_layer.objects.active = rig
    s = _settings(gen)
    assert bpy.ops.genanim.generate() == {'FINISHED'}
    action = rig.animation_data.action
    num_f = round(s.seconds * gen.fps)
    paths = {fc.data_path: len(fc.keyframe_points) for fc in _fcurves(action)}
    for bone in bone_map_of(rig).values():
        prop = ROTATION_PROPERTY[rig.pose.bones[bone].rotation_mode][0]  # the bone's own mode, unchanged
        assert paths[f'pose.bones["{bone}"].{prop}'] == num_f


def test_foot_pins_off_writes_the_feet_as_the_network_made_them(gen):
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    s = _settings(gen, foot_pins=False)
    assert bpy.ops.genanim.generate() == {'FINISHED'}
    free, pinned = (gen.generate(s.action, s.style, seconds=s.seconds, seed=s.seed, guidance=s.guidance,
                                 foot_pins=p)[0] for p in (False, True))
    frames = np.linspace(0, free.num_frames - 1, 8).round().astype(int)
    got = evaluated_heads(obj, free.skeleton.names, 1 + frames) - np.array(obj.location)
    assert np.abs(got - to_armature_space(free.global_positions()[frames])).max() < 1e-3
    assert np.abs(got - to_armature_space(pinned.global_positions()[frames])).max() > 0.01  # pins move feet (m)


def test_generate_as_nla_strips_leaves_the_active_action(gen):
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    obj.pose.bones["Head"].keyframe_insert("rotation_quaternion", frame=1)
    user_action = obj.animation_data.action
    _settings(gen, variations=2, placement='NLA')
    assert bpy.ops.genanim.generate() == {'FINISHED'}
    assert obj.animation_data.action == user_action
    tracks = obj.animation_data.nla_tracks
    assert len(tracks) == 2 and [t.mute for t in tracks] == [False, True]


def test_unknown_label_is_reported(gen):
    bpy.ops.genanim.create_armature()
    _settings(gen, action="moonwalk-backflip")
    with pytest.raises(RuntimeError, match="Unknown action 'moonwalk-backflip'; this model knows"):
        bpy.ops.genanim.generate()


def test_a_cancelled_job_stops_the_sampler(gen):
    """What Esc does in the UI: the worker's progress callback says stop, and the sampler raises Cancelled."""
    from blender_addon.core.generation import Cancelled
    from blender_addon.generate import _Job

    seen = []

    def run(progress):
        def spy(fraction: float) -> bool:
            seen.append(fraction)
            return progress(fraction)

        return gen.generate(None, None, seconds=4.0, count=1, seed=0, progress=spy)

    job = _Job(run)
    job.cancel = True
    job.thread.join(timeout=120)
    assert not job.thread.is_alive()
    assert isinstance(job.error, Cancelled) and job.clips is None
    assert seen  # the sampler asked, and stopped at the first answer


@pytest.mark.parametrize("family", ["cvae", "cgan", "vae", "gan"])
def test_generate_with_the_vae_and_gan_families(gen, family):
    """The shipped seed models through the same operator: no steps or guidance, and an unconditional
    model given a label, or a whole-take model asked for an excerpt, is reported in plain words."""
    weights = REPO / "weights" / f"{family}.safetensors"
    if not weights.is_file():
        pytest.skip(f"no trained weights at {weights}")
    bpy.ops.genanim.create_armature()
    conditional = family.startswith("c")
    s = _settings(gen, model=str(weights), steps=25)
    if not conditional:
        with pytest.raises(RuntimeError, match="unconditional: it takes no action or style"):
            bpy.ops.genanim.generate()
        s.action = s.style = ""
    else:  # the CVAE and CGAN make whole takes only
        s.excerpt = True
        with pytest.raises(RuntimeError, match="makes whole takes only"):
            bpy.ops.genanim.generate()
        s.excerpt = False
    before = set(bpy.data.actions)
    assert bpy.ops.genanim.generate() == {'FINISHED'}
    new = [a for a in bpy.data.actions if a not in before]
    assert len(new) == 1 and new[0].frame_range[1] - new[0].frame_range[0] >= 59  # 2 s at 30 fps


def test_generate_leaves_the_scene_rate_and_range_unless_asked(gen):
    """A 24 fps scene stays 24 fps with its frame range; asked to, the rate becomes exactly 30 fps (not the
    30.00003 of a rounded BVH frame time) and the range fits the clip."""
    scene = bpy.context.scene
    before = scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end
    scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end = 24, 1.0, 5, 77
    bpy.ops.genanim.create_armature()
    try:
        _settings(gen)
        assert bpy.ops.genanim.generate() == {'FINISHED'}
        assert (scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end) == (24, 1.0, 5, 77)
        _settings(gen, fit_scene=True, fit_rate=True, frame_start=1)
        assert bpy.ops.genanim.generate() == {'FINISHED'}
        assert (scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end) == (30, 1.0, 1, 60)
    finally:
        scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end = before
        bpy.context.scene.genanim.fit_scene = bpy.context.scene.genanim.fit_rate = False


def test_fill_gap_writes_a_new_action_and_keeps_the_users(gen):
    """Frames up to From and from To stay as the user's action has them, the frames between are the model's
    in-betweening of that action, and the user's action is kept in the file."""
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    walk = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh").slice(0, 90)
    user = apply_clip(obj, walk, "my_walk", frame_start=1)
    s = _settings(gen, gaps="21-51", seed=3)
    assert bpy.ops.genanim.fill_gap() == {'FINISHED'}
    new = obj.animation_data.action
    assert new != user and user.name in bpy.data.actions and user.use_fake_user
    fps = bpy.context.scene.render.fps / bpy.context.scene.render.fps_base
    before = read_clip_action(obj, gen.skeleton, user, fps)
    after = read_clip_action(obj, gen.skeleton, new, fps)
    pos_before, pos_after = before.global_positions(), after.global_positions()
    kept = np.r_[0:21, 50:90]  # Blender frames 1..21 and 51..90
    assert np.abs(pos_after[kept] - pos_before[kept]).max() < 0.01  # cm (f-curves hold float32)
    want = gen.inbetween(before, 20, 50, seed=s.seed).global_positions()
    assert np.abs(pos_after[21:50] - want[21:50]).max() < 0.01
    assert np.abs(pos_after[21:50] - pos_before[21:50]).max() > 1.0


def test_fill_gap_warns_when_the_scene_plays_another_frame_rate(gen, capfd):
    bpy.ops.genanim.create_armature()
    apply_clip(bpy.context.active_object, load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh").slice(0, 60), "w",
               frame_start=1)
    scene = bpy.context.scene
    before = scene.render.fps, scene.render.fps_base
    scene.render.fps, scene.render.fps_base = 24, 1.0
    _settings(gen, gaps="20-40", gap_labels=False)
    try:
        assert bpy.ops.genanim.fill_gap() == {'FINISHED'}
    finally:
        scene.render.fps, scene.render.fps_base = before
    assert "the filled frames play at 0.80x speed" in capfd.readouterr().out


def test_fill_gap_reports_bad_input(gen):
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    with pytest.raises(RuntimeError, match="has no active action"):
        bpy.ops.genanim.fill_gap()
    apply_clip(obj, load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh").slice(0, 40), "short", frame_start=1)
    for gaps, why in (("50-60", r"at least one of them must be a frame of the action \(1\.\.40\)"),
                      ("-5-60", "covers the whole action"), ("10 to 20", "cannot read '10'"),
                      ("10-20, 15-30", "gaps overlap"), ("10-11", "needs a frame to fill")):
        _settings(gen, gaps=gaps)
        with pytest.raises(RuntimeError, match=why):
            bpy.ops.genanim.fill_gap()
    _settings(gen, gaps="10-20", gap_labels=True, action="moonwalk-backflip")
    with pytest.raises(RuntimeError, match="unknown action 'moonwalk-backflip'; known actions"):
        bpy.ops.genanim.fill_gap()
    rig = build_mixamo_rig()
    bpy.context.view_layer.objects.active = rig
    rig.animation_data_create().action = bpy.data.actions["short"]  # keys GenAnim's bone names, not the rig's
    _settings(gen, gaps="10-20")
    with pytest.raises(RuntimeError, match="keys no location or rotation of 'Mixamo''s bones"):
        bpy.ops.genanim.fill_gap()


def _blocking(obj, dense, every: int = 10):
    """An animator's blocking action: `dense`'s values every `every` frames as Bezier keys (Blender's default
    interpolation), in the bones' own rotation modes."""
    action = bpy.data.actions.new("blocking")
    slot = compat.new_action_slot(action, obj)
    bag = compat.ensure_channelbag(action, slot)
    start, end = (round(v) for v in dense.frame_range)
    for fc in _fcurves(dense):
        new = compat.new_fcurve(bag, fc.data_path, fc.array_index, fc.group.name if fc.group else "")
        for f in range(start, end + 1, every):
            new.keyframe_points.insert(f, fc.evaluate(f))
    return action, slot, bag


def _evaluated(obj, action, frames) -> np.ndarray:
    """(F, B, 4, 4) armature-space pose matrices of every bone as Blender evaluates `action` at `frames`."""
    compat.assign_action(obj, action, next(s for s in action.slots))
    out = []
    for f in frames:
        bpy.context.scene.frame_set(int(f))
        out.append([np.array(pb.matrix) for pb in obj.pose.bones])
    return np.array(out)


def _keys(action) -> dict:
    return {(fc.data_path, fc.array_index): [tuple(k.co) + tuple(k.handle_left) + tuple(k.handle_right)
                                              for k in fc.keyframe_points] for fc in _fcurves(action)}


RIGS = {"mixamo": (build_mixamo_rig, "mixamorig:Spine1", "mixamorig:LeftFoot"),
        "rigify": (build_rigify_metarig, "f_index.01.L", "foot.L"),
        "makehuman": (build_makehuman_rig, "index_01_l", "foot_l")}


@pytest.mark.parametrize("mode", ["XYZ", "QUATERNION"])
@pytest.mark.parametrize("kind", sorted(RIGS))
def test_fill_gaps_on_the_animators_own_rig_keeps_everything_they_made(gen, kind, mode):
    """Fill Gaps on a production rig keyed in blocking poses (every 10 frames, Bezier): every kept frame
    evaluates to the animator's pose, the gaps change, and the user's action, rotation modes, an unmapped
    bone's keys, the scene's fps and frame range stay exactly as they were."""
    build, unmapped, foot = RIGS[kind]
    obj = build()
    for pb in obj.pose.bones:
        pb.rotation_mode = mode
    dense = apply_clip(obj, load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh").slice(0, 91), "dense")
    user, _, bag = _blocking(obj, dense)
    bpy.data.actions.remove(dense)
    prop = ROTATION_PROPERTY[mode][0]
    finger = compat.new_fcurve(bag, f'pose.bones["{unmapped}"].{prop}', 1, unmapped)  # a key of its own
    finger.keyframe_points.insert(1, 0.0)
    finger.keyframe_points.insert(91, 0.4)
    frames = np.arange(1, 92)
    before = _evaluated(obj, user, frames)
    keys = _keys(user)
    scene = bpy.context.scene
    scene_state = (scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end)
    bpy.context.view_layer.objects.active = obj
    _settings(gen, gaps="21-41, 61-81", seed=1)
    assert bpy.ops.genanim.fill_gap() == {'FINISHED'}
    new = obj.animation_data.action
    assert new != user and user.use_fake_user and _keys(user) == keys
    assert [pb.rotation_mode for pb in obj.pose.bones] == [mode] * len(obj.pose.bones)
    assert (scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end) == scene_state
    assert {k: v for k, v in _keys(new).items() if unmapped in k[0]} == \
        {k: v for k, v in keys.items() if unmapped in k[0]}
    after = _evaluated(obj, new, frames)
    gap = np.zeros(len(frames), bool)
    gap[21:40] = gap[61:80] = True  # frames 22..40 and 62..80
    assert np.abs(after[~gap] - before[~gap]).max() < 1e-4
    assert np.abs(after[gap] - before[gap]).max() > 0.01
    b = [pb.name for pb in obj.pose.bones].index(foot)
    rest_z = obj.data.bones[foot].head_local[2]
    assert after[gap, b, 2, 3].min() < rest_z + 0.05  # the filled foot comes down to the floor


def test_fill_gaps_extends_an_action_at_both_ends(gen):
    obj = build_mixamo_rig()
    for pb in obj.pose.bones:
        pb.rotation_mode = "ZXY"
    user = apply_clip(obj, load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh").slice(0, 60), "walk")
    before = _evaluated(obj, user, np.arange(11, 61))
    bpy.context.view_layer.objects.active = obj
    _settings(gen, gaps="-9-11, 50-80")
    assert bpy.ops.genanim.fill_gap() == {'FINISHED'}
    new = obj.animation_data.action
    assert tuple(round(v) for v in new.frame_range) == (-9, 80)
    after = _evaluated(obj, new, np.arange(-9, 81))
    assert np.abs(after[20:60] - before[:40]).max() < 1e-4  # frames 11..50 kept
    hips = after[:, [pb.name for pb in obj.pose.bones].index("mixamorig:Hips"), :3, 3]
    assert np.linalg.norm(hips[-1, :2] - hips[59, :2]) > 0.5  # the walk goes on after frame 50
    assert np.linalg.norm(hips[20, :2] - hips[0, :2]) > 0.2  # and came from somewhere before frame 11
