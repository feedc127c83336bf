"""The add-on's operators in real Blender: create, import, retarget (Mixamo, Rigify), export, bad input, undo data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from conftest import evaluated_heads  # noqa: E402
from rigs import build_mixamo_rig, build_rigify_metarig, tpose_clip  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon import compat  # noqa: E402
from blender_addon.armature import stack_on_nla  # noqa: E402
from blender_addon.core.motion.clip import load_clip, save_clip  # noqa: E402
from blender_addon.core.retarget.armature_space import ROTATION_PROPERTY, to_armature_space  # noqa: E402
from blender_addon.operators import classes as operator_classes  # noqa: E402
from blender_addon.rig import bone_map_of  # noqa: E402

pytestmark = pytest.mark.blender

WALK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bandai-namco" / "samples" / (
    "dataset-2_walk_normal_001.bvh")
MM = 1e-3


@pytest.fixture(scope="module", autouse=True)
def addon():
    blender_addon.register()
    yield
    blender_addon.unregister()


def _select(obj) -> None:
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    if obj is not None:
        obj.select_set(True)
    bpy.context.view_layer.objects.active = obj


def _fcurves(action) -> list:
    return [fc for slot in action.slots for fc in compat.get_channelbag(action, slot).fcurves]


def _error_of(op, **kwargs) -> str:
    """The error an operator reports. bpy.ops turns an error report into RuntimeError("Error: ...") for
    scripts; a crash inside the operator would carry a Python traceback instead."""
    with pytest.raises(RuntimeError) as info:
        op(**kwargs)
    message = str(info.value)
    assert message.startswith("Error: ") and "Traceback" not in message, message
    return message


def test_create_armature_stands_z_up_in_metres_at_the_cursor():
    mesh = bpy.data.objects.new("Keep", bpy.data.meshes.new("Keep"))
    bpy.context.scene.collection.objects.link(mesh)
    bpy.context.scene.cursor.location = (1.0, 2.0, 0.0)
    assert bpy.ops.genanim.create_armature() == {'FINISHED'}
    obj = bpy.context.active_object
    assert obj.type == 'ARMATURE' and obj.name == "GenAnim" and obj.select_get()
    assert tuple(obj.location) == (1.0, 2.0, 0.0)
    bones = obj.data.bones
    assert len(bones) == 22
    head, hips, foot = (bones[n].head_local for n in ("Head", "Hips", "Foot_L"))
    assert head.z > hips.z > foot.z > 0  # standing, Z up
    assert 1.2 < head.z < 1.8 and 0.7 < hips.z < 1.1  # a person's size in metres
    assert bones["Toes_L"].head_local.y < bones["Foot_L"].head_local.y  # facing -Y, Blender's front
    assert bones["Hand_L"].head_local.x > 0 > bones["Hand_R"].head_local.x
    bpy.ops.genanim.create_armature(scale=2.0)
    big = bpy.context.active_object
    assert big.name == "GenAnim.001"
    assert big.data.bones["Head"].head_local.z == pytest.approx(2 * head.z, rel=1e-5)
    assert "Keep" in bpy.data.objects


def test_import_bvh_onto_created_armature_matches_core_fk():
    """Blender-evaluated joints of our (standing-rest) armature match core's FK of the clip within 1 mm."""
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    bpy.context.scene.genanim.fit_scene = True
    try:
        assert bpy.ops.genanim.import_bvh(filepath=str(WALK)) == {'FINISHED'}
    finally:
        bpy.context.scene.genanim.fit_scene = False
    clip = load_clip(WALK)
    action = obj.animation_data.action
    assert action.name == clip.name and action.frame_range[:] == (1.0, float(clip.num_frames))
    frames = np.linspace(0, clip.num_frames - 1, 12).round().astype(int)
    got = evaluated_heads(obj, list(clip.skeleton.names), 1 + frames) - np.array(obj.location)
    want = to_armature_space(clip.global_positions()[frames])
    assert np.abs(got - want).max() < MM
    assert bpy.context.scene.frame_end == clip.num_frames  # the scene range fits the clip


def test_import_bvh_with_nothing_selected_makes_an_armature():
    _select(None)
    assert bpy.ops.genanim.import_bvh(filepath=str(WALK)) == {'FINISHED'}
    obj = bpy.context.active_object
    assert obj.type == 'ARMATURE' and obj.animation_data.action is not None


