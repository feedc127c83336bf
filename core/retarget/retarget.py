"""Retargeting a clip onto a rig with another skeleton, by world-space rotation deltas.

Pure numpy. The rig is described by its bones' armature-space rest matrices
(Blender: `bone.matrix_local`) and parents; the result is a pose-bone basis
(location, quaternion) per frame for each mapped bone, as Blender keys them.

Method. Each source joint j has a reference pose: a standing pose whose
armature-space global rotation is S_ref_j (for GenAnim's skeleton a captured
standing frame, see `reference`; for other skeletons their rest pose). At
frame t the source bone turned by the world-space delta D_j(t) = S_j(t) S_ref_j^T.
The rig bone b mapped to j is first turned from its rest into the source's
reference pose by B_b (which absorbs T-pose versus A-pose, bone rolls and the
rig's facing), then by the delta:
    W_b(t) = D_j(t) B_b Rest_b.
B_b is built root to leaves: the parent's B is applied, then the smallest
rotation (one child) or the best rotation (several children, Kabsch) takes
the rig's rest directions to its mapped children onto the source's reference
directions; feet instead take B = identity (a foot standing in the reference
is the rig's foot flat on the floor at rest). Unmapped rig bones keep their
rest pose relative to their parent. The mapped root (the hips) travels like
the source's, scaled by the ratio of leg lengths, at a height that puts the
rig's feet where they are at rest when it takes the reference pose; every
other bone stays where its parent puts it. Then, unless told not to, the
feet are planted where the source's stand: on the floor, not sliding (`feet`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import RigError
from ..motion.clip import Clip
from ..motion.ik import swing
from ..motion.kinematics import forward_kinematics
from ..motion.rotations import matrix_to_quat
from . import feet as _feet
from .armature_space import Y_UP_TO_Z_UP, _rigid_inverse

_FLAT_FEET = ("Foot_L", "Foot_R")
_LEGS = (("UpperLeg_L", "LowerLeg_L", "Foot_L"), ("UpperLeg_R", "LowerLeg_R", "Foot_R"))


@dataclass
class RigPose:
    """Retargeted animation for a rig: pose-bone bases of the mapped bones."""

    bones: list[str]  # rig bone names, parents before children
    locations: np.ndarray  # (F, B, 3) basis locations, rig units
    quaternions: np.ndarray  # (F, B, 4) basis rotations (w, x, y, z), sign-continuous over time
    moving: np.ndarray  # (B,) bool: bones whose location is animated (the mapped root)


def _topological(parents: Sequence[int]) -> list[int]:
    order: list[int] = []
    done = [False] * len(parents)

    def visit(b: int) -> None:
        if done[b]:
            return
        if parents[b] >= 0:
            visit(parents[b])
        done[b] = True
        order.append(b)

    for b in range(len(parents)):
        visit(b)
    return order


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation R minimising sum |R a_i - b_i|^2 for (N, 3) vectors a, b."""
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else None


def leg_length(positions: Mapping[str, np.ndarray]) -> float:
    """Mean hip-knee-ankle length of the legs found in `positions` {joint: (3,) position}."""
    lengths = [
        np.linalg.norm(positions[k] - positions[h]) + np.linalg.norm(positions[a] - positions[k])
        for h, k, a in _LEGS
        if h in positions and k in positions and a in positions
    ]
    if not lengths or min(lengths) <= 0:
        raise RigError("cannot measure leg length: map UpperLeg, LowerLeg and Foot on both sides")
    return float(np.mean(lengths))


