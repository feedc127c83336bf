"""Steering a stretch of root motion to end where a kept frame has the root.

The learning representation carries the root as per-frame steps (planar velocity in the heading
frame, turn rate), so the network cannot see where a kept frame after a gap stands relative to the
frames before it. Applied to every estimate of the sampler, this correction tells it: the steps are
shifted, evenly, so that they add up to the kept frame's place and heading, and the network's next
estimate fits its legs to that path.
"""

from __future__ import annotations

import numpy as np


def reach_root_target(steps: np.ndarray, offset: np.ndarray, turn: float) -> np.ndarray:
    """(B, n, 3) root steps (x and z velocity in the heading frame of each step, turn rate; as the
    representation's root_vel, yaw_rate) with the same evenly spread corrections added, so that from
    heading 0 they turn by `turn` radians in all and travel `offset` (2,) = (x, z).

    First the turn: each step's rate gets the same share of the missing turn. Then the travel: each
    step gets the same share of the missing offset (a constant world-frame velocity), expressed in
    its own heading frame."""
    n = steps.shape[1]
    rate = steps[..., 2] + (turn - steps[..., 2].sum(1, keepdims=True)) / n  # (B, n)
    yaw = np.cumsum(rate, 1) - rate  # (B, n) heading of each step: the turns before it
    c, s = np.cos(yaw), np.sin(yaw)
    vx, vz = steps[..., 0], steps[..., 1]
    # Heading frame -> world frame: rotation by yaw about the vertical (Y up), as decoding does.
    wx, wz = c * vx + s * vz, -s * vx + c * vz
    dx = (offset[0] - wx.sum(1, keepdims=True)) / n  # (B, 1) world-frame share per step
    dz = (offset[1] - wz.sum(1, keepdims=True)) / n
    return np.stack([vx + c * dx - s * dz, vz + s * dx + c * dz, rate], -1)
