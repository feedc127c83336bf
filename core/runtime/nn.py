"""The few network operations the shipped models use, in numpy (float32), each as torch computes it."""

from __future__ import annotations

import math

import numpy as np


def sinusoid(n: int, width: int) -> np.ndarray:
    """(n, width) float32 sinusoidal table for positions 0..n-1 (the denoiser's positions and timesteps)."""
    pos = np.arange(n, dtype=np.float32)[:, None]
    freq = np.exp(np.arange(0, width, 2, dtype=np.float32) * np.float32(-math.log(10000.0) / width))
    table = np.zeros((n, width), np.float32)
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq)
    return table


def linear(x: np.ndarray, state: dict[str, np.ndarray], name: str) -> np.ndarray:
    """torch.nn.Linear `name` of a state dict applied to x (..., in)."""
    w = state[f"{name}.weight"]
    y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(*x.shape[:-1], w.shape[0])  # one 2-D product: one BLAS call
    bias = state.get(f"{name}.bias")
    return y if bias is None else y + bias


def layer_norm(x: np.ndarray, state: dict[str, np.ndarray], name: str, eps: float = 1e-5) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * state[f"{name}.weight"] + state[f"{name}.bias"]


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and exact GELU needs it."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x * np.float32(1 / np.sqrt(2)))).astype(x.dtype)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def self_attention(x: np.ndarray, state: dict[str, np.ndarray], name: str, heads: int,
                   ignore: np.ndarray | None = None) -> np.ndarray:
    """torch.nn.MultiheadAttention `name` (batch first, packed in-projection) of x (B, N, W) on itself;
    `ignore` (B, N) bool: keys left out (torch's key_padding_mask)."""
    b, n, w = x.shape
    qkv = x @ state[f"{name}.in_proj_weight"].T + state[f"{name}.in_proj_bias"]  # (B, N, 3W)
    qkv = qkv.reshape(b, n, 3, heads, w // heads).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv  # each (B, H, N, W/H)
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(w // heads))  # (B, H, N, N)
    if ignore is not None:
        scores = np.where(ignore[:, None, None, :], np.float32(-np.inf), scores)
    out = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(b, n, w)
    return linear(out, state, f"{name}.out_proj")


def conv1d(x: np.ndarray, state: dict[str, np.ndarray], name: str, stride: int = 1, padding: int = 0) -> np.ndarray:
    """torch.nn.Conv1d `name` of x (B, C_in, L) -> (B, C_out, L')."""
    weight = state[f"{name}.weight"]  # (C_out, C_in, K)
    k = weight.shape[2]
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    n_out = (x.shape[2] - k) // stride + 1
    cols = np.concatenate([x[:, :, j : j + stride * (n_out - 1) + 1 : stride] for j in range(k)], 1)  # (B, K*C_in, L')
    # one BLAS product per clip (einsum took 45 times as long for a kernel of 1)
    y = weight.transpose(0, 2, 1).reshape(len(weight), -1) @ cols  # (B, C_out, L')
    bias = state.get(f"{name}.bias")
    return y if bias is None else y + bias[None, :, None]


def step_phase(lengths: np.ndarray, steps: int, rate: int) -> np.ndarray:
    """(B, steps) where the middle frame of each step of `rate` frames sits in its clip of `lengths` (B,)
    frames: 0 at the start, 1 at the end, above 1 past it (padding)."""
    mid = (np.arange(steps, dtype=np.float64) + 0.5) * rate  # (steps,) frames
    return mid[None] / np.maximum(np.asarray(lengths, np.float64), 1)[:, None]


def phase_channels(lengths: np.ndarray, steps: int, rate: int, pairs: int) -> np.ndarray:
    """(B, 2 * pairs, steps) float32: sin/cos of pi * k * `step_phase` (k = 1..pairs). A convolution sees
    only its neighbourhood; these tell it how far the clip has come, so that a whole take can start and
    end at rest wherever its edges fall in a padded batch."""
    u = step_phase(lengths, steps, rate)  # (B, steps)
    angle = np.pi * np.arange(1, pairs + 1)[None, :, None] * u[:, None]  # (B, pairs, steps)
    return np.concatenate([np.sin(angle), np.cos(angle)], 1).astype(np.float32)
