"""Rotation conversions: Euler (all 12 orders), quaternions, 6D; numpy and torch agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.motion import rotations as R

ORDERS = R.EULER_ORDERS
TAIT_BRYAN = [o for o in ORDERS if o[0] != o[2]]
PROPER = [o for o in ORDERS if o[0] == o[2]]


def rx(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


AXIS = {"X": rx, "Y": ry, "Z": rz}


def random_quats(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def axis_angle(axis, angle):
    """Rodrigues' formula, written independently of the module under test."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def assert_rotation(m, atol=1e-12):
    m = np.asarray(m)
    eye = np.broadcast_to(np.eye(3), m.shape)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), eye, atol=atol)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=atol)


def rotation_angle(m):
    return np.arccos(np.clip((np.trace(m, axis1=-2, axis2=-1) - 1) / 2, -1, 1))


# --- Euler -----------------------------------------------------------------------


def test_there_are_twelve_orders():
    assert len(ORDERS) == 12 and len(set(ORDERS)) == 12
    assert len(TAIT_BRYAN) == 6 and len(PROPER) == 6


@pytest.mark.parametrize("order", ORDERS)
def test_euler_to_matrix_is_product_of_axis_matrices(order):
    rng = np.random.default_rng(1)
    angles = rng.uniform(-np.pi, np.pi, size=(20, 3))
    got = R.euler_to_matrix(angles, order)
    for a, m in zip(angles, got, strict=True):
        want = AXIS[order[0]](a[0]) @ AXIS[order[1]](a[1]) @ AXIS[order[2]](a[2])
        np.testing.assert_allclose(m, want, atol=1e-14)


