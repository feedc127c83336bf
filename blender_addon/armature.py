# SPDX-License-Identifier: GPL-3.0-or-later
"""Core skeletons and clips as Blender armatures and actions.

The maths (axis conversion, bone layout, pose-bone bases) is in
`core.retarget.armature_space`; this module only moves numbers in and out of
Blender, in bulk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import bpy
import numpy as np

from . import compat
from .core.errors import RigError
from .core.motion.clip import Clip
from .core.motion.kinematics import forward_kinematics
from .core.motion.skeleton import Skeleton
from .core.retarget.armature_space import (
    CM_TO_M,
    ROTATION_DEFAULT,
    ROTATION_PROPERTY,
    Y_UP_TO_Z_UP,
    animated_joints,
    bone_layout,
    bone_shape_mesh,
    clip_to_pose_basis,
    pose_basis_to_clip,
    quat_to_rotation,
    rotation_to_quat,
)
from .core.retarget.retarget import RigPose

# Stored on the armature data so later writes use the conversion it was built with.
_PROP_SCALE = "genanim_scale"
_PROP_AXES = "genanim_axes"
_PROP_REST = "genanim_rest_rotations"  # data-space global rotations of the pose the bones were laid out in

_LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value


@contextmanager
def _edit_mode(obj: bpy.types.Object) -> Iterator[None]:
    """Edit `obj` in edit mode, then restore the user's active object, selection and mode."""
    view_layer = bpy.context.view_layer
    prev_active = view_layer.objects.active
    prev_mode = prev_active.mode if prev_active is not None else 'OBJECT'
    if prev_mode != 'OBJECT':
        bpy.ops.object.mode_set(mode='OBJECT')
    prev_selected = [o for o in view_layer.objects if o.select_get()]
    for o in prev_selected:
        o.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj
    try:
        bpy.ops.object.mode_set(mode='EDIT')
        yield
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')
        obj.select_set(False)
        for o in prev_selected:
            o.select_set(True)
        view_layer.objects.active = prev_active
        if prev_mode != 'OBJECT':
            bpy.ops.object.mode_set(mode=prev_mode)


def build_armature(
    skeleton: Skeleton,
    name: str,
    scale: float = CM_TO_M,
    collection: bpy.types.Collection | None = None,
    *,
    axes: np.ndarray = Y_UP_TO_Z_UP,
    pose: tuple[np.ndarray, np.ndarray] | None = None,
) -> bpy.types.Object:
    """A new armature object with one bone per joint, named after the joints.

    `pose` ((J, 3, 3) local rotations, (J, 3) translations; default: the
    skeleton's rest pose, all rotations zero) becomes the rest pose,
    converted to Blender's Z-up axes by `axes` and to metres by `scale`.
    Bones are parented like the joints and never connected, so every bone can
    take location keys. The object is linked to `collection` (default: the
    active collection); the user's mode, active object and selection are kept.
    """
    if skeleton.num_joints == 0:
        raise RigError("the skeleton has no joints")
    heads, tails = bone_layout(skeleton, axes, scale, pose)

    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    # Edit mode needs the object in the view layer; the scene collection always is.
    scene_collection = bpy.context.scene.collection
    scene_collection.objects.link(obj)
    try:
        with _edit_mode(obj):
            bones = []
            for joint, head, tail in zip(skeleton.names, heads, tails, strict=True):
                eb = arm.edit_bones.new(joint)
                if eb.name != joint:  # Blender truncates names to 63 bytes and renames clashes
                    raise RigError(f"joint name {joint!r} cannot be a Blender bone name (too long or duplicate)")
                eb.head = head
                eb.tail = tail
                eb.roll = 0.0
                bones.append(eb)
            for eb, parent in zip(bones, skeleton.parents, strict=True):
                if parent >= 0:
                    eb.parent = bones[parent]
                    eb.use_connect = False
    except Exception:
        bpy.data.objects.remove(obj)
        bpy.data.armatures.remove(arm)
        raise

    target = collection if collection is not None else bpy.context.collection
    if target is not None and target != scene_collection:
        target.objects.link(obj)
        scene_collection.objects.unlink(obj)
    arm[_PROP_SCALE] = float(scale)
    arm[_PROP_AXES] = [float(v) for v in np.asarray(axes, dtype=np.float64).ravel()]
    if pose is not None:
        g_rot = forward_kinematics(skeleton.parents, np.asarray(pose[0], dtype=np.float64), skeleton.offsets)[0]
        arm[_PROP_REST] = {n: [float(v) for v in r.ravel()] for n, r in zip(skeleton.names, g_rot, strict=True)}
    for pb in obj.pose.bones:
        pb.rotation_mode = 'QUATERNION'
    return obj