def retarget(
    clip: Clip,
    reference: tuple[np.ndarray, np.ndarray],
    bone_map: Mapping[str, str],
    bone_names: Sequence[str],
    bone_parents: Sequence[int],
    rest_matrices: np.ndarray,
    axes: np.ndarray = Y_UP_TO_Z_UP,
    source_map: Mapping[str, str] | None = None,
    plant_feet: bool = True,
) -> RigPose:
    """Retarget `clip` onto a rig; see the module docstring for the method.

    clip:          source motion (its units and axes; `axes` converts its axes to the rig's)
    reference:     ((J, 3, 3) local rotations, (J, 3) local translations) of the source skeleton's
                   standing reference pose, feet on the floor (height 0), see `reference.reference_pose`
    bone_map:      {GenAnim joint name: rig bone name}, checked by `bone_map.check_bone_map`
    source_map:    {GenAnim joint name: clip joint name} for clips of other skeletons (default: the
                   clip's joints are GenAnim's)
    bone_names:    (B,) rig bone names; bone_parents (B,) parent index or -1
    rest_matrices: (B, 4, 4) armature-space rest matrix of each rig bone
    plant_feet:    keep the feet that stand in the clip on the rig's floor and from sliding (see `feet`)
    """
    skel = clip.skeleton
    c = np.asarray(axes, dtype=np.float64)
    rest = np.asarray(rest_matrices, dtype=np.float64)
    parents = [int(p) for p in bone_parents]
    num_b = len(bone_names)
    if rest.shape != (num_b, 4, 4) or len(parents) != num_b:
        raise RigError(f"expected {num_b} bone rest matrices and parents, got {rest.shape} and {len(parents)}")
    index = {n: i for i, n in enumerate(bone_names)}
    source = {j: (source_map or {}).get(j, j) for j in bone_map}
    missing = [s for s in source.values() if s not in skel.names]
    if missing:
        raise RigError(f"the clip's skeleton has no joints named {', '.join(missing)}")
    src_of = {index[b]: skel.names.index(source[j]) for j, b in bone_map.items()}  # rig bone -> source joint

    # Source: armature-space global rotations over time and in the reference pose.
    g_rot, g_pos = clip.global_transforms()  # (F, J, 3, 3), (F, J, 3)
    s_rot = c @ g_rot @ c.T
    s_pos = g_pos @ c.T
    ref_rot, ref_pos = forward_kinematics(skel.parents, *(np.asarray(r, dtype=np.float64) for r in reference))
    ref_rot = c @ ref_rot @ c.T
    ref_pos = ref_pos @ c.T

    order = _topological(parents)

    def mapped_parent(b: int) -> int:
        p = parents[b]
        while p >= 0 and p not in src_of:
            p = parents[p]
        return p

    # B_b: rig rest -> source reference pose, root to leaves.
    parent_of = {b: mapped_parent(b) for b in src_of}
    align: dict[int, np.ndarray] = {}
    # A foot standing in the source's reference corresponds to the rig's foot at rest, flat on the floor:
    # ankle and toe joints sit at different heights on different rigs, so matching the foot's direction
    # instead would tip the toes into the floor or lift the heel.
    flat_feet = {skel.names.index(source[j]) for j in _FLAT_FEET if j in source}
    heads = rest[:, :3, 3]
    for b in (b for b in order if b in src_of):
        base = align[parent_of[b]] if parent_of[b] >= 0 else np.eye(3)
        pairs = []
        for child in (k for k in src_of if parent_of[k] == b):
            rig_dir = _unit(heads[child] - heads[b])
            src_dir = _unit(ref_pos[src_of[child]] - ref_pos[src_of[b]])
            if rig_dir is not None and src_dir is not None:
                pairs.append((base @ rig_dir, src_dir))
        if src_of[b] in flat_feet:
            turn = base.T
        elif pairs:  # one direction (or several in a line) fixes no roll: the least turn onto the first
            a, t = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
            turn = _kabsch(a, t) if np.linalg.matrix_rank(a, tol=1e-6) >= 2 else swing(a[:1], t[:1])[0]
        else:
            turn = np.eye(3)
        align[b] = turn @ base

    # Root motion: the source's, scaled by leg length; heights measured from the floor (height 0) up.
    up = c[:, 1]  # the source's up axis (Y) in rig axes
    src_ref = {j: ref_pos[skel.names.index(s)] for j, s in source.items()}
    scale = leg_length({j: heads[index[b]] for j, b in bone_map.items()}) / leg_length(src_ref)

    def rig_fk(rot: np.ndarray, root_pos: np.ndarray) -> np.ndarray:
        """(F, B, 4, 4) armature-space bone matrices for source rotations (F, J, 3, 3) and root positions (F, 3)."""
        full = np.zeros((len(rot), num_b, 4, 4))
        full[..., 3, 3] = 1.0
        for b in order:
            p = parents[b]
            if b in src_of:
                j = src_of[b]
                full[:, b, :3, :3] = rot[:, j] @ ref_rot[j].T @ align[b] @ rest[b, :3, :3]
            elif p >= 0:
                full[:, b, :3, :3] = full[:, p, :3, :3] @ rest[p, :3, :3].T @ rest[b, :3, :3]
            else:
                full[:, b, :3, :3] = rest[b, :3, :3]
            if b == root:
                full[:, b, :3, 3] = root_pos
            elif p >= 0:
                full[:, b, :3, 3] = full[:, p, :3, 3] + full[:, p, :3, :3] @ (rest[p, :3, :3].T @ (heads[b] - heads[p]))
            else:
                full[:, b, :3, 3] = heads[b]
        return full

    # Posed like the source's reference, the rig's feet would float or sink where its legs bend differently
    # from its rest: lift the root so they stand where they stand at rest.
    roots = [b for b in src_of if parent_of[b] < 0]
    if len(roots) != 1:
        raise RigError("the bone map must have one root (the hips), with every other mapped bone below it")
    root = roots[0]
    feet = [index[bone_map[j]] for j in ("Foot_L", "Foot_R", "Toes_L", "Toes_R") if j in bone_map]
    at_ref = rig_fk(ref_rot[None], heads[root][None])[0]
    lift = min(heads[feet] @ up) - min(at_ref[feet, :3, 3] @ up)
    # Horizontal travel scaled; height above the floor changes by the scaled change of the source's.
    j = src_of[root]
    root_pos = heads[root] + (lift - scale * np.dot(ref_pos[j], up)) * up + scale * s_pos[:, j]
    floor = min(0.0, float(min(heads[feet] @ up)))  # height 0, or lower where a rig's origin is above its feet
    legs = _legs(bone_map, index, src_of, heads, up, floor, s_pos, leg_length(src_ref), scale, clip.fps) \
        if plant_feet else []
    if legs:
        s_rot, root_pos = _feet.plant(rig_fk, s_rot, root_pos, rest, legs, up, floor, clip.fps)
    full = rig_fk(s_rot, root_pos)
    num_f = clip.num_frames
    moving = np.zeros(num_b, dtype=bool)
    moving[root] = True

    # Blender's basis: (Rest_p^-1 Rest_b)^-1 Mfull_p^-1 Mfull_b (roots: Rest_b^-1 Mfull_b).
    inv_rest = _rigid_inverse(rest)
    keep = [b for b in order if b in src_of]
    basis = np.empty((num_f, len(keep), 4, 4))
    for k, b in enumerate(keep):
        p = parents[b]
        if p >= 0:
            basis[:, k] = inv_rest[b] @ rest[p] @ _rigid_inverse(full[:, p]) @ full[:, b]
        else:
            basis[:, k] = inv_rest[b] @ full[:, b]
    quats = matrix_to_quat(basis[..., :3, :3])
    dots = np.sum(quats[1:] * quats[:-1], axis=-1)
    quats[1:] *= np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)[..., None]
    return RigPose([bone_names[b] for b in keep], basis[..., :3, 3], quats, moving[keep])


