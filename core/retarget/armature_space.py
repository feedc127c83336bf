"""Core clips in an armature's space: axis conversion, bone layout and pose-bone bases.

Pure numpy, no bpy, so the maths is testable without Blender and reusable for
any rig whose bone rest matrices are known (Blender: `bone.matrix_local`).

Notation. C is the axis conversion (data axes -> armature axes), s the scale.
A joint's world transform in armature space is X_j = (C G_j C^T, s C p_j),
where G_j, p_j are its FK global rotation and position in data space. A bone's
rest matrix Rest_j = (A_j, h_j) is its armature-space frame in the data's rest
pose (all local rotations zero), so its posed matrix is
    Mfull_j = X_j X_rest_j^-1 Rest_j = (C G_j C^T A_j, s C p_j)
and Blender's pose-bone basis, defined by Mfull_j = Mfull_p Rest_p^-1 Rest_j basis_j, is
    basis_j = (Rest_p^-1 Rest_j)^-1 Mfull_p^-1 Mfull_j     (roots: Rest_j^-1 Mfull_j).
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionDataError
from ..motion.clip import Clip
from ..motion.kinematics import forward_kinematics
from ..motion.rotations import matrix_to_quat
from ..motion.skeleton import Skeleton

# (x, y, z) -> (x, -z, y): Y-up data (front +Z) to Blender's Z-up (front -Y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# Centimetres to metres.
CM_TO_M = 0.01


def to_armature_space(points: np.ndarray, axes: np.ndarray = Y_UP_TO_Z_UP, scale: float = CM_TO_M) -> np.ndarray:
    """(..., 3) data-space points -> armature space: s * C @ p."""
    return scale * np.asarray(points, dtype=np.float64) @ np.asarray(axes, dtype=np.float64).T


def rest_positions(skeleton: Skeleton) -> np.ndarray:
    """(J, 3) joint positions in the rest pose (all local rotations zero), data space."""
    eye = np.broadcast_to(np.eye(3), (skeleton.num_joints, 3, 3))
    return forward_kinematics(skeleton.parents, eye, skeleton.offsets)[1]


def bone_layout(
    skeleton: Skeleton, axes: np.ndarray = Y_UP_TO_Z_UP, scale: float = CM_TO_M
) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) heads and (J, 3) tails of one bone per joint, in armature space.

    Heads sit on the rest joint positions. A tail points at the first child that
    is not at the same place (else at a non-degenerate end site); leaves and
    joints whose children all coincide with them continue their parent's
    direction at half its length. Every bone gets a length of at least 2% of the
    skeleton's size, because Blender deletes zero-length bones.
    """
    heads = to_armature_space(rest_positions(skeleton), axes, scale)
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
            # Rest rotations are all identity, so the end-site offset needs no rotating.
            end = heads[j] + to_armature_space(skeleton.end_sites[j], axes, scale)
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
) -> tuple[np.ndarray, np.ndarray]:
    """Pose-bone basis per frame and joint: ((F, J, 3) locations, (F, J, 4) quaternions w, x, y, z).

    rest_matrices: (J, 4, 4) armature-space rest matrix of the bone of each
    joint, in skeleton order, for an armature whose bone hierarchy mirrors the
    skeleton and whose rest pose is the skeleton's (Blender: `bone.matrix_local`).
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
    g_rot, g_pos = clip.global_transforms()  # (F, J, 3, 3), (F, J, 3)
    num_f, num_j = g_rot.shape[:2]

    full = np.zeros((num_f, num_j, 4, 4))
    full[..., :3, :3] = c @ g_rot @ c.T @ rest[:, :3, :3]
    full[..., :3, 3] = to_armature_space(g_pos, c, scale)
    full[..., 3, 3] = 1.0

    inv_rest = _rigid_inverse(rest)
    parents = skel.parents
    # Constant per joint: (Rest_p^-1 Rest_j)^-1 = Rest_j^-1 Rest_p (just Rest_j^-1 for roots).
    left = np.array([inv_rest[j] @ rest[p] if p >= 0 else inv_rest[j] for j, p in enumerate(parents)])
    parent_full = np.where(
        (parents >= 0)[None, :, None, None], full[:, np.maximum(parents, 0)], np.eye(4)
    )
    basis = left[None] @ _rigid_inverse(parent_full) @ full

    quats = matrix_to_quat(basis[..., :3, :3])
    # Flip signs so consecutive frames lie in the same hemisphere.
    dots = np.sum(quats[1:] * quats[:-1], axis=-1)
    flips = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    quats[1:] *= flips[..., None]
    return basis[..., :3, 3], quats


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
