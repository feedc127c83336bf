"""Core clips in an armature's space: axis conversion, bone layout and pose-bone bases.

Pure numpy, no bpy, so the maths is testable without Blender and reusable for
any rig whose bone rest matrices are known (Blender: `bone.matrix_local`).

Notation. C is the axis conversion (data axes -> armature axes), s the scale.
A joint's world transform in armature space is X_j = (C G_j C^T, s C p_j),
where G_j, p_j are its FK global rotation and position in data space. A bone's
rest matrix Rest_j = (A_j, h_j) is its armature-space frame in the pose the
armature was built in, whose data-space global rotations are R_j (identity for
the data's rest pose, all local rotations zero), so its posed matrix is
    Mfull_j = X_j X_rest_j^-1 Rest_j = (C G_j R_j^T C^T A_j, s C p_j)
and Blender's pose-bone basis, defined by Mfull_j = Mfull_p Rest_p^-1 Rest_j basis_j, is
    basis_j = (Rest_p^-1 Rest_j)^-1 Mfull_p^-1 Mfull_j     (roots: Rest_j^-1 Mfull_j).
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionDataError
from ..motion.clip import Clip
from ..motion.kinematics import forward_kinematics
from ..motion.rotations import euler_to_matrix, matrix_to_euler, matrix_to_quat, normalize, quat_mul, quat_to_matrix
from ..motion.skeleton import Skeleton

# (x, y, z) -> (x, -z, y): Y-up data (front +Z) to Blender's Z-up (front -Y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# Centimetres to metres.
CM_TO_M = 0.01
# A pose bone's rotation modes and the property (and its channel count) that keys each.
EULER_MODES = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
ROTATION_PROPERTY = {"QUATERNION": ("rotation_quaternion", 4), "AXIS_ANGLE": ("rotation_axis_angle", 4),
                     **{m: ("rotation_euler", 3) for m in EULER_MODES}}
ROTATION_DEFAULT = {"QUATERNION": (1.0, 0.0, 0.0, 0.0), "AXIS_ANGLE": (0.0, 0.0, 1.0, 0.0),
                    **{m: (0.0, 0.0, 0.0) for m in EULER_MODES}}


def rotation_to_quat(values: np.ndarray, mode: str) -> np.ndarray:
    """(F, k) values of a pose bone's rotation property in rotation mode `mode` -> (F, 4) unit quaternions
    (w, x, y, z). Blender's Euler mode "XZY" turns about X first, then Z, then Y (R = Ry Rz Rx); its
    values are the (x, y, z) angles whatever the order."""
    values = np.asarray(values, np.float64)
    if mode == "QUATERNION":
        return normalize(values)
    if mode == "AXIS_ANGLE":  # (angle, x, y, z)
        half = values[:, :1] / 2
        return np.concatenate([np.cos(half), np.sin(half) * normalize(values[:, 1:])], 1)
    order = mode[::-1]  # applied first is outermost: intrinsic in the reverse order
    return matrix_to_quat(euler_to_matrix(values[:, ["XYZ".index(a) for a in order]], order))


def quat_to_rotation(quats: np.ndarray, mode: str) -> np.ndarray:
    """(F, 4) quaternions -> (F, k) values of the rotation property of mode `mode`, continuous along F
    (Euler angles unwrapped, axis-angle on one side), so that keys interpolate without flips."""
    q = normalize(np.asarray(quats, np.float64))
    if mode == "QUATERNION":
        return q
    if mode == "AXIS_ANGLE":
        q = q * np.where(q[:, :1] < 0, -1.0, 1.0)  # angle in [0, pi]
        sin = np.linalg.norm(q[:, 1:], axis=1, keepdims=True)
        axis = np.where(sin > 1e-9, q[:, 1:] / np.maximum(sin, 1e-12), [0.0, 0.0, 1.0])
        return np.concatenate([2 * np.arctan2(sin, q[:, :1]), axis], 1)
    order = mode[::-1]
    out = np.empty((len(q), 3))
    out[:, ["XYZ".index(a) for a in order]] = matrix_to_euler(quat_to_matrix(q), order)  # values are (x, y, z)
    return np.unwrap(out, axis=0)


def to_armature_space(points: np.ndarray, axes: np.ndarray = Y_UP_TO_Z_UP, scale: float = CM_TO_M) -> np.ndarray:
    """(..., 3) data-space points -> armature space: s * C @ p."""
    return scale * np.asarray(points, dtype=np.float64) @ np.asarray(axes, dtype=np.float64).T


def rest_positions(skeleton: Skeleton) -> np.ndarray:
    """(J, 3) joint positions in the rest pose (all local rotations zero), data space."""
    eye = np.broadcast_to(np.eye(3), (skeleton.num_joints, 3, 3))
    return forward_kinematics(skeleton.parents, eye, skeleton.offsets)[1]


def bone_layout(
    skeleton: Skeleton,
    axes: np.ndarray = Y_UP_TO_Z_UP,
    scale: float = CM_TO_M,
    pose: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) heads and (J, 3) tails of one bone per joint, in armature space.

    pose: ((J, 3, 3) local rotations, (J, 3) local translations) to lay the
    bones out in (default: the rest pose, all rotations zero). Heads sit on
    the joint positions. A tail points at the first child that
    is not at the same place (else at a non-degenerate end site); leaves and
    joints whose children all coincide with them continue their parent's
    direction at half its length. Every bone gets a length of at least 2% of the
    skeleton's size, because Blender deletes zero-length bones.
    """
    if pose is None:
        g_rot = np.broadcast_to(np.eye(3), (skeleton.num_joints, 3, 3))
        heads = to_armature_space(rest_positions(skeleton), axes, scale)
    else:
        g_rot, g_pos = forward_kinematics(skeleton.parents, *(np.asarray(p, dtype=np.float64) for p in pose))
        heads = to_armature_space(g_pos, axes, scale)
    num_j = skeleton.num_joints
    extent = float(np.linalg.norm(np.ptp(heads, axis=0))) if num_j > 1 else 0.0
    min_len = 0.02 * extent if extent > 0 else 0.1
    eps = 1e-6 * max(extent, min_len)
    tails = np.zeros_like(heads)
    for j in range(num_j):
        target = None
        for c in skeleton.children(j):
            if np.linalg.norm(heads[c] - heads[j]) > eps:
                target = heads[c]
                break
        if target is None and j in skeleton.end_sites:
            end = heads[j] + to_armature_space(g_rot[j] @ skeleton.end_sites[j], axes, scale)
            if np.linalg.norm(end - heads[j]) > eps:
                target = end
        if target is None:
            p = skeleton.parents[j]
            if p >= 0:
                d = tails[p] - heads[p]  # the parent's bone is already laid out
                length = 0.5 * np.linalg.norm(d)
                target = heads[j] + d / np.linalg.norm(d) * max(length, min_len)
            else:
                target = heads[j] + np.array([0.0, 0.0, min_len])  # a lone root points up
        v = target - heads[j]
        n = np.linalg.norm(v)
        tails[j] = heads[j] + v * (max(n, min_len) / n)
    return heads, tails