def test_axis_matrices_follow_the_right_hand_rule():
    # Column vectors, counter-clockwise: Rz(90°) takes x to y, Rx(90°) y to z, Ry(90°) z to x.
    half = np.pi / 2
    np.testing.assert_allclose(R.euler_to_matrix(np.array([half, 0, 0]), "ZXY") @ [1, 0, 0], [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(R.euler_to_matrix(np.array([half, 0, 0]), "XYZ") @ [0, 1, 0], [0, 0, 1], atol=1e-15)
    np.testing.assert_allclose(R.euler_to_matrix(np.array([half, 0, 0]), "YZX") @ [0, 0, 1], [1, 0, 0], atol=1e-15)
    # Intrinsic order: ZXY with (a, b, c) is Rz(a) Rx(b) Ry(c) -- the last axis acts first on the vector.
    m = R.euler_to_matrix(np.array([half, half, 0]), "ZXY")
    np.testing.assert_allclose(m @ [0, 1, 0], [0, 0, 1], atol=1e-15)  # Rx takes y to z; Rz keeps z


@pytest.mark.parametrize("order", ["X", "Y", "Z", "ZX", "YX", "XZ"])
def test_euler_to_matrix_with_one_or_two_axes(order):
    angles = np.array([0.3, -1.2])[: len(order)]
    want = np.eye(3)
    for a, t in zip(order, angles, strict=True):
        want = want @ AXIS[a](t)
    np.testing.assert_allclose(R.euler_to_matrix(angles, order), want, atol=1e-15)


@pytest.mark.parametrize("order", ["XYW", "XXY", "ABC", "XYZX", ""])
def test_unknown_order_is_refused(order):
    with pytest.raises(ValueError):
        R.euler_to_matrix(np.zeros(3), order)


def test_matrix_to_euler_needs_three_axes():
    with pytest.raises(ValueError):
        R.matrix_to_euler(np.eye(3), "ZX")


@pytest.mark.parametrize("order", ORDERS)
def test_euler_matrix_euler_matrix_round_trip_random(order):
    rng = np.random.default_rng(2)
    angles = rng.uniform(-np.pi, np.pi, size=(500, 3))
    m = R.euler_to_matrix(angles, order)
    e = R.matrix_to_euler(m, order)
    np.testing.assert_allclose(R.euler_to_matrix(e, order), m, atol=1e-12)
    # Canonical ranges: a, c in [-pi, pi]; b in [-pi/2, pi/2] (Tait-Bryan) or [0, pi] (proper).
    assert np.all(np.abs(e) <= np.pi + 1e-12)
    if order in TAIT_BRYAN:
        assert np.all(np.abs(e[:, 1]) <= np.pi / 2 + 1e-12)
    else:
        assert np.all((e[:, 1] >= -1e-12) & (e[:, 1] <= np.pi + 1e-12))


@pytest.mark.parametrize("order", ORDERS)
def test_euler_angles_come_back_when_unambiguous(order):
    rng = np.random.default_rng(3)
    n = 200
    if order in TAIT_BRYAN:
        b = rng.uniform(-1.4, 1.4, n)
    else:
        b = rng.uniform(0.2, np.pi - 0.2, n)
    angles = np.stack([rng.uniform(-3.1, 3.1, n), b, rng.uniform(-3.1, 3.1, n)], axis=-1)
    e = R.matrix_to_euler(R.euler_to_matrix(angles, order), order)
    np.testing.assert_allclose(e, angles, atol=1e-10)


def _lock_angles(order, rng, offsets, n=16):
    mids = [np.pi / 2, -np.pi / 2] if order in TAIT_BRYAN else [0.0, np.pi, -np.pi]
    rows = []
    for mid in mids:
        for d in offsets:
            for a, c in rng.uniform(-np.pi, np.pi, size=(n, 2)):
                rows.append([a, mid + d, c])
    return np.array(rows)


GIMBAL_OFFSETS = [0.0, 1e-15, -1e-15, 1e-12, -1e-12, 1e-10, -1e-10, 1e-9, -1e-9, 3e-9, -3e-9,
                  1e-8, -1e-8, 1e-7, -1e-7, 2e-7, 1e-6, -1e-6, 1e-4, -1e-4]


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip_at_and_near_gimbal_lock(order):
    rng = np.random.default_rng(4)
    angles = _lock_angles(order, rng, GIMBAL_OFFSETS)
    m = R.euler_to_matrix(angles, order)
    e = R.matrix_to_euler(m, order)
    assert np.isfinite(e).all()
    m2 = R.euler_to_matrix(e, order)
    np.testing.assert_allclose(m2, m, atol=1e-10)
    # and a second trip is stable
    np.testing.assert_allclose(R.euler_to_matrix(R.matrix_to_euler(m2, order), order), m, atol=1e-10)


@pytest.mark.parametrize("order", ORDERS)
def test_exact_gimbal_lock_puts_the_rotation_in_the_first_angle(order):
    rng = np.random.default_rng(5)
    angles = _lock_angles(order, rng, [0.0])
    e = R.matrix_to_euler(R.euler_to_matrix(angles, order), order)
    np.testing.assert_allclose(e[:, 2], 0.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.cos(e[:, 1])), np.abs(np.cos(angles[:, 1])), atol=1e-9)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_of_degree_valued_lock_angles(order):
    # BVH files hold degrees: 90.0 and 180.0 exactly, converted with np.radians.
    mid = 90.0 if order in TAIT_BRYAN else 180.0
    deg = np.array([[30.0, mid, -45.0], [170.0, -mid, 120.0], [-179.0, mid, 179.0], [0.0, 0.0 if order in PROPER
                                                                                     else 90.0, 0.0]])
    m = R.euler_to_matrix(np.radians(deg), order)
    np.testing.assert_allclose(R.euler_to_matrix(R.matrix_to_euler(m, order), order), m, atol=1e-12)


# --- quaternions -----------------------------------------------------------------


def test_quat_to_matrix_matches_axis_angle():
    rng = np.random.default_rng(6)
    for _ in range(50):
        axis = rng.normal(size=3)
        angle = rng.uniform(-np.pi, np.pi)
        u = axis / np.linalg.norm(axis)
        q = np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * u])
        np.testing.assert_allclose(R.quat_to_matrix(q), axis_angle(axis, angle), atol=1e-14)


def test_rotation_about_turns_about_each_axis_and_keeps_it():
    rng = np.random.default_rng(7)
    axes = R.normalize(rng.normal(size=(20, 3)))
    angles = rng.uniform(-np.pi, np.pi, 20)
    mats = R.rotation_about(axes, angles)
    assert_rotation(mats)
    np.testing.assert_allclose(mats, np.stack([axis_angle(a, t) for a, t in zip(axes, angles, strict=True)]),
                               atol=1e-14)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", mats, axes), axes, atol=1e-14)  # the axis stays put
    np.testing.assert_allclose(rotation_angle(mats), np.abs(angles), atol=1e-7)


def test_quat_to_matrix_normalises_its_input():
    rng = np.random.default_rng(7)
    q = random_quats(rng, 10)
    np.testing.assert_allclose(R.quat_to_matrix(q * 3.7), R.quat_to_matrix(q), atol=1e-14)


def _check_quat_round_trip(mats, atol=1e-12):
    q = R.matrix_to_quat(mats)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-14)
    assert np.all(q[..., 0] >= 0)
    np.testing.assert_allclose(R.quat_to_matrix(q), mats, atol=atol)
    return q


def test_quat_matrix_round_trip_random():
    rng = np.random.default_rng(8)
    q = random_quats(rng, 1000)
    back = _check_quat_round_trip(R.quat_to_matrix(q))
    # the same quaternion up to sign
    np.testing.assert_allclose(np.abs(np.sum(back * q, axis=-1)), 1.0, atol=1e-12)


