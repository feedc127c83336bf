"""Reconstruction loss shared by the diffusion denoiser (x0 prediction) and the VAE decoder."""

from __future__ import annotations

import torch


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