def armature_conversion(arm: bpy.types.Armature, names: Sequence[str]) -> tuple[np.ndarray, float, np.ndarray | None]:
    """(axes, scale, (J, 3, 3) rest rotations of joints `names` or None) the armature was built with."""
    axes = np.array(arm[_PROP_AXES]).reshape(3, 3) if _PROP_AXES in arm else Y_UP_TO_Z_UP
    rest = None
    if _PROP_REST in arm:
        stored = arm[_PROP_REST]
        rest = np.array([stored[n] for n in names]).reshape(-1, 3, 3)
    return axes, float(arm.get(_PROP_SCALE, CM_TO_M)), rest


def built_by_genanim(obj: bpy.types.Object) -> bool:
    """True if armature object `obj` was built by `build_armature` (for any skeleton)."""
    return _PROP_SCALE in obj.data


def is_genanim_armature(obj: bpy.types.Object | None, skeleton: Skeleton) -> bool:
    """True if `obj` is an armature built by `build_armature` for a skeleton shaped like `skeleton`."""
    if obj is None or obj.type != 'ARMATURE' or not built_by_genanim(obj):
        return False
    try:
        _check_rig(obj, skeleton)
    except RigError:
        return False
    return _PROP_REST not in obj.data or all(n in obj.data[_PROP_REST] for n in skeleton.names)


def _check_rig(obj: bpy.types.Object, skeleton: Skeleton) -> None:
    if obj is None or obj.type != 'ARMATURE':
        raise RigError(f"{getattr(obj, 'name', obj)!r} is not an armature")
    bones = obj.data.bones
    missing = [n for n in skeleton.names if n not in bones]
    if missing:
        raise RigError(f"armature {obj.name!r} has no bones named {', '.join(missing)}")
    for name, parent in zip(skeleton.names, skeleton.parents, strict=True):
        want = skeleton.names[parent] if parent >= 0 else None
        have = bones[name].parent.name if bones[name].parent else None
        if have != want:
            raise RigError(f"bone {name!r} of {obj.name!r} has parent {have!r}, the clip's joint has {want!r}")


def write_clip_action(
    obj: bpy.types.Object,
    clip: Clip,
    action_name: str,
    *,
    frame_start: int = 1,
    assign: bool = True,
) -> bpy.types.Action:
    """Write `clip` as a new action on armature `obj` and return it.

    Clip frame f lands on scene frame `frame_start + f`. Every bone gets a rotation key per frame in its
    own rotation mode (the rig's modes are left as they are); bones whose translation differs from the
    rest pose (the root) also get location keys. Existing actions and keys are never
    changed: the action is new (Blender makes the name unique), and when it
    replaces the object's action, that action keeps a fake user so saving the
    file does not drop it. The armature must mirror the clip's skeleton, as
    `build_armature` makes it.
    """
    _check_rig(obj, clip.skeleton)
    pose = clip_pose(obj, clip)
    return write_pose_action(
        obj, pose.bones, pose.locations, pose.quaternions, pose.moving, action_name,
        frame_start=frame_start, assign=assign,
    )


