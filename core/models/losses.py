"""Reconstruction losses of the diffusion denoiser (x0 prediction) and the VAE decoder."""

from __future__ import annotations

import numpy as np
import torch

from ..motion.kinematics import forward_kinematics
from ..motion.representation import CONTACT_HEIGHT, MotionRepresentation
from ..motion.rotations import axis_angle_matrix, sixd_to_matrix


def masked_mse(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, vel_weight: float) -> torch.Tensor:
    """MSE over valid frames, plus `vel_weight` times the MSE of frame-to-frame changes over pairs of
    valid frames (it keeps predicted motion as smooth as the data's). pred, target (B, L, D); valid (B, L) bool."""
    d = target.shape[-1]
    w = valid[..., None].float()  # (B, L, 1)
    loss = ((pred - target) ** 2 * w).sum() / (w.sum() * d)
    if vel_weight:
        wv = w[:, 1:] * w[:, :-1]
        dv = (pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])
        loss = loss + vel_weight * (dv**2 * wv).sum() / (wv.sum().clamp(min=1) * d)
    return loss


def drift_mse(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, channels: slice) -> torch.Tensor:
    """MSE of the running sums of the errors in `channels` (velocities that decoding integrates) over
    valid frames, per frame and divided by the window's valid frames. A small bias per frame, cheap in
    `masked_mse`, adds up over a window: here it costs about a third of the window's length as much
    (a generated straight walk that keeps turning slightly). pred, target (B, L, D); valid (B, L) bool."""
    w = valid[..., None].float()  # (B, L, 1)
    run = ((pred - target)[..., channels] * w).cumsum(1)  # (B, L, C)
    n = w.sum(1).clamp(min=1)  # (B, 1) valid frames
    return ((run**2 * w).sum(1) / n**2).mean()


