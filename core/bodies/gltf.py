"""A character as a binary glTF 2.0 (.glb): skinned mesh + skeleton, with numpy, json and struct alone.

glTF conventions: metres, Y up, front +Z. The skeleton's joints are nodes with rest translations only (no
rotations), so each inverse bind matrix is a translation by minus the joint's rest position. Engines and
viewers (Blender, Unity, Unreal, three.js) read this without any axis settings.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GenAnimError
from .body import JOINTS, PARENTS, Mesh

if TYPE_CHECKING:
    from .animate import NodeAnimation

MAGIC, VERSION = 0x46546C67, 2  # b"glTF"
CHUNK_JSON, CHUNK_BIN = 0x4E4F534A, 0x004E4942
FLOAT, UBYTE, UINT = 5126, 5121, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


class GltfError(GenAnimError):
    """A .glb file that is not what GenAnim writes."""


def to_y_up(points: np.ndarray) -> np.ndarray:
    """Blender's Z-up (X, Y, Z) -> glTF/OBJ Y-up, front +Z: (X, Z, -Y); a rotation, so windings are kept."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], -1)


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted normals (outward for counter-clockwise faces)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    fn = np.cross(b - a, c - a)
    n = np.zeros_like(verts)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return n / np.where(length > 0, length, 1.0)


class _Buffer:
    """The BIN chunk being built: every view starts on a 4-byte boundary, as accessors require."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def add(self, array: np.ndarray, ctype: int, kind: str, target: int | None = None, bounds: bool = False) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        self.data.extend(b"\0" * (-len(self.data) % 4))
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        self.data.extend(raw)
        self.views.append(view)
        acc: dict[str, Any] = {"bufferView": len(self.views) - 1, "componentType": ctype, "count": len(array),
                               "type": kind}
        if bounds:  # required on POSITION
            acc["min"] = array.reshape(len(array), -1).min(0).astype(float).tolist()
            acc["max"] = array.reshape(len(array), -1).max(0).astype(float).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1


def character_gltf(mesh: Mesh, name: str, extras: dict[str, Any],
                   animations: Sequence[NodeAnimation] = ()) -> tuple[dict[str, Any], bytes]:
    """(glTF JSON, binary buffer) of a skinned character; extras go on the mesh node (custom properties);
    each animation keys every joint node's rotation and the moving joints' translations (linear)."""
    buf = _Buffer()
    verts = to_y_up(mesh.vertices).astype(np.float32)
    heads = to_y_up(mesh.joints)
    w = mesh.skin_weight.astype(np.float32)
    w /= w.sum(1, keepdims=True)  # normalised again in float32, as validators check
    attributes = {
        "POSITION": buf.add(verts, FLOAT, "VEC3", ARRAY_BUFFER, bounds=True),
        "NORMAL": buf.add(vertex_normals(verts.astype(np.float64), mesh.faces).astype(np.float32), FLOAT, "VEC3",
                          ARRAY_BUFFER),
        "JOINTS_0": buf.add(mesh.skin_index.astype(np.uint8), UBYTE, "VEC4", ARRAY_BUFFER),
        "WEIGHTS_0": buf.add(w, FLOAT, "VEC4", ARRAY_BUFFER),
    }
    indices = buf.add(mesh.faces.astype(np.uint32).ravel(), UINT, "SCALAR", ELEMENT_ARRAY_BUFFER)
    ibm = np.tile(np.eye(4), (len(JOINTS), 1, 1))
    ibm[:, :3, 3] = -heads
    inverse_bind = buf.add(ibm.transpose(0, 2, 1).astype(np.float32), FLOAT, "MAT4")  # column-major

    first = 1  # node 0 is the mesh; the joints follow in JOINTS order
    par = np.array(PARENTS)
    local = heads - np.where(par[:, None] >= 0, heads[np.maximum(par, 0)], 0.0)
    nodes: list[dict[str, Any]] = [{"name": name, "mesh": 0, "skin": 0, "extras": extras}]
    for j, joint in enumerate(JOINTS):
        node: dict[str, Any] = {"name": joint, "translation": local[j].tolist()}
        children = [first + k for k, p in enumerate(PARENTS) if p == j]
        if children:
            node["children"] = children
        nodes.append(node)
    anims = []
    for anim in animations:
        times = buf.add(anim.times.astype(np.float32), FLOAT, "SCALAR", bounds=True)  # min/max required on input
        samplers: list[dict[str, Any]] = []
        channels: list[dict[str, Any]] = []
        for j in range(len(JOINTS)):
            keys = [("rotation", anim.rotations[:, j])]
            if np.ptp(anim.translations[:, j], axis=0).max() > 1e-6:
                keys.append(("translation", anim.translations[:, j]))
            for path, values in keys:
                out = buf.add(values.astype(np.float32), FLOAT, "VEC4" if path == "rotation" else "VEC3")
                channels.append({"sampler": len(samplers), "target": {"node": first + j, "path": path}})
                samplers.append({"input": times, "output": out, "interpolation": "LINEAR"})
        anims.append({"name": anim.name, "samplers": samplers, "channels": channels})
    doc = {
        "asset": {"version": "2.0", "generator": "GenAnim"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [first, 0]}],
        "nodes": nodes,
        "meshes": [{"name": name, "primitives": [{"attributes": attributes, "indices": indices, "mode": 4}]}],
        "skins": [{"name": f"{name}_skeleton", "joints": list(range(first, first + len(JOINTS))),
                   "skeleton": first, "inverseBindMatrices": inverse_bind}],
        "accessors": buf.accessors,
        "bufferViews": buf.views,
        "buffers": [{"byteLength": len(buf.data)}],
    }
    if anims:
        doc["animations"] = anims
    return doc, bytes(buf.data)


def pack_glb(doc: dict[str, Any], binary: bytes) -> bytes:
    """12-byte header, JSON chunk (padded with spaces), BIN chunk (padded with zeros)."""
    js = json.dumps(doc, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return (struct.pack("<III", MAGIC, VERSION, total) + struct.pack("<II", len(js), CHUNK_JSON) + js
            + struct.pack("<II", len(binary), CHUNK_BIN) + binary)


def write_glb(path: Path, mesh: Mesh, name: str, extras: dict[str, Any],
              animations: Sequence[NodeAnimation] = ()) -> None:
    path.write_bytes(pack_glb(*character_gltf(mesh, name, extras, animations)))


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """(JSON, BIN chunk) of a .glb; plain errors for anything that is not one."""
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise GltfError(f"{path}: too short to be a .glb file")
    magic, version, total = struct.unpack_from("<III", data)
    if magic != MAGIC or version != VERSION or total != len(data):
        raise GltfError(f"{path}: not a glTF 2.0 binary file (bad header)")
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != CHUNK_JSON or 20 + length > total:
        raise GltfError(f"{path}: the first chunk is not glTF JSON")
    doc = json.loads(data[20: 20 + length])
    binary = b""
    if 20 + length + 8 <= total:
        blen, bkind = struct.unpack_from("<II", data, 20 + length)
        if bkind != CHUNK_BIN or 28 + length + blen > total:
            raise GltfError(f"{path}: damaged binary chunk")
        binary = data[28 + length: 28 + length + blen]
    return doc, binary