def clip_pose(obj: bpy.types.Object, clip: Clip) -> RigPose:
    """`clip`'s pose-bone bases on armature `obj` built for its skeleton (`build_armature`), every joint a bone;
    the bones that need location keys flagged as moving (`animated_joints`)."""
    names = clip.skeleton.names
    rest = np.array([np.array(obj.data.bones[n].matrix_local) for n in names])
    locations, quats = clip_to_pose_basis(clip, rest, *armature_conversion(obj.data, names))
    return RigPose(list(names), locations, quats, animated_joints(locations))


def write_pose_action(
    obj: bpy.types.Object,
    bone_names: Sequence[str],
    locations: np.ndarray,
    quats: np.ndarray,
    with_location: np.ndarray,
    action_name: str,
    *,
    frame_start: int = 1,
    assign: bool = True,
) -> bpy.types.Action:
    """Key pose-bone bases ((F, B, 3) locations, (F, B, 4) quaternions) of `bone_names` into a new action.

    Frame f lands on scene frame `frame_start + f`, one linear key per frame,
    written in bulk (channelbag F-curves filled with `foreach_set`). Only bones
    flagged in `with_location` get location keys. Existing actions and keys are
    never changed: see `write_clip_action`.
    """
    num_f = len(quats)
    if num_f == 0:
        raise RigError("the motion has no frames")
    bones = obj.data.bones
    for name, moves in zip(bone_names, with_location, strict=True):
        if moves and bones[name].use_connect:
            raise RigError(f"bone {name!r} is connected to its parent, so it cannot take the clip's translation")

    action = bpy.data.actions.new(action_name)
    slot = compat.new_action_slot(action, obj)
    _key_bases(obj, compat.ensure_channelbag(action, slot), bone_names, locations, quats, with_location, frame_start)
    if assign:
        _assign(obj, action, slot)
    return action


def write_filled_action(
    obj: bpy.types.Object,
    source: bpy.types.Action,
    bone_names: Sequence[str],
    locations: np.ndarray,
    quats: np.ndarray,
    with_location: np.ndarray,
    action_name: str,
    *,
    frame_start: int,
) -> bpy.types.Action:
    """A copy of `source` (every other channel, the other bones' keys included, as the animator made them)
    whose rotation curves of `bone_names`, and location curves of those in `with_location`, are replaced by
    one key per frame of the bases, frame f on scene frame `frame_start + f`; assigned to `obj`, `source`
    kept (see `write_clip_action`)."""
    slot_id = obj.animation_data.action_slot.identifier if obj.animation_data.action_slot else None
    action = source.copy()
    action.name = action_name
    slot = next((s for s in action.slots if s.identifier == slot_id), None) or compat.new_action_slot(action, obj)
    channelbag = compat.ensure_channelbag(action, slot)
    replaced = set()
    for name, moves in zip(bone_names, with_location, strict=True):
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"]'
        replaced.add(f"{path}.{ROTATION_PROPERTY[obj.pose.bones[name].rotation_mode][0]}")
        if moves:
            replaced.add(f"{path}.location")
    for fc in [fc for fc in channelbag.fcurves if fc.data_path in replaced]:
        channelbag.fcurves.remove(fc)
    _key_bases(obj, channelbag, bone_names, locations, quats, with_location, frame_start)
    _assign(obj, action, slot)
    return action


def _key_bases(obj: bpy.types.Object, channelbag: bpy.types.ActionChannelbag, bone_names: Sequence[str],
               locations: np.ndarray, quats: np.ndarray, with_location: np.ndarray, frame_start: int) -> None:
    """One linear key per frame of the bases in new F-curves of `channelbag`, in each bone's own rotation mode."""
    num_f = len(quats)
    co = np.empty((num_f, 2), dtype=np.float32)
    co[:, 0] = frame_start + np.arange(num_f)
    interpolation = np.full(num_f, _LINEAR, dtype=np.int32)  # sampled data: no Bezier overshoot

    def add_curve(data_path: str, index: int, group: str, values: np.ndarray) -> None:
        fc = compat.new_fcurve(channelbag, data_path, index, group)
        fc.keyframe_points.add(num_f)
        co[:, 1] = values
        fc.keyframe_points.foreach_set("co", co.ravel())
        fc.keyframe_points.foreach_set("interpolation", interpolation)
        fc.update()

    for j, name in enumerate(bone_names):
        mode = obj.pose.bones[name].rotation_mode  # written in, never changed: the user's actions rely on it
        prop, _ = ROTATION_PROPERTY[mode]
        values = quat_to_rotation(quats[:, j], mode)
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"]'
        if with_location[j]:
            for i in range(3):
                add_curve(path + ".location", i, name, locations[:, j, i])
        for i in range(values.shape[1]):
            add_curve(f"{path}.{prop}", i, name, values[:, i])


