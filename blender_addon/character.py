# SPDX-License-Identifier: GPL-3.0-or-later
"""Generated characters (core.bodies) as Blender objects: a skinned mesh bound to an armature of our skeleton.

Pure bpy glue: the mesh is written in bulk (`foreach_set`), one vertex group per
joint carries the skin weights, and an Armature modifier binds it to an armature
made by `armature.build_armature` from the character's own 22-joint skeleton.
Its rest pose is the body's A-pose, not the zero pose of GenAnim clips, so clips
reach it by retargeting (`rig.apply_clip` takes that path for it, see
`build_character`), which also scales the root's travel to the character's legs
and keeps its standing feet on the floor (`core.retarget.feet`).
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from .armature import build_armature
from .core.bodies.body import JOINTS
from .core.bodies.character import REST_POSE, Character

_PROP_MEASUREMENTS = "genanim_measurements"


def build_character_mesh(
    character: Character,
    armature: bpy.types.Object,
    name: str,
    collection: bpy.types.Collection | None = None,
) -> bpy.types.Object:
    """A mesh object of `character`, parented to `armature` and deformed by it through vertex groups."""
    m = character.mesh
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(m.vertices))
    mesh.vertices.foreach_set("co", m.vertices.astype(np.float32).ravel())
    mesh.loops.add(m.faces.size)
    mesh.loops.foreach_set("vertex_index", m.faces.astype(np.int32).ravel())
    mesh.polygons.add(len(m.faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, m.faces.size, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    mesh.validate()
    mesh.shade_smooth()

    obj = bpy.data.objects.new(name, mesh)
    if collection is None:
        collection = armature.users_collection[0] if armature.users_collection else bpy.context.collection
    collection.objects.link(obj)
    obj.parent = armature
    obj.matrix_parent_inverse.identity()
    dense = m.dense_weights()  # (V, 22)
    for j, joint in enumerate(JOINTS):
        group = obj.vertex_groups.new(name=joint)
        nz = np.nonzero(dense[:, j] > 0)[0]
        # VertexGroup.add takes one weight per call: group the vertices by weight.
        weights, inverse = np.unique(dense[nz, j].astype(np.float32), return_inverse=True)
        for k, w in enumerate(weights):
            group.add(nz[inverse == k].tolist(), float(w), 'REPLACE')
    mod = obj.modifiers.new("Armature", 'ARMATURE')
    mod.object = armature
    mod.use_vertex_groups = True
    measurements = {k: round(v, 2) for k, v in character.measurements.items()}
    obj[_PROP_MEASUREMENTS] = json.dumps({"sex": character.sex, **measurements})
    return obj


def build_character(
    character: Character,
    name: str = "Character",
    collection: bpy.types.Collection | None = None,
) -> tuple[bpy.types.Object, bpy.types.Object]:
    """(armature, mesh) for `character`: the armature of its 22-joint skeleton, rest = its A-pose.

    Both are new objects (Blender renames on clashes, so nothing existing is replaced).
    """
    arm = build_armature(character.mesh.skeleton(), name, collection=collection)
    # Without build_armature's conversion marks, `is_genanim_armature` is False for this rig and
    # `rig.apply_clip` retargets clips onto it (writing them directly would assume the clips' zero pose).
    for key in ("genanim_scale", "genanim_axes"):
        del arm.data[key]
    arm.data["genanim_rest_pose"] = REST_POSE
    try:
        body = build_character_mesh(character, arm, f"{arm.name}_body", collection)
    except Exception:
        data = arm.data
        bpy.data.objects.remove(arm)
        bpy.data.armatures.remove(data)
        raise
    return arm, body
