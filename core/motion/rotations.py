"""Rotation conversions, vectorised, for numpy arrays and torch tensors alike.

Conventions (used everywhere in GenAnim):
- Rotations act on column vectors: v' = R @ v.
- Quaternions are (w, x, y, z), unit length.
- Euler orders are intrinsic axis sequences as BVH writes them: order "ZXY" with
  angles (a, b, c) means R = Rz(a) @ Rx(b) @ Ry(c). All 12 sequences are
  supported (6 Tait-Bryan such as "XYZ", 6 proper such as "ZXZ"). Radians.
- 6D is the first two columns of the matrix (Zhou et al. 2019), flattened
  as (col0, col1); decoding orthonormalises by Gram-Schmidt.

Every function takes and returns the same array type, so numpy and torch code
share one implementation and give the same numbers.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TypeVar

import numpy as np

Array = TypeVar("Array")  # np.ndarray or torch.Tensor

_AXES = {"X": 0, "Y": 1, "Z": 2}
EULER_ORDERS = tuple(a + b + c for a in "XYZ" for b in "XYZ" for c in "XYZ" if a != b and b != c)


def xp(x) -> ModuleType:
    """The array module (numpy or torch) that owns `x`."""
    # A tensor exists only once torch is imported, so never import it here: the numpy
    # paths (e.g. inside Blender) stay free of torch's import time, or its absence.
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return torch
    return np


def _safe_norm(v, axis: int = -1, keepdims: bool = True, eps: float = 1e-12):
    m = xp(v)
    return m.clip(m.sqrt(m.sum(v * v, axis=axis, keepdims=keepdims)), eps, None)


def normalize(v):
    """Unit vectors (or unit quaternions) along the last axis."""
    return v / _safe_norm(v)


def cross(a, b):
    """Cross product along the last axis."""
    m = xp(a)
    return m.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def axis_angle_matrix(axis: int, angle):
    """Rotation by `angle` (…,) about the coordinate axis 0, 1 or 2 -> (…, 3, 3)."""
    m = xp(angle)
    c, s = m.cos(angle), m.sin(angle)
    one, zero = m.ones_like(angle), m.zeros_like(angle)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == 1:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return m.stack([m.stack(r, axis=-1) for r in rows], axis=-2)


def rotation_about(axis, angle):
    """Rotation by `angle` (n,) about unit vectors `axis` (n, 3) -> (n, 3, 3) (Rodrigues' formula)."""
    m = xp(angle)
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    zero = m.zeros_like(x)
    k = m.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(-1, 3, 3)  # cross-product matrix
    s, c = m.sin(angle)[:, None, None], m.cos(angle)[:, None, None]
    return m.eye(3) + s * k + (1 - c) * (k @ k)


def _check_order(order: str) -> str:
    order = order.upper()
    if order not in EULER_ORDERS and not (1 <= len(order) <= 2 and all(a in _AXES for a in order)):
        raise ValueError(f"unknown Euler order {order!r}; use one of {', '.join(EULER_ORDERS)}")
    return order


def euler_to_matrix(angles, order: str):
    """(…, k) angles in radians, intrinsic `order` of k axes -> (…, 3, 3).

    Fewer than three axes (for BVH joints with 1 or 2 rotation channels) are allowed.
    """
    order = _check_order(order)
    mat = None
    for i, a in enumerate(order):
        r = axis_angle_matrix(_AXES[a], angles[..., i])
        mat = r if mat is None else mat @ r
    return mat


def matrix_to_euler(mat, order: str):
    """(…, 3, 3) -> (…, 3) angles for an intrinsic 3-axis `order`.

    Near gimbal lock (middle angle at ±90° for Tait-Bryan, 0 or 180° for proper
    orders) the first angle absorbs the rotation and the third is (nearly) 0; the
    angles always rebuild the input matrix to rounding error.
    """
    order = _check_order(order)
    if len(order) != 3:
        raise ValueError("matrix_to_euler needs a 3-axis order")
    m = xp(mat)
    i, j, k = (_AXES[a] for a in order)
    # Below this the first and third axes coincide to rounding error (a and c are not separable).
    eps = 1e-12 if str(mat.dtype).endswith("float64") else 1e-6
    if i != k:  # Tait-Bryan
        s = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
        cos_b = m.sqrt(mat[..., i, i] ** 2 + mat[..., i, j] ** 2)
        b = m.arctan2(s * mat[..., i, k], cos_b)
        a = m.arctan2(-s * mat[..., j, k], mat[..., k, k])
        c = m.arctan2(-s * mat[..., i, j], mat[..., i, i])
        degenerate = cos_b < eps
    else:  # proper Euler
        l_ = 3 - i - j
        s = 1.0 if (i, j, l_) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
        sin_b = m.sqrt(mat[..., i, j] ** 2 + mat[..., i, l_] ** 2)
        b = m.arctan2(sin_b, mat[..., i, i])
        a = m.arctan2(mat[..., j, i], -s * mat[..., l_, i])
        c = m.arctan2(mat[..., i, j], s * mat[..., i, l_])
        degenerate = sin_b < eps
    # Degenerate case: c ~ 0, so mat @ Rj(b)^T ~ Ri(a); read a off that matrix.
    rest = mat @ m.swapaxes(axis_angle_matrix(j, b), -1, -2)
    p, q = (i + 1) % 3, (i + 2) % 3
    a_locked = m.arctan2(rest[..., q, p], rest[..., p, p])
    a = m.where(degenerate, a_locked, a)
    # Read c off what a and b leave: Rj(b)^T Ri(a)^T mat = Rk(c). Near the lock the error
    # of a is then absorbed by c (setting c = 0 in a band of 1e-7 around the lock, as this
    # did before, left errors up to 2e-7 in the rebuilt matrix).
    t = axis_angle_matrix(i, a) @ axis_angle_matrix(j, b)
    rest = m.swapaxes(t, -1, -2) @ mat
    p, q = (k + 1) % 3, (k + 2) % 3
    c = m.arctan2(rest[..., q, p], rest[..., p, p])
    return m.stack([a, b, c], axis=-1)


def quat_to_matrix(q):
    """(…, 4) quaternions (w, x, y, z) -> (…, 3, 3). Input need not be unit length."""
    m = xp(q)
    q = normalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return m.stack([m.stack(r, axis=-1) for r in rows], axis=-2)


def matrix_to_quat(mat):
    """(…, 3, 3) -> (…, 4) unit quaternions with w >= 0.

    Picks the numerically best of the four standard formulas per element
    (Shepperd's method), so it is accurate for every rotation including 180°.
    """
    m = xp(mat)
    m00, m11, m22 = mat[..., 0, 0], mat[..., 1, 1], mat[..., 2, 2]
    tr = m00 + m11 + m22

    def from_sq(sq):  # sqrt guarded against tiny negatives in unused branches
        return m.sqrt(m.clip(sq, 1e-12, None))

    r0 = from_sq(1 + tr) * 2  # 4w
    q0 = m.stack(
        [
            r0 / 4,
            (mat[..., 2, 1] - mat[..., 1, 2]) / r0,
            (mat[..., 0, 2] - mat[..., 2, 0]) / r0,
            (mat[..., 1, 0] - mat[..., 0, 1]) / r0,
        ],
        axis=-1,
    )
    r1 = from_sq(1 + m00 - m11 - m22) * 2  # 4x
    q1 = m.stack(
        [
            (mat[..., 2, 1] - mat[..., 1, 2]) / r1,
            r1 / 4,
            (mat[..., 0, 1] + mat[..., 1, 0]) / r1,
            (mat[..., 0, 2] + mat[..., 2, 0]) / r1,
        ],
        axis=-1,
    )
    r2 = from_sq(1 - m00 + m11 - m22) * 2  # 4y
    q2 = m.stack(
        [
            (mat[..., 0, 2] - mat[..., 2, 0]) / r2,
            (mat[..., 0, 1] + mat[..., 1, 0]) / r2,
            r2 / 4,
            (mat[..., 1, 2] + mat[..., 2, 1]) / r2,
        ],
        axis=-1,
    )
    r3 = from_sq(1 - m00 - m11 + m22) * 2  # 4z
    q3 = m.stack(
        [
            (mat[..., 1, 0] - mat[..., 0, 1]) / r3,
            (mat[..., 0, 2] + mat[..., 2, 0]) / r3,
            (mat[..., 1, 2] + mat[..., 2, 1]) / r3,
            r3 / 4,
        ],
        axis=-1,
    )

    c0 = (tr > 0)[..., None]
    c1 = ((m00 >= m11) & (m00 >= m22))[..., None]
    c2 = (m11 >= m22)[..., None]
    q = m.where(c0, q0, m.where(c1, q1, m.where(c2, q2, q3)))
    q = normalize(q)
    return m.where(q[..., :1] < 0, -q, q)


def quat_mul(a, b):
    """Hamilton product a * b of (…, 4) quaternions (apply b, then a)."""
    m = xp(a)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return m.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_conjugate(q):
    """Inverse of unit quaternions."""
    m = xp(q)
    return m.concatenate([q[..., :1], -q[..., 1:]], axis=-1)


def quat_angle(a, b):
    """Angles (radians, 0..pi) of the turns between (…, 4) unit quaternions a and b (q and -q alike)."""
    m = xp(a)
    return 2 * m.arccos(m.clip(m.abs(m.sum(a * b, axis=-1)), 0.0, 1.0))


def quat_slerp(a, b, t):
    """Spherical interpolation between (…, 4) quaternions, t in [0, 1] broadcast to (…,)."""
    m = xp(a)
    dot = m.sum(a * b, axis=-1)
    b = m.where((dot < 0)[..., None], -b, b)  # shortest path
    dot = m.abs(dot)
    theta = m.arccos(m.clip(dot, -1.0, 1.0))
    sin_theta = m.sin(theta)
    near = sin_theta < 1e-6  # nearly equal: linear interpolation is exact enough
    safe = m.where(near, m.ones_like(sin_theta), sin_theta)
    wa = m.where(near, 1 - t, m.sin((1 - t) * theta) / safe)
    wb = m.where(near, t * m.ones_like(theta), m.sin(t * theta) / safe)
    return normalize(wa[..., None] * a + wb[..., None] * b)


def matrix_to_6d(mat):
    """(…, 3, 3) -> (…, 6): the first two columns."""
    m = xp(mat)
    return m.concatenate([mat[..., :, 0], mat[..., :, 1]], axis=-1)


def sixd_to_matrix(d6):
    """(…, 6) -> (…, 3, 3) by Gram-Schmidt; any non-degenerate input gives a rotation."""
    m = xp(d6)
    b1 = normalize(d6[..., 0:3])
    a2 = d6[..., 3:6]
    b2 = normalize(a2 - m.sum(b1 * a2, axis=-1, keepdims=True) * b1)
    b3 = cross(b1, b2)
    return m.stack([b1, b2, b3], axis=-1)


def wrap_angle(angle):
    """Angles (…,) in radians wrapped to [-pi, pi)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def yaw_matrix(yaw, up_axis: int = 1):
    """Rotation by `yaw` (…,) radians about the vertical axis -> (…, 3, 3)."""
    return axis_angle_matrix(up_axis, yaw)
