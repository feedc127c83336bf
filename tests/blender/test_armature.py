"""Armatures and actions written from core clips, checked against core FK and Blender's own BVH importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from conftest import evaluated_heads  # noqa: E402

from blender_addon import compat  # noqa: E402
from blender_addon.armature import build_armature, read_clip_action, write_clip_action  # noqa: E402
from blender_addon.core.errors import RigError  # noqa: E402
from blender_addon.core.motion.clip import Clip, load_clip, save_clip  # noqa: E402
from blender_addon.core.motion.skeleton import Skeleton  # noqa: E402
from blender_addon.core.retarget.armature_space import to_armature_space  # noqa: E402

pytestmark = pytest.mark.blender

TOL = 1e-4  # 0.1 mm, in metres
NUM_CHECKED_FRAMES = 30


def _checked_frames(clip: Clip) -> np.ndarray:
    return np.unique(np.linspace(0, clip.num_frames - 1, NUM_CHECKED_FRAMES).round().astype(int))


def test_evaluated_heads_match_core_fk(clip_path: Path):
    clip = load_clip(clip_path)
    obj = build_armature(clip.skeleton, clip.name)
    write_clip_action(obj, clip, clip.name)
    frames = _checked_frames(clip)
    expected = to_armature_space(clip.global_positions()[frames])
    got = evaluated_heads(obj, clip.skeleton.names, 1 + frames)
    assert np.abs(got - expected).max() < TOL


def test_rest_pose_heads_and_bones(clip_path: Path):
    clip = load_clip(clip_path)
    obj = build_armature(clip.skeleton, "Rest")
    bones = obj.data.bones
    assert [b.name for b in bones] == list(clip.skeleton.names)  # none dropped as zero-length
    for name, parent in zip(clip.skeleton.names, clip.skeleton.parents, strict=True):
        bone = bones[name]
        assert (bone.parent.name if bone.parent else None) == (clip.skeleton.names[parent] if parent >= 0 else None)
        assert not bone.use_connect
        assert bone.length > 1e-3
    # The static joint_Root sits at the origin, Z is up: the hips are above it.
    assert tuple(bones["joint_Root"].head_local) == (0.0, 0.0, 0.0)
    assert bones["Hips"].head_local.z > 0.5


def test_matches_blender_bvh_importer(clip_path: Path, tmp_path: Path):
    """Our reader + armature and Blender's BVH importer put every joint at the same place.

    Every joint in this data has position channels. Blender's importer
    (io_anim_bvh) keys a bone's location as rest_matrix^-1 @ (channel - OFFSET),
    i.e. the channels replace the offset in the parent's frame, exactly as our
    reader does, and it never connects such bones (connected bones ignore
    location). In the sample files the non-root channels equal the offsets, so
    to make that comparison mean something we also stretch two non-root joints'
    translation channels away from their offsets and compare that file too.
    """
    clip = load_clip(clip_path)
    names = clip.skeleton.names
    stretched = Clip(clip.skeleton, clip.rotations.copy(), clip.translations.copy(), clip.fps, clip.name)
    t = np.linspace(0.0, 2 * np.pi, clip.num_frames)
    stretched.translations[:, names.index("LowerArm_L")] *= 1.3
    stretched.translations[:, names.index("Spine"), 1] += 5.0 * np.sin(t)
    stretched_path = tmp_path / "stretched.bvh"
    save_clip(stretched, stretched_path)

    frames = _checked_frames(clip)
    for path in (clip_path, stretched_path):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        ours_clip = load_clip(path)
        ours = build_armature(ours_clip.skeleton, "Ours")
        write_clip_action(ours, ours_clip, "Ours")
        # The importer's defaults (forward -Z, up Y) are the same Y-up -> Z-up conversion as ours.
        result = bpy.ops.import_anim.bvh(
            filepath=str(path), global_scale=0.01, axis_forward='-Z', axis_up='Y', frame_start=1,
            use_fps_scale=False, rotate_mode='NATIVE',
        )
        assert result == {'FINISHED'}
        theirs = next(o for o in bpy.data.objects if o.type == 'ARMATURE' and o is not ours)
        got = evaluated_heads(ours, names, 1 + frames)
        want = evaluated_heads(theirs, names, 1 + frames)
        assert np.abs(got - want).max() < TOL, path.name
    # The stretch really moved the hand: the comparison above is not vacuous.
    moved = to_armature_space(stretched.global_positions() - clip.global_positions())
    assert np.abs(moved[:, names.index("Hand_L")]).max() > 0.05


def _fcurves(action: bpy.types.Action) -> list[bpy.types.FCurve]:
    return [fc for slot in action.slots for fc in compat.get_channelbag(action, slot).fcurves]


def _key_frames(fc: bpy.types.FCurve) -> np.ndarray:
    co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co[0::2]


def test_write_makes_new_actions_and_keeps_existing_keys(sample_clip_path: Path):
    clip = load_clip(sample_clip_path).slice(0, 40)
    obj = build_armature(clip.skeleton, "Rig")
    pb = obj.pose.bones["Head"]
    pb.rotation_mode = 'XYZ'
    pb.rotation_euler = (0.1, 0.2, 0.3)
    pb.keyframe_insert("rotation_euler", frame=7)
    user_action = obj.animation_data.action
    before = {(fc.data_path, fc.array_index): fc.keyframe_points[0].co.copy() for fc in _fcurves(user_action)}

    first = write_clip_action(obj, clip, "Clip")
    second = write_clip_action(obj, clip, "Clip")

    assert len({user_action, first, second}) == 3
    assert first.name != second.name and "Clip" in (first.name, second.name)
    assert obj.animation_data.action == second
    assert obj.animation_data.action_slot is not None
    # The user's action is untouched, and kept with a fake user since nothing else uses it now.
    after = {(fc.data_path, fc.array_index): fc.keyframe_points[0].co for fc in _fcurves(user_action)}
    assert before.keys() == after.keys()
    assert all(tuple(before[k]) == tuple(after[k]) for k in before)
    assert user_action.use_fake_user
    assert len(_fcurves(first)) == len(_fcurves(second))

    expected_frames = 1 + np.arange(clip.num_frames)
    by_path: dict[str, list[bpy.types.FCurve]] = {}
    for fc in _fcurves(second):
        by_path.setdefault(fc.data_path, []).append(fc)
        np.testing.assert_array_equal(_key_frames(fc), expected_frames)
        assert fc.group is not None and fc.group.name in fc.data_path
    for name in clip.skeleton.names:  # keyed in each bone's own rotation mode, which stays as it was
        prop, count = ("rotation_euler", 3) if name == "Head" else ("rotation_quaternion", 4)
        rot = by_path[f'pose.bones["{name}"].{prop}']
        assert sorted(fc.array_index for fc in rot) == list(range(count))
        assert obj.pose.bones[name].rotation_mode == ('XYZ' if name == "Head" else 'QUATERNION')
    located = sorted(p for p in by_path if p.endswith(".location"))
    assert located == ['pose.bones["Hips"].location']  # the root translation; other channels equal offsets
    assert all(len(v) == 3 for k, v in by_path.items() if k.endswith(".location"))


MODES = ('QUATERNION', 'XYZ', 'XZY', 'YXZ', 'YZX', 'ZXY', 'ZYX', 'AXIS_ANGLE')


def test_every_rotation_mode_is_written_in_place_and_read_back(sample_clip_path: Path):
    """Bones in every rotation mode Blender offers: a clip written onto the rig poses it exactly as on a
    quaternion rig (Blender's own evaluation), the modes stay, and reading the action back gives the clip;
    blocking keys (every 10 frames, Bezier) are read as Blender interpolates them."""
    clip = load_clip(sample_clip_path).slice(0, 40)
    plain = build_armature(clip.skeleton, "Plain")
    mixed = build_armature(clip.skeleton, "Mixed")
    modes = {n: MODES[j % len(MODES)] for j, n in enumerate(clip.skeleton.names)}
    for n, m in modes.items():
        mixed.pose.bones[n].rotation_mode = m
    write_clip_action(plain, clip, "plain")
    action = write_clip_action(mixed, clip, "mixed")
    assert {n: mixed.pose.bones[n].rotation_mode for n in modes} == modes
    frames = _checked_frames(clip)
    names = clip.skeleton.names
    np.testing.assert_allclose(evaluated_heads(mixed, names, 1 + frames), evaluated_heads(plain, names, 1 + frames),
                               atol=1e-5)
    back = read_clip_action(mixed, clip.skeleton, action, clip.fps)
    # within 0.1 mm: float32 Euler keys near gimbal lock lose more than quaternion keys do
    np.testing.assert_allclose(back.global_positions(), clip.global_positions(), atol=1e-2)

    # Blocking keys on the mixed rig: the kept pose of every frame is Blender's own evaluation.
    blocking = bpy.data.actions.new("blocking")
    mixed.animation_data.action = blocking
    for pb in mixed.pose.bones:  # channels the blocking does not key rest where reading puts them
        pb.location = (0.0, 0.0, 0.0)
    for f in range(1, 41, 10):
        bpy.context.scene.frame_set(f)
        for n, m in modes.items():
            pb = mixed.pose.bones[n]
            prop = {'QUATERNION': "rotation_quaternion", 'AXIS_ANGLE': "rotation_axis_angle"}.get(m, "rotation_euler")
            if prop == "rotation_euler":
                pb.rotation_euler = (0.02 * f, -0.01 * f, 0.015 * f)
            elif prop == "rotation_quaternion":
                pb.rotation_quaternion = (1.0, 0.01 * f, 0.0, -0.005 * f)
            else:
                pb.rotation_axis_angle = (0.02 * f, 0.0, 1.0, 0.0)
            pb.keyframe_insert(prop, frame=f)
    read = read_clip_action(mixed, clip.skeleton, blocking, clip.fps)
    fk = np.array(read.global_positions())
    want = evaluated_heads(mixed, names, 1 + np.arange(read.num_frames)) * 100  # metres -> cm, Z up
    got = fk @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # data Y up -> Blender Z up
    np.testing.assert_allclose(got, want, atol=1e-2)  # 0.1 mm, bones 4.5 m out in Blender's float32


def test_reading_an_action_that_keys_no_bone_says_so(sample_clip_path: Path):
    clip = load_clip(sample_clip_path).slice(0, 10)
    obj = build_armature(clip.skeleton, "Rig")
    action = bpy.data.actions.new("object_only")
    obj.animation_data_create().action = action
    obj.keyframe_insert("location", frame=1)  # the object moves, no bone does
    with pytest.raises(RigError, match="keys no location or rotation of 'Rig"):
        read_clip_action(obj, clip.skeleton, action, clip.fps)


def test_build_keeps_mode_and_selection(sample_clip_path: Path):
    mesh = bpy.data.meshes.new("Cube")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    cube = bpy.data.objects.new("Cube", mesh)
    bpy.context.scene.collection.objects.link(cube)
    cube.select_set(True)
    bpy.context.view_layer.objects.active = cube
    bpy.ops.object.mode_set(mode='EDIT')

    clip = load_clip(sample_clip_path)
    obj = build_armature(clip.skeleton, "Rig")

    assert bpy.context.view_layer.objects.active == cube
    assert cube.mode == 'EDIT' and obj.mode == 'OBJECT'
    assert cube.select_get() and not obj.select_get()
    assert obj.name in bpy.context.scene.collection.objects


def test_bad_rigs_raise_rig_error(sample_clip_path: Path):
    clip = load_clip(sample_clip_path)
    empty = bpy.data.objects.new("Empty", None)
    with pytest.raises(RigError, match="not an armature"):
        write_clip_action(empty, clip, "Clip")
    other = build_armature(Skeleton(("A", "B"), np.array([-1, 0]), np.array([[0, 0, 0], [0, 10, 0]])), "Other")
    with pytest.raises(RigError, match="no bones named"):
        write_clip_action(other, clip, "Clip")
    assert not bpy.data.actions