class PositionLoss:
    """MSE of joint positions decoded from normalised features, each coordinate divided by its spread.

    The feature MSE weighs every joint's 6D rotation alike, yet a hip's error moves the whole leg and a
    toe's almost nothing; in-betweening is scored on positions (L2P), most of all vertical ones, whose
    spread is small. Positions are those of the pose alone: the root at its height above the origin,
    turned by its rotation relative to the heading (what `MotionRepresentation.decode` builds before it
    adds the path), so the root's path stays the business of the root losses."""

    def __init__(self, rep: MotionRepresentation, mean: np.ndarray, std: np.ndarray, items: list[np.ndarray],
                 max_frames: int = 50_000, min_spread: float = 0.02, low_feet: bool = False):
        lay, skel = rep.layout, rep.skeleton
        self.rot6d, self.height, self.root, self.parents = lay.rot6d, lay.root_height.start, rep.root, skel.parents
        self.vel, self.yaw, self.contacts, self.feet = lay.root_vel.start, lay.yaw_rate.start, lay.contacts, rep.feet
        self.step_unit = 0.01 * rep.leg_length  # about 1 cm a frame
        self.mean, self.std = torch.from_numpy(mean).float(), torch.from_numpy(std).float()  # (D,)
        self.offsets = torch.from_numpy(skel.offsets).float()  # (J, 3)
        self.offsets[rep.ancestors] = 0.0  # joints above the root stay at the origin: no error there
        self.offsets[rep.root] = 0.0
        self.fixed = torch.zeros(skel.num_joints, dtype=torch.bool)
        self.fixed[rep.ancestors] = True
        # Spread of each coordinate over (up to `max_frames` of) the training frames, floored at
        # `min_spread` leg lengths: the root's own x and z never move, a divisor of 0 would be noise.
        frames = np.concatenate(items)
        frames = frames[np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).astype(int)]
        with torch.no_grad():
            pos = self.positions(torch.from_numpy(frames).float()[None])[0]  # (N, J, 3)
        self.scale = pos.std(0).clamp(min=min_spread * rep.leg_length)  # (J, 3)
        # Lift-off and landing: a foot near the floor but moving is no contact, yet skating counts it.
        # near_floor (K,): the height under which a foot joint is near the floor (None: low_feet off).
        self.near_floor = None
        if low_feet:
            floor = pos[:, self.feet, 1].quantile(0.02, dim=0)  # (K,)
            self.near_floor = floor + CONTACT_HEIGHT * rep.leg_length

    def positions(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) normalised features -> (B, L, J, 3) joint positions of the pose."""
        raw = x * self.std.to(x) + self.mean.to(x)
        b, n = raw.shape[:2]
        rot = sixd_to_matrix(raw[..., self.rot6d].reshape(b, n, -1, 6))  # (B, L, J, 3, 3)
        rot = torch.where(self.fixed.to(x.device)[:, None, None], torch.eye(3, device=x.device, dtype=x.dtype), rot)
        trans = self.offsets.to(x).expand(b, n, -1, -1).clone()  # (B, L, J, 3)
        trans[..., self.root, 1] = raw[..., self.height]
        return forward_kinematics(self.parents, rot, trans)[1]

    def foot_steps(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """(B, L, D) normalised features and their `positions` -> (B, L-1, K, 2) each foot joint's step across
        the floor from frame t to t+1 in the world, root path included, in the heading frame of t: decoding
        puts the root at X_t + R(yaw_t) p_t, so the step is R(yaw_t) (v_t + R(turn_t) p_t+1 - p_t) for the
        root's velocity v_t and turn rate turn_t and the pose's positions p."""
        raw = x * self.std.to(x) + self.mean.to(x)
        p = pos[:, :, self.feet]  # (B, L, K, 3)
        turn = axis_angle_matrix(1, raw[:, :-1, self.yaw])  # (B, L-1, 3, 3)
        v = torch.zeros_like(p[:, :-1, 0])  # (B, L-1, 3)
        v[..., 0], v[..., 2] = raw[:, :-1, self.vel], raw[:, :-1, self.vel + 1]
        step = v[:, :, None] + (turn[:, :, None] @ p[:, 1:, ..., None])[..., 0] - p[:, :-1]
        return step[..., [0, 2]]

    def __call__(self, pred: torch.Tensor, target: torch.Tensor,
                 valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pred, target (B, L, D) normalised; valid (B, L) bool -> two loss terms (each decodes the positions once):
        - positions: the MSE of the joint positions, each coordinate divided by its spread;
        - foot slide: the MSE of the feet's world steps (`foot_steps`) against the target's, in units of
          `step_unit`, over the frames where the target's foot joint stands (its contact flag at t and t+1),
          and with `low_feet` also where it is near the floor at t or t+1 (less than CONTACT_HEIGHT leg lengths
          above the joint's 2nd-percentile height in the training frames), lift-off and landing included:
          the feature losses see the root's path and the legs apart, so a foot may slide under a body whose
          every channel is nearly right."""
        pos = self.positions(pred)  # (B, L, J, 3)
        with torch.no_grad():
            pos_target = self.positions(target)
            steps_target = self.foot_steps(target, pos_target)
        w = valid[..., None, None].float()
        d = (pos - pos_target) / self.scale.to(pred)
        position = (d**2 * w).sum() / (w.sum() * d.shape[-2] * 3).clamp(min=1)
        raw = target * self.std.to(target) + self.mean.to(target)
        stand = (raw[..., self.contacts] > 0.5) & valid[..., None]  # (B, L, K)
        counted = stand[:, 1:] & stand[:, :-1]  # (B, L-1, K)
        if self.near_floor is not None:
            low = (pos_target[..., self.feet, 1] < self.near_floor.to(pred)) & valid[..., None]  # (B, L, K)
            counted = counted | low[:, 1:] | low[:, :-1]
        w = counted.float()[..., None]  # (B, L-1, K, 1)
        d = (self.foot_steps(pred, pos) - steps_target) / self.step_unit
        return position, (d**2 * w).sum() / (w.sum() * 2).clamp(min=1)