def _contact_frames(clip, joint: str) -> np.ndarray:
    """Clip frames where the source's ankle stands still near its lowest height."""
    pos = to_armature_space(clip.global_positions()[:, clip.skeleton.index(joint)])
    speed = np.r_[np.linalg.norm(np.diff(pos, axis=0), axis=-1) * clip.fps, np.inf]
    return np.nonzero((pos[:, 2] < pos[:, 2].min() + 0.01) & (speed < 0.2))[0]


@pytest.mark.parametrize("make_rig", [build_mixamo_rig, build_rigify_metarig], ids=["mixamo", "rigify"])
def test_retarget_bvh_onto_other_rigs(make_rig):
    rig = make_rig()
    # The user's own keys on the rig must survive.
    first = rig.data.bones[0].name
    rig.pose.bones[first].keyframe_insert("location", frame=3)
    user_action = rig.animation_data.action
    user_keys = [tuple(fc.keyframe_points[0].co) for fc in _fcurves(user_action)]
    modes = {pb.name: pb.rotation_mode for pb in rig.pose.bones}

    _select(rig)
    bpy.context.scene.genanim.bvh_path = str(WALK)
    assert bpy.ops.genanim.retarget() == {'FINISHED'}
    clip = load_clip(WALK)
    action = rig.animation_data.action
    assert action != user_action and user_action.use_fake_user
    assert [tuple(fc.keyframe_points[0].co) for fc in _fcurves(user_action)] == user_keys

    bone_map = bone_map_of(rig)
    assert len(bone_map) == 21  # every GenAnim joint found by the preset
    by_path = {(fc.data_path, fc.array_index): fc for fc in _fcurves(action)}
    frames = np.arange(1, clip.num_frames + 1, dtype=np.float32)
    assert {pb.name: pb.rotation_mode for pb in rig.pose.bones} == modes  # the rig's rotation modes stay
    for bone in bone_map.values():  # keyed in the bone's own rotation mode
        prop, count = ROTATION_PROPERTY[modes[bone]]
        for i in range(count):
            fc = by_path[(f'pose.bones["{bone}"].{prop}', i)]
            co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
            fc.keyframe_points.foreach_get("co", co)
            np.testing.assert_array_equal(co[0::2], frames)  # a key on every frame
    assert all((f'pose.bones["{bone_map["Hips"]}"].location', i) in by_path for i in range(3))

    # Feet keep their contact height: where the source's foot is planted, the rig's ankle is at its rest height.
    for side in "LR":
        contact = _contact_frames(clip, f"Foot_{side}")
        assert len(contact) > 10
        bone = bone_map[f"Foot_{side}"]
        rest_z = (rig.matrix_world @ rig.data.bones[bone].head_local).z
        heights = evaluated_heads(rig, [bone], 1 + contact[::4])[:, 0, 2]
        assert np.abs(heights - rest_z).max() < 0.02, (bone, heights, rest_z)


def test_retarget_from_a_genanim_armature_equals_retarget_from_the_file():
    bpy.ops.genanim.create_armature()
    source = bpy.context.active_object
    bpy.ops.genanim.import_bvh(filepath=str(WALK))
    rig = build_mixamo_rig()
    _select(rig)
    settings = bpy.context.scene.genanim
    settings.bvh_path = str(WALK)
    bpy.ops.genanim.retarget()
    from_file = rig.animation_data.action
    settings.source = source
    bpy.ops.genanim.retarget()
    from_action = rig.animation_data.action
    assert from_action != from_file
    values = {}
    for action in (from_file, from_action):
        rig.animation_data.action = action
        values[action.name] = evaluated_heads(rig, ["mixamorig:LeftHand", "mixamorig:RightFoot"], [1, 40, 120])
    a, b = values.values()
    assert np.abs(a - b).max() < MM