def test_quat_matrix_round_trip_180_degrees():
    rng = np.random.default_rng(9)
    axes = np.concatenate([np.eye(3), -np.eye(3), [[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1], [1, -1, 0]],
                           rng.normal(size=(50, 3))])
    mats = np.stack([axis_angle(a, np.pi) for a in axes])
    q = _check_quat_round_trip(mats)
    np.testing.assert_allclose(q[:, 0], 0.0, atol=1e-12)
    # close to 180 degrees on either side
    for d in (1e-12, 1e-9, 1e-6, -1e-9):
        mats = np.stack([axis_angle(a, np.pi - d) for a in axes])
        _check_quat_round_trip(mats)


def test_quat_matrix_round_trip_near_identity():
    rng = np.random.default_rng(10)
    axes = rng.normal(size=(30, 3))
    for angle in (0.0, 1e-15, 1e-12, 1e-9, 1e-6, 1e-3):
        mats = np.stack([axis_angle(a, angle) for a in axes])
        q = _check_quat_round_trip(mats, atol=1e-14)
        np.testing.assert_allclose(2 * np.arcsin(np.linalg.norm(q[:, 1:], axis=-1)), angle, atol=1e-14)
    np.testing.assert_array_equal(R.matrix_to_quat(np.eye(3)), [1, 0, 0, 0])


def test_quat_matrix_round_trip_trace_boundaries():
    # Rotations whose trace is near 0 or -1 switch between Shepperd's branches.
    rng = np.random.default_rng(11)
    axes = rng.normal(size=(100, 3))
    for angle in (2 * np.pi / 3, 2 * np.pi / 3 + 1e-12, 2 * np.pi / 3 - 1e-12, np.pi / 2, 3.0):
        _check_quat_round_trip(np.stack([axis_angle(a, angle) for a in axes]))


def test_quat_mul_matches_matrix_product():
    rng = np.random.default_rng(12)
    a, b = random_quats(rng, 200), random_quats(rng, 200)
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_mul(a, b)),
                               R.quat_to_matrix(a) @ R.quat_to_matrix(b), atol=1e-13)
    # unit norm preserved, and not commutative in general
    np.testing.assert_allclose(np.linalg.norm(R.quat_mul(a, b), axis=-1), 1.0, atol=1e-14)
    assert not np.allclose(R.quat_mul(a, b), R.quat_mul(b, a))


def test_quat_mul_identity_and_conjugate():
    rng = np.random.default_rng(13)
    q = random_quats(rng, 50)
    ident = np.array([1.0, 0, 0, 0])
    np.testing.assert_allclose(R.quat_mul(q, np.broadcast_to(ident, q.shape)), q, atol=1e-15)
    np.testing.assert_allclose(R.quat_mul(q, R.quat_conjugate(q)), np.broadcast_to(ident, q.shape), atol=1e-14)
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_conjugate(q)),
                               np.swapaxes(R.quat_to_matrix(q), -1, -2), atol=1e-14)


def test_slerp_endpoints():
    rng = np.random.default_rng(14)
    a, b = random_quats(rng, 100), random_quats(rng, 100)
    ma, mb = R.quat_to_matrix(a), R.quat_to_matrix(b)
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_slerp(a, b, 0.0)), ma, atol=1e-12)
    np.testing.assert_allclose(R.quat_to_matrix(R.quat_slerp(a, b, 1.0)), mb, atol=1e-12)


def test_slerp_midpoint_about_a_fixed_axis():
    rng = np.random.default_rng(15)
    for _ in range(30):
        axis, angle = rng.normal(size=3), rng.uniform(0.01, np.pi - 0.01)
        start = random_quats(rng, 1)[0]
        u = axis / np.linalg.norm(axis)
        step = np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * u])
        end = R.quat_mul(step, start)
        for t in (0.25, 0.5, 0.9):
            got = R.quat_to_matrix(R.quat_slerp(start, end, t))
            want = axis_angle(axis, t * angle) @ R.quat_to_matrix(start)
            np.testing.assert_allclose(got, want, atol=1e-12)
        # shortest path: -end is the same rotation and gives the same midpoint
        mid = R.quat_to_matrix(R.quat_slerp(start, -end, 0.5))
        np.testing.assert_allclose(mid, axis_angle(axis, angle / 2) @ R.quat_to_matrix(start), atol=1e-12)


def test_slerp_of_nearly_equal_quaternions_and_array_t():
    rng = np.random.default_rng(16)
    a = random_quats(rng, 20)
    b = R.quat_mul(np.array([np.cos(5e-8), np.sin(5e-8), 0, 0]), a)  # 1e-7 rad apart
    t = np.linspace(0, 1, 20)
    out = R.quat_slerp(a, b, t)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=1e-14)
    np.testing.assert_allclose(R.quat_to_matrix(out), R.quat_to_matrix(a), atol=1e-6)
    same = R.quat_slerp(a, a, 0.5)
    np.testing.assert_allclose(same, a, atol=1e-14)