def _assign(obj: bpy.types.Object, action: bpy.types.Action, slot: bpy.types.ActionSlot) -> None:
    """Make `action` the object's active action; the one it replaces keeps a fake user, so it stays in the file."""
    adt = obj.animation_data
    previous = adt.action if adt is not None else None
    if previous is not None and previous.users <= 1 and not previous.use_fake_user:
        previous.use_fake_user = True
    compat.assign_action(obj, action, slot)


def stack_on_nla(obj: bpy.types.Object, action: bpy.types.Action, frame_start: int = 1) -> bpy.types.NlaTrack:
    """Put `action` on a new NLA track of `obj` (above the others), leaving its active action alone."""
    adt = obj.animation_data or obj.animation_data_create()
    track = adt.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, frame_start, action)
    compat.set_strip_slot(strip, action.slots[0])
    return track


def read_pose_bases(obj: bpy.types.Object, action: bpy.types.Action, bones: Sequence[str],
                    frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((F, B, 3) locations, (F, B, 4) quaternions) that `action` gives `bones` of armature `obj` at `frames`.

    The F-curves are evaluated, so blocking keys, edited keys and any interpolation are honoured (frames
    outside the keys hold the curves' extrapolation); each bone's rotation is read from the property of its
    own rotation mode (quaternion, an Euler order, axis-angle), as Blender poses it; channels without a curve
    keep their rest value. RigError if the action keys none of them.
    """
    frames = np.asarray(frames, dtype=np.float64)
    num_f = len(frames)
    locations = np.zeros((num_f, len(bones), 3))
    modes = [obj.pose.bones[n].rotation_mode for n in bones]
    rotations = [np.tile(ROTATION_DEFAULT[m], (num_f, 1)) for m in modes]  # per bone (F, k)
    index = {n: j for j, n in enumerate(bones)}
    read = 0
    for slot in action.slots:
        channelbag = compat.get_channelbag(action, slot)
        if channelbag is None:
            continue
        for fc in channelbag.fcurves:
            bone, _, prop = fc.data_path.partition('"].')
            j = index.get(bone.removeprefix('pose.bones["'))
            if j is None or prop not in ("location", ROTATION_PROPERTY[modes[j]][0]):
                continue
            values = np.array([fc.evaluate(f) for f in frames])
            read += 1
            if prop == "location":
                locations[:, j, fc.array_index] = values
            else:
                rotations[j][:, fc.array_index] = values
    if not read:  # a motionless clip would pass for a result
        raise RigError(f"the action {action.name!r} keys no location or rotation of {obj.name!r}'s bones in their "
                       "rotation modes: nothing to read")
    quats = np.stack([rotation_to_quat(r, m) for r, m in zip(rotations, modes, strict=True)], 1)  # (F, B, 4)
    return locations, quats


def action_frames(action: bpy.types.Action) -> np.ndarray:
    """Every whole frame of the action's range."""
    start, end = (round(v) for v in action.frame_range)
    return np.arange(start, end + 1)


def read_clip_action(obj: bpy.types.Object, skeleton: Skeleton, action: bpy.types.Action, fps: float,
                     frames: np.ndarray | None = None) -> Clip:
    """The motion `action` gives armature `obj` (built by `build_armature` for `skeleton`) as a clip, sampled
    at `frames` (default: every whole frame of the action's range), read as `read_pose_bases` reads it."""
    _check_rig(obj, skeleton)
    frames = action_frames(action) if frames is None else frames
    locations, quats = read_pose_bases(obj, action, skeleton.names, frames)
    rest = np.array([np.array(obj.data.bones[n].matrix_local) for n in skeleton.names])
    axes, scale, rest_rot = armature_conversion(obj.data, skeleton.names)
    return pose_basis_to_clip(skeleton, rest, locations, quats, fps, axes, scale, rest_rot, action.name)


def skeleton_of(obj: bpy.types.Object) -> Skeleton:
    """The skeleton a GenAnim armature was built for, recovered from its bones (names, parents, offsets)."""
    order: list[bpy.types.Bone] = []
    pending = [b for b in obj.data.bones if b.parent is None]
    while pending:  # parents before children
        b = pending.pop(0)
        order.append(b)
        pending.extend(b.children)
    names = tuple(b.name for b in order)
    axes, scale, rest_rot = armature_conversion(obj.data, names)
    parents = np.array([names.index(b.parent.name) if b.parent else -1 for b in order])
    heads = np.array([np.array(b.head_local) for b in order]) @ axes / scale  # data space
    g_rot = np.broadcast_to(np.eye(3), (len(order), 3, 3)) if rest_rot is None else rest_rot
    offsets = np.array([
        heads[j] if p < 0 else g_rot[p].T @ (heads[j] - heads[p]) for j, p in enumerate(parents)
    ])
    return Skeleton(names, parents, offsets)


def fit_scene_to_clip(scene: bpy.types.Scene, clip: Clip, frame_start: int = 1, *, frame_range: bool = True,
                      rate: bool = False) -> None:
    """Set the scene's frame range (`frame_range`) and frame rate (`rate`) to play `clip` written at
    `frame_start`. A rate within 0.1% of a whole number is that number exactly (BVH frame times are
    rounded: 0.033333 s is 30.00003 fps)."""
    if rate:
        fps = max(1, round(clip.fps))
        scene.render.fps = fps
        scene.render.fps_base = 1.0 if abs(clip.fps - fps) < 1e-3 * fps else fps / clip.fps
    if frame_range:
        scene.frame_start = frame_start
        scene.frame_end = frame_start + clip.num_frames - 1


def build_bone_body(
    obj: bpy.types.Object,
    name: str | None = None,
    width: float = 0.12,
    collection: bpy.types.Collection | None = None,
    bones: Sequence[str] | None = None,
) -> bpy.types.Object:
    """A low-poly mesh body for armature `obj`: one octahedron per bone, rigidly skinned.

    `bones` limits the body to those bones (default: all). The mesh is parented
    to the armature and deformed by an Armature modifier through one vertex
    group per bone, so it follows any action.
    """
    if obj is None or obj.type != 'ARMATURE':
        raise RigError(f"{getattr(obj, 'name', obj)!r} is not an armature")
    if bones is None:
        bones = list(obj.data.bones)
    else:
        missing = [n for n in bones if n not in obj.data.bones]
        if missing:
            raise RigError(f"armature {obj.name!r} has no bones named {', '.join(missing)}")
        bones = [obj.data.bones[n] for n in bones]
    heads = np.array([b.head_local for b in bones])
    tails = np.array([b.tail_local for b in bones])
    verts, faces = bone_shape_mesh(heads, tails, width)

    mesh = bpy.data.meshes.new(name or f"{obj.name}_body")
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    mesh.validate()

    body = bpy.data.objects.new(mesh.name, mesh)
    if collection is None:
        collection = obj.users_collection[0] if obj.users_collection else bpy.context.collection
    collection.objects.link(body)
    body.parent = obj
    body.matrix_parent_inverse.identity()
    per_bone = len(verts) // max(len(bones), 1)
    for b, bone in enumerate(bones):
        body.vertex_groups.new(name=bone.name).add(range(b * per_bone, (b + 1) * per_bone), 1.0, 'REPLACE')
    mod = body.modifiers.new("Armature", 'ARMATURE')
    mod.object = obj
    return body
