"""What the controller network is told: the desired root trajectory for the next second in the
character's current heading frame, at +5, +10, ... +30 frames the planar offset (metres) and the
heading direction (sin, cos) of the yaw change, 4 numbers per point. Numpy only: the live controller
runs without torch."""

from __future__ import annotations

import numpy as np

TRAJ_FRAMES = (5, 10, 15, 20, 25, 30)
CONTROL_DIM = 4 * len(TRAJ_FRAMES)
METRE = 100.0  # data units (cm) per metre


def control_vector(pos: np.ndarray, yaw: np.ndarray, fut_pos: np.ndarray, fut_yaw: np.ndarray) -> np.ndarray:
    """Current root (…, 2) planar (x, z) and (…,) yaw; future (…, K, 2) and (…, K) -> (…, 4K) control.

    Offsets are rotated into the heading frame (inverse of yaw_matrix about Y: forward = +z)."""
    d = (fut_pos - pos[..., None, :]) / METRE  # (…, K, 2)
    c, s = np.cos(yaw)[..., None], np.sin(yaw)[..., None]
    lx = c * d[..., 0] - s * d[..., 1]
    lz = s * d[..., 0] + c * d[..., 1]
    dy = fut_yaw - yaw[..., None]
    return np.stack([lx, lz, np.sin(dy), np.cos(dy)], -1).reshape(*pos.shape[:-1], -1)