def test_bone_map_list_is_detected_and_edits_are_used():
    rig = build_mixamo_rig()
    _select(rig)
    assert bpy.ops.genanim.detect_bone_map() == {'FINISHED'}
    rows = {item.joint: item.bone for item in rig.genanim_bone_map}
    assert rows["LowerArm_L"] == "mixamorig:LeftForeArm" and len(rows) == 21
    # The user clears a required joint: retargeting refuses, naming it.
    next(i for i in rig.genanim_bone_map if i.joint == "Hand_R").bone = ""
    bpy.context.scene.genanim.bvh_path = str(WALK)
    assert "Hand_R" in _error_of(bpy.ops.genanim.retarget)
    # The user maps an optional joint elsewhere: the edited list is what is used.
    next(i for i in rig.genanim_bone_map if i.joint == "Hand_R").bone = "mixamorig:RightHand"
    next(i for i in rig.genanim_bone_map if i.joint == "Chest").bone = "mixamorig:Spine1"
    assert bone_map_of(rig)["Chest"] == "mixamorig:Spine1"
    assert bpy.ops.genanim.retarget() == {'FINISHED'}
    paths = {fc.data_path for fc in _fcurves(rig.animation_data.action)}
    assert 'pose.bones["mixamorig:Spine1"].rotation_quaternion' in paths
    assert 'pose.bones["mixamorig:Spine2"].rotation_quaternion' not in paths


def test_export_writes_only_the_active_action_and_names_path_problems(tmp_path: Path):
    import json
    import struct

    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    bpy.ops.genanim.import_bvh(filepath=str(WALK))
    other = bpy.data.actions.new("someone_elses")
    other.use_fake_user = True
    bpy.ops.genanim.import_bvh(filepath=str(WALK))  # a second action on the rig; the last one is active
    assert bpy.ops.genanim.export_action(filepath=str(tmp_path / "one.glb"), format='GLTF') == {'FINISHED'}
    data = (tmp_path / "one.glb").read_bytes()
    (length,) = struct.unpack("<I", data[12:16])
    animations = json.loads(data[20 : 20 + length])["animations"]
    assert [a["name"] for a in animations] == [obj.animation_data.action.name]
    (tmp_path / "a_file").write_text("x")
    for path, words in (("", "No file to export to"), (str(tmp_path) + "/", "is a folder"),
                        (str(tmp_path / "a_file" / "x.bvh"), "Cannot make the folder")):
        with pytest.raises(RuntimeError, match=words) as e:
            bpy.ops.genanim.export_action(filepath=path, format='BVH')
        assert "Traceback" not in str(e.value)


def test_export_action_with_blenders_exporters(tmp_path: Path):
    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    bpy.ops.genanim.import_bvh(filepath=str(WALK))
    other = bpy.data.objects.new("Other", None)
    bpy.context.scene.collection.objects.link(other)
    other.select_set(True)
    start, end = bpy.context.scene.frame_start, bpy.context.scene.frame_end
    for fmt, ext in (('BVH', ".bvh"), ('FBX', ".fbx"), ('GLTF', ".glb")):
        assert bpy.ops.genanim.export_action(filepath=str(tmp_path / f"out{ext}"), format=fmt) == {'FINISHED'}
        assert (tmp_path / f"out{ext}").stat().st_size > 1000
    assert other.select_get() and bpy.context.active_object == obj  # the user's selection is back
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (start, end)
    exported = load_clip(tmp_path / "out.bvh")
    assert exported.num_frames == load_clip(WALK).num_frames
    assert set(exported.skeleton.names) == set(obj.data.bones.keys())
    action, scene = obj.animation_data.action.name, bpy.context.scene.name
    bpy.ops.import_scene.fbx(filepath=str(tmp_path / "out.fbx"))
    takes = [a.name for a in bpy.data.actions if a.name != action]
    assert takes and all(t.endswith(f"|{action}") for t in takes), takes  # the take is the action, not the scene
    assert bpy.context.scene.name == scene