def clip_to_pose_basis(
    clip: Clip,
    rest_matrices: np.ndarray,
    axes: np.ndarray = Y_UP_TO_Z_UP,
    scale: float = CM_TO_M,
    rest_rotations: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pose-bone basis per frame and joint: ((F, J, 3) locations, (F, J, 4) quaternions w, x, y, z).

    rest_matrices: (J, 4, 4) armature-space rest matrix of the bone of each
    joint, in skeleton order, for an armature whose bone hierarchy mirrors the
    skeleton (Blender: `bone.matrix_local`). rest_rotations: (J, 3, 3) data-space
    global joint rotations of the pose the armature was built in (default: the
    skeleton's rest pose, all identity); X_rest_j above is that pose.
    Quaternions are made sign-continuous over time so interpolation between
    frames takes the short way.
    """
    skel = clip.skeleton
    rest = np.asarray(rest_matrices, dtype=np.float64)
    if rest.shape != (skel.num_joints, 4, 4):
        raise MotionDataError(
            f"expected {skel.num_joints} bone rest matrices (4x4) for the clip's joints, got shape {rest.shape}"
        )
    c = np.asarray(axes, dtype=np.float64)
    parents = skel.parents
    a, h = rest[:, :3, :3], rest[:, :3, 3]
    eye = np.broadcast_to(np.eye(3), (skel.num_joints, 3, 3))
    r = eye if rest_rotations is None else np.asarray(rest_rotations, dtype=np.float64)
    # With Mfull as above, Mfull_p^-1 Mfull_j = (A_p^T C R_p L_j R_j^T C^T A_j, s A_p^T C R_p t_j) for
    # the joint's local rotation L_j and translation t_j, so the basis needs no FK:
    #   rotation  (A_j^T C R_p) L_j (R_j^T C^T A_j),   location  A_j^T (s C R_p t_j + h_p - h_j)
    # (roots: R_p = identity, h_p = 0). Rotations compose as quaternions, cheaper than matrices.
    r_p = np.where((parents >= 0)[:, None, None], r[np.maximum(parents, 0)], eye)
    h_p = np.where((parents >= 0)[:, None], h[np.maximum(parents, 0)], 0.0)
    a_t = np.swapaxes(a, -1, -2)
    left = a_t @ c @ r_p  # (J, 3, 3)
    right = np.swapaxes(r, -1, -2) @ c.T @ a
    quats = quat_mul(quat_mul(matrix_to_quat(left)[None], clip.rotations), matrix_to_quat(right)[None])
    locations = scale * np.einsum("jab,fjb->fja", left, clip.translations) + (a_t @ (h_p - h)[..., None])[..., 0]
    quats = normalize(quats)
    # Flip signs so consecutive frames lie in the same hemisphere.
    dots = np.sum(quats[1:] * quats[:-1], axis=-1)
    flips = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    quats[1:] *= flips[..., None]
    return locations, quats


def posed_matrices(rest_matrices: np.ndarray, parents, locations: np.ndarray, quaternions: np.ndarray,
                   order=None) -> np.ndarray:
    """(F, B, 4, 4) armature-space bone matrices of pose-bone bases ((F, B, 3) locations, (F, B, 4)
    quaternions), composed as Blender does: Mfull_b = Mfull_p Rest_p^-1 Rest_b basis_b (roots: Rest_b basis_b).
    `order`: bone indices, parents first (default: the bones' own order, parents already first)."""
    rest = np.asarray(rest_matrices, dtype=np.float64)
    basis = np.zeros(np.shape(locations)[:2] + (4, 4))
    basis[..., :3, :3] = quat_to_matrix(normalize(np.asarray(quaternions, dtype=np.float64)))
    basis[..., :3, 3] = locations
    basis[..., 3, 3] = 1.0
    full = np.empty_like(basis)
    for b in range(len(rest)) if order is None else order:
        p = parents[b]
        local = rest[b] if p < 0 else _rigid_inverse(rest[p]) @ rest[b]
        full[:, b] = (local if p < 0 else full[:, p] @ local) @ basis[:, b]
    return full


def pose_basis_to_clip(
    skeleton: Skeleton,
    rest_matrices: np.ndarray,
    locations: np.ndarray,
    quaternions: np.ndarray,
    fps: float,
    axes: np.ndarray = Y_UP_TO_Z_UP,
    scale: float = CM_TO_M,
    rest_rotations: np.ndarray | None = None,
    name: str = "",
) -> Clip:
    """The inverse of `clip_to_pose_basis`: pose-bone bases ((F, J, 3), (F, J, 4)) -> a clip of `skeleton`."""
    rest = np.asarray(rest_matrices, dtype=np.float64)
    c = np.asarray(axes, dtype=np.float64)
    full = posed_matrices(rest, skeleton.parents, locations, quaternions)
    g_rot = c.T @ full[..., :3, :3] @ np.swapaxes(rest[:, :3, :3], -1, -2) @ c
    if rest_rotations is not None:
        g_rot = g_rot @ np.asarray(rest_rotations, dtype=np.float64)
    g_pos = full[..., :3, 3] @ c / scale
    parents = skeleton.parents
    p_rot = np.where((parents >= 0)[None, :, None, None], g_rot[:, np.maximum(parents, 0)], np.eye(3))
    p_pos = np.where((parents >= 0)[None, :, None], g_pos[:, np.maximum(parents, 0)], 0.0)
    p_rot_t = np.swapaxes(p_rot, -1, -2)
    local_rot = p_rot_t @ g_rot
    local_pos = (p_rot_t @ (g_pos - p_pos)[..., None])[..., 0]
    return Clip(skeleton, matrix_to_quat(local_rot), local_pos, fps, name)


def _rigid_inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of (..., 4, 4) rigid transforms (rotation + translation)."""
    rt = np.swapaxes(m[..., :3, :3], -1, -2)
    out = np.zeros_like(m)
    out[..., :3, :3] = rt
    out[..., :3, 3] = -(rt @ m[..., :3, 3, None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def animated_joints(locations: np.ndarray, tol: float = 1e-5) -> np.ndarray:
    """(J,) bool: joints whose basis location leaves zero in some frame (they need location keys).

    tol is in armature units (1e-5 m = 0.01 mm with the default scale): above
    the ~1e-6 m noise that float32 rest matrices (Blender's) put into the basis
    of joints far from the origin, far below anything visible.
    """
    if not len(locations):
        return np.zeros(locations.shape[1], dtype=bool)
    return np.abs(locations).max(axis=(0, 2)) > tol


def bone_shape_mesh(heads: np.ndarray, tails: np.ndarray, width: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """A low-poly octahedral body per bone: ((B*6, 3) vertices, (B*8, 3) triangles).

    Vertices 6b..6b+5 belong to bone b (for rigid skinning). The bulge sits at
    a fifth of the bone, `width` times its length across.
    """
    heads = np.asarray(heads, dtype=np.float64)
    tails = np.asarray(tails, dtype=np.float64)
    axis = tails - heads
    length = np.linalg.norm(axis, axis=-1, keepdims=True)
    y = axis / np.maximum(length, 1e-12)
    # Any vector not parallel to the bone gives the cross-section plane.
    helper = np.where(np.abs(y[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    x = np.cross(y, helper)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    z = np.cross(x, y)
    r = width * length
    mid = heads + 0.2 * axis
    ring = [mid + r * x, mid + r * z, mid - r * x, mid - r * z]
    verts = np.stack([heads, *ring, tails], axis=1)  # (B, 6, 3)
    tri = np.array([[0, 2, 1], [0, 3, 2], [0, 4, 3], [0, 1, 4], [5, 1, 2], [5, 2, 3], [5, 3, 4], [5, 4, 1]])
    faces = tri[None] + 6 * np.arange(len(heads))[:, None, None]
    return verts.reshape(-1, 3), faces.reshape(-1, 3)
