"""A generated character in real Blender: skinned mesh bound to an armature of our skeleton, deforming correctly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon.character import build_character  # noqa: E402
from blender_addon.core.bodies.body import JOINTS  # noqa: E402
from blender_addon.core.bodies.character import CharacterGenerator  # noqa: E402
from blender_addon.core.bodies.conditions import Condition  # noqa: E402

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def character():
    cond = Condition.make(sex="female", age=40, stature=165, build="heavy")
    return CharacterGenerator.load().generate(cond, 1, seed=0)[0]


def _evaluated_vertices(obj: bpy.types.Object) -> np.ndarray:
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    return co.reshape(-1, 3).astype(np.float64)


def _rotation_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def test_character_mesh_is_bound_to_our_armature(character):
    arm, body = build_character(character, "Heavy40")
    assert [b.name for b in arm.data.bones] == list(JOINTS)
    heads = np.array([arm.data.bones[n].head_local for n in JOINTS])
    assert np.abs(heads - character.mesh.joints).max() < 1e-4  # bones sit on the character's joints
    assert len(body.data.vertices) == len(character.mesh.vertices)
    assert body.parent == arm and body.modifiers["Armature"].object == arm
    assert [g.name for g in body.vertex_groups] == list(JOINTS)
    sums = np.zeros(len(body.data.vertices))
    for v in body.data.vertices:
        sums[v.index] = sum(g.weight for g in v.groups)
    assert np.abs(sums - 1).max() < 1e-3
    rest = _evaluated_vertices(body)
    assert np.abs(rest - character.mesh.vertices).max() < 1e-5  # rest pose leaves the mesh where it was made


def test_posed_bone_deforms_the_mesh_like_linear_blend_skinning(character):
    arm, body = build_character(character, "Posed")
    angle = 0.6
    pb = arm.pose.bones["UpperArm_L"]
    # The bone's rest frame is its matrix_local; rotate about the bone's own X axis by `angle`.
    pb.rotation_quaternion = (np.cos(angle / 2), np.sin(angle / 2), 0.0, 0.0)
    bpy.context.view_layer.update()
    got = _evaluated_vertices(body)

    rest = np.array(arm.data.bones["UpperArm_L"].matrix_local)
    rot = np.eye(4)
    rot[:3, :3] = _rotation_x(angle)
    moved = rest @ rot @ np.linalg.inv(rest)  # armature-space transform of the arm chain
    w = character.mesh.dense_weights()
    chain = [JOINTS.index(n) for n in ("UpperArm_L", "LowerArm_L", "Hand_L")]
    wc = w[:, chain].sum(1, keepdims=True)
    v = character.mesh.vertices
    expected = v * (1 - wc) + wc * (v @ moved[:3, :3].T + moved[:3, 3])
    assert np.abs(got - expected).max() < 1e-4
    hand = w[:, JOINTS.index("Hand_L")] > 0.9
    assert np.linalg.norm(got[hand] - v[hand], axis=1).min() > 0.05  # the hand really moved


def _contacts(clip, joint: str) -> np.ndarray:
    """(F,) frames where the clip's `joint` stands: near its lowest height and slow."""
    p = clip.global_positions()[:, clip.skeleton.index(joint)]  # cm, Y up
    speed = np.linalg.norm(np.gradient(p[:, [0, 2]], axis=0), axis=1) * clip.fps  # cm/s
    return (p[:, 1] < np.percentile(p[:, 1], 5) + 2.0) & (speed < 15.0)


@pytest.mark.slow
def test_walk_keeps_the_characters_feet_on_the_floor(character):
    from blender_addon.armature import write_pose_action
    from blender_addon.core.motion.clip import load_clip
    from blender_addon.core.retarget.armature_space import Y_UP_TO_Z_UP
    from blender_addon.core.retarget.reference import reference_pose
    from blender_addon.core.retarget.retarget import retarget

    samples = Path(__file__).resolve().parents[3] / "shared" / "data" / "bandai-namco" / "samples"
    clip = load_clip(samples / "dataset-2_walk_normal_001.bvh")
    arm, body = build_character(character, "Walker")
    bones = list(arm.data.bones)
    names = [b.name for b in bones]
    parents = [names.index(b.parent.name) if b.parent else -1 for b in bones]
    rest = np.array([np.array(b.matrix_local) for b in bones])
    pose = retarget(clip, reference_pose(clip.skeleton, clip), {j: j for j in JOINTS}, names, parents, rest,
                    Y_UP_TO_Z_UP)
    write_pose_action(arm, pose.bones, pose.locations, pose.quaternions, pose.moving, "walk")
    w = character.mesh.dense_weights()
    worst = []
    for side in ("L", "R"):
        foot = (w[:, JOINTS.index(f"Foot_{side}")] + w[:, JOINTS.index(f"Toes_{side}")]) > 0.5
        frames = np.nonzero(_contacts(clip, f"Foot_{side}"))[0]
        assert len(frames) > 10
        for f in frames[:: max(1, len(frames) // 12)]:
            bpy.context.scene.frame_set(1 + int(f))
            worst.append(abs(_evaluated_vertices(body)[foot, 2].min()))  # sole height above the floor, metres
    assert max(worst) < 0.02, f"a standing foot is {100 * max(worst):.1f} cm off the floor"
