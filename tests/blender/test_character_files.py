"""The character files written by `python -m core character`, opened with Blender's own importers at their defaults."""

from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_addon.core.bodies.body import JOINTS  # noqa: E402
from blender_addon.core.cli import main  # noqa: E402

pytestmark = pytest.mark.blender
STATURE = 165.0  # cm


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("chars")
    assert main(["character", "--sex", "female", "--age", "40", "--stature", str(STATURE), "--build", "heavy",
                 "--seed", "0", "--out", str(out)]) == 0
    return out


def _world_vertices(obj: bpy.types.Object) -> np.ndarray:
    """Evaluated (deformed) vertices in world space, metres."""
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    m = np.array(obj.matrix_world)
    return co.reshape(-1, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3]


def _assert_standing(obj: bpy.types.Object) -> None:
    v = _world_vertices(obj)
    assert abs(100 * np.ptp(v[:, 2]) - STATURE) < 1.0, f"height along Z is {100 * np.ptp(v[:, 2]):.1f} cm"
    assert abs(v[:, 2].min()) < 0.01, f"feet at z = {v[:, 2].min():.3f} m"
    assert np.ptp(v[:, 1]) < 0.6  # front to back is a body's depth: not lying down


def test_obj_stands_up_with_the_importers_defaults(written):
    bpy.ops.wm.obj_import(filepath=str(written / "character_000.obj"))
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    assert len(meshes) == 1
    _assert_standing(meshes[0])


def test_glb_imports_as_a_standing_skinned_character(written):
    bpy.ops.import_scene.gltf(filepath=str(written / "character_000.glb"))
    objs = bpy.context.scene.objects
    arms = [o for o in objs if o.type == "ARMATURE"]
    assert len(arms) == 1
    arm = arms[0]
    meshes = [o for o in objs if o.type == "MESH" and o.parent == arm]  # not the importer's bone-shape sphere
    assert len(meshes) == 1
    body = meshes[0]
    assert {b.name for b in arm.data.bones} == set(JOINTS)
    assert arm.data.bones["Hand_L"].parent.name == "LowerArm_L"
    doc = json.loads((written / "character_000.json").read_text())
    m = np.array(arm.matrix_world)
    heads = np.array([arm.data.bones[n].head_local for n in JOINTS]) @ m[:3, :3].T + m[:3, 3]
    assert np.abs(heads - doc["skeleton"]["heads"]).max() < 1e-4  # joints where the JSON (Z up) has them
    assert any(m.type == "ARMATURE" and m.object == arm for m in body.modifiers)
    _assert_standing(body)
    names = {g.index: g.name for g in body.vertex_groups}
    assert set(names.values()) <= set(JOINTS)
    sums = np.zeros(len(body.data.vertices))
    for v in body.data.vertices:
        sums[v.index] = sum(g.weight for g in v.groups if g.group in names)
    assert sums.min() > 0.99 and sums.max() < 1.01  # every vertex is weighted, normalised
    assert body["measurements"].to_dict()["stature"] == STATURE  # the node's extras become custom properties


@pytest.mark.slow
def test_glb_walk_travels_with_the_feet_on_the_floor(tmp_path):
    assert main(["character", "--sex", "male", "--age", "25", "--stature", "180", "--build", "slim", "--seed", "0",
                 "--motion", "walk", "--seconds", "4", "--out", str(tmp_path)]) == 0
    bpy.ops.import_scene.gltf(filepath=str(tmp_path / "character_000.glb"))
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    body = next(o for o in bpy.context.scene.objects if o.type == "MESH" and o.parent == arm)
    scene = bpy.context.scene
    start, end = arm.animation_data.action.frame_range
    fps = scene.render.fps / scene.render.fps_base
    assert abs((end - start) / fps - 4.0) < 0.1  # the last key is one clip frame before 4 s
    w = np.zeros((len(body.data.vertices), len(JOINTS)))
    for v in body.data.vertices:
        for g in v.groups:
            w[v.index, JOINTS.index(body.vertex_groups[g.group].name)] = g.weight
    verts, hips = [], []
    for f in range(int(start), int(end) + 1):
        scene.frame_set(f)
        verts.append(_world_vertices(body))
        hips.append(np.array(arm.matrix_world) @ np.append(np.array(arm.pose.bones["Hips"].head), 1.0))
    verts, hips = np.array(verts), np.array(hips)[:, :3]
    assert np.linalg.norm(hips[-1, :2] - hips[0, :2]) > 1.5
    for side in ("L", "R"):
        foot = (w[:, JOINTS.index(f"Foot_{side}")] + w[:, JOINTS.index(f"Toes_{side}")]) > 0.5
        centre = verts[:, foot].mean(1)
        # a foot under 10 cm/s stands (rising or sinking counts: a foot lifting off from rest moves up, not along)
        stance = np.linalg.norm(np.gradient(centre, axis=0), axis=1) * fps < 0.1
        assert stance.sum() > 10
        sole = verts[stance][:, foot, 2].min(1)
        assert np.abs(sole).max() < 0.02, f"a standing foot is {100 * np.abs(sole).max():.1f} cm off the floor"