def _legs(bone_map: Mapping[str, str], index: Mapping[str, int], src_of: Mapping[int, int], heads: np.ndarray,
          up: np.ndarray, floor: float, src_pos: np.ndarray, src_leg: float, scale: float,
          fps: float) -> list[_feet.Leg]:
    """The rig's legs with their contacts found on the source positions (F, J, 3) (rig axes, source
    units, leg length `src_leg`); a leg without a mapped thigh, shin and foot is left alone.
    The sole: the rest ankle and toe joints dropped onto the floor, carried by the foot (the heel
    is under the ankle, the ball under the toe joint)."""
    a = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    across = np.stack([a / np.linalg.norm(a), np.cross(up, a / np.linalg.norm(a))], axis=1)  # (3, 2) floor axes
    legs = []
    for (thigh, shin, foot), side in zip(_LEGS, "LR", strict=True):
        if not all(j in bone_map for j in (thigh, shin, foot)):
            continue
        names = [j for j in (foot, f"Toes_{side}") if j in bone_map]
        bones = tuple(index[bone_map[j]] for j in (thigh, shin, foot))
        stand = [src_of[index[bone_map[j]]] for j in names]  # the source's ankle (and toes)
        contact = _feet.foot_contacts(src_pos[:, stand] @ up, src_pos[:, stand] @ across, fps, src_leg)
        joints = heads[[index[bone_map[j]] for j in names]]
        sole = joints - np.outer(joints @ up - floor, up)
        legs.append(_feet.Leg(bones, (src_of[bones[0]], src_of[bones[1]]), sole, contact, scale * src_pos[:, stand[0]]))
    return legs