# --- 6D -----------------------------------------------------------------------


def test_6d_round_trip():
    rng = np.random.default_rng(17)
    mats = R.quat_to_matrix(random_quats(rng, 500))
    d6 = R.matrix_to_6d(mats)
    assert d6.shape == (500, 6)
    np.testing.assert_array_equal(d6[:, :3], mats[:, :, 0])
    np.testing.assert_array_equal(d6[:, 3:], mats[:, :, 1])
    np.testing.assert_allclose(R.sixd_to_matrix(d6), mats, atol=1e-14)


def test_6d_of_perturbed_input_is_a_proper_rotation():
    rng = np.random.default_rng(18)
    mats = R.quat_to_matrix(random_quats(rng, 500))
    for scale in (1e-3, 0.1, 1.0, 10.0):
        d6 = R.matrix_to_6d(mats) + rng.normal(scale=scale, size=(500, 6))
        d6[:, :3] *= rng.uniform(0.1, 5, size=(500, 1))  # lengths do not matter
        out = R.sixd_to_matrix(d6)
        assert_rotation(out, atol=1e-12)
        # Gram-Schmidt: the first column keeps the direction of the first 3 numbers,
        # the second stays in the plane of the two vectors.
        u = d6[:, :3] / np.linalg.norm(d6[:, :3], axis=-1, keepdims=True)
        np.testing.assert_allclose(out[:, :, 0], u, atol=1e-12)
        np.testing.assert_allclose(np.einsum("ni,ni->n", out[:, :, 2], d6[:, 3:]), 0.0, atol=1e-9)


# --- numpy and torch agree ------------------------------------------------------------


def _cases():
    rng = np.random.default_rng(19)
    q, q2 = random_quats(rng, 64), random_quats(rng, 64)
    mats = R.quat_to_matrix(q)
    angles = rng.uniform(-np.pi, np.pi, size=(64, 3))
    cases = [
        ("normalize", R.normalize, (rng.normal(size=(64, 4)),)),
        ("cross", R.cross, (rng.normal(size=(64, 3)), rng.normal(size=(64, 3)))),
        ("axis_angle_matrix", lambda a: R.axis_angle_matrix(1, a), (angles[:, 0],)),
        ("yaw_matrix", R.yaw_matrix, (angles[:, 0],)),
        ("quat_to_matrix", R.quat_to_matrix, (rng.normal(size=(64, 4)),)),
        ("matrix_to_quat", R.matrix_to_quat, (np.concatenate([mats, [axis_angle([1, 2, 3], np.pi), np.eye(3)]]),)),
        ("quat_mul", R.quat_mul, (q, q2)),
        ("quat_conjugate", R.quat_conjugate, (q,)),
        ("quat_slerp", lambda a, b, t: R.quat_slerp(a, b, t), (q, q2, np.linspace(0, 1, 64))),
        ("quat_slerp_scalar_t", lambda a, b: R.quat_slerp(a, b, 0.3), (q, q2)),
        ("matrix_to_6d", R.matrix_to_6d, (mats,)),
        ("sixd_to_matrix", R.sixd_to_matrix, (rng.normal(size=(64, 6)),)),
    ]
    lock = _lock_angles("XYZ", rng, [0.0, 1e-9, 1e-6], n=4)
    for order in ORDERS:
        ang = np.concatenate([angles, _lock_angles(order, rng, [0.0, 1e-9, 1e-6], n=4), lock])
        cases.append((f"euler_to_matrix_{order}", lambda a, o=order: R.euler_to_matrix(a, o), (ang,)))
        cases.append((f"matrix_to_euler_{order}", lambda m, o=order: R.matrix_to_euler(m, o),
                      (R.euler_to_matrix(ang, order),)))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name,fn,args", CASES, ids=[c[0] for c in CASES])
def test_numpy_and_torch_agree(name, fn, args):
    out_np = fn(*args)
    out_t = fn(*(torch.from_numpy(np.ascontiguousarray(a)) for a in args))
    assert isinstance(out_np, np.ndarray) and isinstance(out_t, torch.Tensor)
    assert out_t.dtype == torch.float64
    assert tuple(out_t.shape) == out_np.shape
    np.testing.assert_allclose(out_t.numpy(), out_np, atol=1e-12, rtol=0)


def test_xp_picks_the_array_module():
    assert R.xp(np.zeros(3)) is np
    assert R.xp(torch.zeros(3)) is torch


def test_torch_functions_are_differentiable():
    q = torch.tensor(random_quats(np.random.default_rng(20), 8), requires_grad=True)
    m = R.quat_to_matrix(q)
    loss = R.matrix_to_6d(m).sum() + R.matrix_to_quat(m.detach().clone().requires_grad_()).sum()
    loss.backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()