def test_bad_input_is_reported_never_raised(tmp_path: Path):
    """Each bad input gives a plain error report; nothing is created or changed."""
    settings = bpy.context.scene.genanim
    settings.bvh_path = str(WALK)
    _select(None)
    for op in (bpy.ops.genanim.generate, bpy.ops.genanim.retarget, bpy.ops.genanim.detect_bone_map,
               bpy.ops.genanim.export_action):
        assert "Nothing is selected" in _error_of(op)

    mesh = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
    bpy.context.scene.collection.objects.link(mesh)
    _select(mesh)
    for op, kwargs in ((bpy.ops.genanim.generate, {}), (bpy.ops.genanim.retarget, {}),
                       (bpy.ops.genanim.import_bvh, {"filepath": str(WALK)})):
        assert "'Cube' is a mesh, not an armature" in _error_of(op, **kwargs)
    assert "No BVH file chosen" in _error_of(bpy.ops.genanim.import_bvh, filepath="")

    # A rig with no humanoid bones: say which bones are missing.
    arm = bpy.data.armatures.new("Robot")
    robot = bpy.data.objects.new("Robot", arm)
    bpy.context.scene.collection.objects.link(robot)
    _select(robot)
    bpy.ops.object.mode_set(mode='EDIT')
    for name, z in (("Base", 0.0), ("Arm", 1.0)):
        eb = arm.edit_bones.new(name)
        eb.head, eb.tail = (0, 0, z), (0, 0, z + 1)
    bpy.ops.object.mode_set(mode='OBJECT')
    message = _error_of(bpy.ops.genanim.retarget)
    assert "Rig 'Robot' cannot be mapped: no bone found for Hips, Head, UpperArm_L" in message

    # Zero frames: a duration of 0 s, and a BVH file without frames.
    bpy.ops.genanim.create_armature()
    settings.seconds = 0.0
    assert "zero frames" in _error_of(bpy.ops.genanim.generate)
    settings.seconds = 4.0
    empty = tmp_path / "empty.bvh"
    text = WALK.read_text()
    empty.write_text(text[: text.index("MOTION")] + "MOTION\nFrames: 0\nFrame Time: 0.033333\n")
    assert "no frames" in _error_of(bpy.ops.genanim.import_bvh, filepath=str(empty))
    garbage = tmp_path / "garbage.bvh"
    garbage.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 zero 0\n")
    assert "garbage.bvh" in _error_of(bpy.ops.genanim.import_bvh, filepath=str(garbage))

    # Missing weights: named plainly (with or without PyTorch installed).
    settings.model = "no_such_model"
    message = _error_of(bpy.ops.genanim.generate)
    assert "Model weights are missing: no no_such_model.safetensors" in message
    settings.model = ""
    # Nothing to export, and no source to retarget.
    assert "has no active action" in _error_of(bpy.ops.genanim.export_action, filepath=str(tmp_path / "x.bvh"))
    settings.bvh_path = ""
    assert "No source" in _error_of(bpy.ops.genanim.retarget)
    assert not bpy.data.actions


def test_data_changing_operators_support_undo_and_never_overwrite():
    """Undo itself needs a window (ed.undo's poll fails headless), so check what it relies on:
    every operator that changes data registers an undo step, and nothing the user made is replaced."""
    for cls in operator_classes:
        if cls.bl_idname != "genanim.export_action":
            assert {'REGISTER', 'UNDO'} <= cls.bl_options, cls.bl_idname
    assert {'REGISTER', 'UNDO'} <= bpy.types.GENANIM_OT_generate.bl_options

    bpy.ops.genanim.create_armature()
    obj = bpy.context.active_object
    bpy.ops.genanim.import_bvh(filepath=str(WALK))
    first = obj.animation_data.action
    first_keys = [tuple(fc.keyframe_points[-1].co) for fc in _fcurves(first)]
    bpy.ops.genanim.import_bvh(filepath=str(WALK))
    second = obj.animation_data.action
    assert second != first and second.name == first.name + ".001"
    assert first.use_fake_user and [tuple(fc.keyframe_points[-1].co) for fc in _fcurves(first)] == first_keys
    # NLA placement leaves the active action alone and plays the strip's action.
    track = stack_on_nla(obj, first, 1)
    assert obj.animation_data.action == second and track.strips[0].action == first


def test_panels_draw_in_the_sidebar():
    for name in ("GENANIM_PT_main", "GENANIM_PT_generate", "GENANIM_PT_retarget", "GENANIM_PT_files"):
        panel = getattr(bpy.types, name)
        assert (panel.bl_space_type, panel.bl_region_type, panel.bl_category) == ('VIEW_3D', 'UI', "GenAnim")


