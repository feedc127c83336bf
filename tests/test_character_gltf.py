"""The character .glb and .obj files: structure checked with numpy alone (Blender's importers: tests/blender)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.bodies.body import JOINTS, PARENTS
from core.bodies.gltf import FLOAT, UBYTE, UINT, GltfError, read_glb
from core.cli import main

SIZES = {FLOAT: 4, UBYTE: 1, UINT: 4, 5123: 2}
WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}
DTYPES = {FLOAT: np.float32, UBYTE: np.uint8, UINT: np.uint32, 5123: np.uint16}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("chars")
    assert main(["character", "--sex", "female", "--age", "40", "--stature", "165", "--build", "heavy",
                 "--seed", "0", "--out", str(out)]) == 0
    return out


def _accessor(doc: dict, binary: bytes, i: int) -> np.ndarray:
    acc = doc["accessors"][i]
    view = doc["bufferViews"][acc["bufferView"]]
    size, width = SIZES[acc["componentType"]], WIDTH[acc["type"]]
    start = view["byteOffset"] + acc.get("byteOffset", 0)
    assert start % size == 0  # aligned to the component size
    assert acc.get("byteOffset", 0) + acc["count"] * size * width <= view["byteLength"]
    assert view["byteOffset"] + view["byteLength"] <= doc["buffers"][view["buffer"]]["byteLength"] <= len(binary)
    a = np.frombuffer(binary, DTYPES[acc["componentType"]], acc["count"] * width, start)
    return a.reshape(acc["count"], width) if width > 1 else a


def test_glb_is_a_consistent_skinned_character(written):
    doc, binary = read_glb(written / "character_000.glb")
    assert doc["asset"]["version"] == "2.0" and len(doc["buffers"]) == 1
    prim = doc["meshes"][0]["primitives"][0]
    att = {k: _accessor(doc, binary, i) for k, i in prim["attributes"].items()}
    pos, normal, joints, weights = att["POSITION"], att["NORMAL"], att["JOINTS_0"], att["WEIGHTS_0"]
    n = len(pos)
    assert all(len(a) == n for a in att.values())
    acc = doc["accessors"][prim["attributes"]["POSITION"]]
    assert np.allclose(acc["min"], pos.min(0)) and np.allclose(acc["max"], pos.max(0))
    idx = _accessor(doc, binary, prim["indices"])
    assert len(idx) % 3 == 0 and idx.max() < n
    assert np.abs(np.linalg.norm(normal, axis=1) - 1).max() < 1e-3
    assert np.abs(weights.sum(1) - 1).max() < 1e-5 and weights.min() >= 0
    skin = doc["skins"][0]
    assert joints.max() < len(skin["joints"]) == len(JOINTS)
    ibm = _accessor(doc, binary, skin["inverseBindMatrices"])
    assert len(ibm) == len(skin["joints"])
    # The hierarchy is ours, and each inverse bind matrix undoes its joint's rest (world) transform.
    nodes = doc["nodes"]
    names = [nodes[j]["name"] for j in skin["joints"]]
    assert names == list(JOINTS)
    world = {}
    for j, node in enumerate(skin["joints"]):
        p = PARENTS[j]
        world[j] = np.array(nodes[node]["translation"]) + (world[p] if p >= 0 else 0.0)
        assert [nodes[c]["name"] for c in nodes[node].get("children", [])] == \
            [JOINTS[k] for k, q in enumerate(PARENTS) if q == j]
        m = ibm[j].reshape(4, 4).T  # column-major
        assert np.allclose(m[:3, :3], np.eye(3)) and np.allclose(m[:3, 3], -world[j], atol=1e-5)
    # glTF space: Y up with the feet on y = 0, the face towards +Z.
    extras = nodes[doc["scenes"][0]["nodes"][1]]["extras"]
    assert abs(100 * np.ptp(pos[:, 1]) - 165) < 1.0 and abs(pos[:, 1].min()) < 1e-4
    assert extras["measurements"]["stature"] == 165.0 and extras["sex"] == "female"
    head = world[JOINTS.index("Head")]
    assert pos[np.linalg.norm(pos - head, axis=1) < 0.15][:, 2].max() > head[2] + 0.05  # nose forward
    # Normals point outward: out of the body's centre line on the torso.
    centre = (pos[:, 1] > 0.9) & (pos[:, 1] < 1.2) & (np.abs(pos[:, 0]) < 0.15)
    radial = pos[centre] - [0.0, 0.0, pos[centre][:, 2].mean()]
    radial[:, 1] = 0  # horizontal, from the torso's axis
    assert (np.einsum("ij,ij->i", radial, normal[centre]) > 0).mean() > 0.9


def test_obj_is_y_up_like_every_importer_expects(written):
    lines = (written / "character_000.obj").read_text().splitlines()
    v = np.array([[float(x) for x in s.split()[1:]] for s in lines if s.startswith("v ")])
    assert "Y up" in lines[0]
    assert abs(100 * np.ptp(v[:, 1]) - 165) < 1.0 and abs(v[:, 1].min()) < 1e-4
    doc = json.loads((written / "character_000.json").read_text())
    assert "Z up" in doc["units"] and ".obj" in doc["units"]


def test_glb_is_not_replaced_without_overwrite(written, tmp_path, capsys):
    mine = tmp_path / "character_000.glb"  # only a .glb is in the way
    mine.write_bytes(b"mine")
    assert main(["character", "--sex", "female", "--seed", "0", "--out", str(tmp_path)]) == 2
    assert "character_000.glb" in capsys.readouterr().err and mine.read_bytes() == b"mine"


def test_damaged_glb_is_a_plain_error(tmp_path):
    bad = tmp_path / "x.glb"
    bad.write_bytes(b"not a gltf file at all")
    with pytest.raises(GltfError, match="not a glTF 2.0 binary"):
        read_glb(bad)


def test_motion_is_stored_as_the_glb_animation(tmp_path):
    assert main(["character", "--count", "2", "--seed", "0", "--motion", "walk", "--seconds", "2",
                 "--out", str(tmp_path)]) == 0
    for name in ("character_000", "character_001"):  # one clip per character
        doc, binary = read_glb(tmp_path / f"{name}.glb")
        (anim,) = doc["animations"]
        joints = set(doc["skins"][0]["joints"])
        assert {c["target"]["node"] for c in anim["channels"]} == joints
        for ch in anim["channels"]:
            sampler = anim["samplers"][ch["sampler"]]
            times = _accessor(doc, binary, sampler["input"])
            values = _accessor(doc, binary, sampler["output"])
            assert len(times) == len(values) == 60 and np.all(np.diff(times) > 0)
            assert doc["accessors"][sampler["input"]]["max"][0] == pytest.approx(times[-1])
            if ch["target"]["path"] == "rotation":
                assert np.abs(np.linalg.norm(values, axis=1) - 1).max() < 1e-5
    moving = [doc["nodes"][c["target"]["node"]]["name"] for c in anim["channels"]
              if c["target"]["path"] == "translation"]
    assert "Hips" in moving


def test_style_without_motion_is_a_plain_error(tmp_path, capsys):
    assert main(["character", "--style", "old", "--out", str(tmp_path)]) == 2
    assert "--style needs --motion" in capsys.readouterr().err