def test_import_bvh_of_another_skeleton_onto_rigify(tmp_path: Path):
    """A T-pose BVH with other joint names is matched by name and retargeted; it can also get its own armature."""
    path = tmp_path / "tpose_walk.bvh"
    save_clip(tpose_clip(load_clip(WALK)), path)
    rig = build_rigify_metarig()
    _select(rig)
    assert bpy.ops.genanim.import_bvh(filepath=str(path)) == {'FINISHED'}
    paths = {fc.data_path for fc in _fcurves(rig.animation_data.action)}
    assert all(f'pose.bones["{b}"].{ROTATION_PROPERTY[rig.pose.bones[b].rotation_mode][0]}' in paths
               for b in bone_map_of(rig).values())
    # Where the source's left foot is planted, the metarig's stays near its rest height.
    clip = load_clip(WALK)
    contact = _contact_frames(clip, "Foot_L")
    foot = bone_map_of(rig)["Foot_L"]
    rest_z = (rig.matrix_world @ rig.data.bones[foot].head_local).z
    assert np.abs(evaluated_heads(rig, [foot], 1 + contact[::4])[:, 0, 2] - rest_z).max() < 0.03

    _select(None)
    assert bpy.ops.genanim.import_bvh(filepath=str(path)) == {'FINISHED'}
    own = bpy.context.active_object
    assert own.data.bones.keys() == list(load_clip(path).skeleton.names)


class _CheckingLayout:
    """Stands in for UILayout (which only exists in a UI) and checks what draw code asks of it:
    every property exists on its data, every operator and UI list is registered."""

    def __init__(self, drawn: list[str]):
        self.drawn = drawn
        self.enabled = self.alert = self.use_property_split = True

    def _sub(self, *args, **kwargs) -> _CheckingLayout:
        return _CheckingLayout(self.drawn)

    row = column = box = split = _sub

    def label(self, text: str = "", icon: str = 'NONE') -> None:
        self.drawn.append(f"label:{text}")

    def prop(self, data, name: str, **kwargs) -> None:
        assert name in data.bl_rna.properties, f"{data} has no property {name!r}"
        self.drawn.append(f"prop:{name}")

    def prop_search(self, data, name: str, search_data, search_name: str, **kwargs) -> None:
        assert name in data.bl_rna.properties and search_name in search_data.bl_rna.properties
        self.drawn.append(f"search:{name}")

    def operator(self, idname: str, **kwargs):
        module, name = idname.split(".")
        props = getattr(getattr(bpy.ops, module), name).get_rna_type().properties  # fails if unregistered
        self.drawn.append(f"op:{idname}")

        class Props:
            def __setattr__(self, key, value):
                assert key in props, f"{idname} has no property {key!r}"

        return Props()

    def template_list(self, list_type: str, list_id: str, data, prop: str, active_data, active_prop: str, **kw):
        assert hasattr(bpy.types, list_type)
        assert prop in data.bl_rna.properties and active_prop in active_data.bl_rna.properties
        self.drawn.append(f"list:{prop}")


def _draw(panel, context) -> list[str]:
    drawn: list[str] = []

    class Self:
        layout = _CheckingLayout(drawn)

    panel.draw(Self(), context)
    return drawn


def test_panels_draw_what_exists():
    from blender_addon import panels

    context = bpy.context
    for panel in (panels.GENANIM_PT_main, panels.GENANIM_PT_generate, panels.GENANIM_PT_retarget,
                  panels.GENANIM_PT_files):
        _draw(panel, context)  # nothing selected
    rig = build_mixamo_rig()
    _select(rig)
    assert "op:genanim.retarget" in _draw(panels.GENANIM_PT_retarget, context)
    bpy.ops.genanim.detect_bone_map()
    assert "list:genanim_bone_map" in _draw(panels.GENANIM_PT_retarget, context)
    drawn: list[str] = []
    for item in rig.genanim_bone_map:
        panels.GENANIM_UL_bone_map.draw_item(None, context, _CheckingLayout(drawn), rig, item, 0, rig,
                                             "genanim_bone_map_index")
    assert drawn.count("search:bone") == 21
    generate = _draw(panels.GENANIM_PT_generate, context)
    assert {"prop:action", "prop:style", "prop:seconds", "prop:variations", "prop:seed", "prop:guidance",
            "prop:steps", "prop:model", "op:genanim.generate"} <= set(generate)
    assert {"op:genanim.import_bvh", "op:genanim.export_action"} <= set(_draw(panels.GENANIM_PT_files, context))
    with pytest.raises(AssertionError):  # the checker itself catches a missing property
        _CheckingLayout([]).prop(bpy.context.scene.genanim, "no_such_setting")
