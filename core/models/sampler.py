"""The diffusion sampler, in numpy: one implementation for every backend. It calls a denoiser (the torch
network, `core.models.diffusion.TorchDenoiser`, or its numpy twin, `core.runtime.denoiser`) once per step
and does everything else itself: DDIM or ancestral steps, classifier-free guidance, constraints written
into every estimate, and long sequences as overlapping windows blended at every step (MultiDiffusion).

Shapes: B batch, L frames, D features per frame (normalised). Label id -1 means "none".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..errors import GenAnimError


class Denoise(Protocol):
    def __call__(self, x_t: np.ndarray, t: np.ndarray, action: np.ndarray, style: np.ndarray, known: np.ndarray,
                 mask: np.ndarray, whole: np.ndarray | None, prev: np.ndarray | None = None) -> np.ndarray:
        """x0 estimate (B, L, D) float32 of x_t (B, L, D); t, action, style (B,) int; whole (B,) bool or None;
        prev (B, L, D) the previous step's estimate (None at the first step; self-conditioned networks use it)."""
        ...


def cosine_alpha_bar(timesteps: int) -> np.ndarray:
    """(T,) cumulative signal fraction alpha_bar_t of the cosine schedule (Nichol & Dhariwal), float64."""
    s = 0.008
    f = np.cos((np.arange(timesteps + 1) / timesteps + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.minimum(1 - f[1:] / f[:-1], 0.999)
    return np.cumprod(1 - betas)


def ddim_timesteps(timesteps: int, steps: int) -> list[int]:
    """The `steps` timesteps of DDIM, from T-1 down to 0: t = (T-1) sqrt(1 - u^2) for u evenly spaced, so
    shortest at high noise, where a clip's speed, swing and action are settled. The square-root spacing
    before, t = (T-1) sqrt(1 - u), went from pure noise to t = 960 (16x as much noise as signal) in one
    step, and walks swung their arms less and scored a higher FID (weights/diffusion.md, Sampling).
    Each step is at least one timestep short of the one before it."""
    if not 2 <= steps <= timesteps // 2:
        raise GenAnimError(f"the sampler takes 2 to {timesteps // 2} steps, not {steps}")
    u = np.linspace(0.0, 1.0, steps)
    ts = np.rint((timesteps - 1) * np.sqrt(1.0 - u**2)).astype(int)
    for i in range(1, steps - 1):  # many steps: the first ones would round to the same timestep
        ts[i] = min(ts[i], ts[i - 1] - 1)
    return ts.tolist()


def noised(x0: np.ndarray, ab_t: float, rng: np.random.Generator) -> np.ndarray:
    """x0 diffused to the step whose signal fraction is ab_t (float32), for diagnosing the denoiser."""
    return (math.sqrt(ab_t) * x0 + math.sqrt(1 - ab_t) * rng.standard_normal(x0.shape)).astype(np.float32)


def ddim_step(x_t: np.ndarray, x0: np.ndarray, ab_t: float, ab_prev: float) -> np.ndarray:
    """x at the previous (less noisy) step, signal fraction ab_prev, of x_t (signal fraction ab_t) whose clean
    estimate is x0: DDIM with eta 0 (the noise x0 implies is kept)."""
    eps = (x_t - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
    return math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps


def window_starts(n: int, window: int, overlap: int) -> list[int]:
    """First frames of the windows covering n frames, consecutive ones overlapping by at least `overlap`."""
    if n <= window:
        return [0]
    hop = window - overlap
    k = math.ceil((n - window) / hop) + 1
    return [round(i * (n - window) / (k - 1)) for i in range(k)]


def blend_weights(window: int, overlap: int) -> np.ndarray:
    """(window,) cross-fade weights: ramps up over the first `overlap` frames and down over the last."""
    up = np.minimum((np.arange(window, dtype=np.float32) + 1) / (overlap + 1), 1)
    return np.minimum(up, up[::-1])


def guided_x0(denoise: Denoise, x_t: np.ndarray, t: int, action: np.ndarray, style: np.ndarray, known: np.ndarray,
              mask: np.ndarray, guidance: float, window: int, overlap: int, impute: bool = True,
              whole: np.ndarray | None = None, prev: np.ndarray | None = None) -> np.ndarray:
    """Guided x0 estimate of a whole sequence (B, L, D), constraints written in (unless not `impute`).

    Sequences longer than `window` are cut into windows overlapping by `overlap` frames, denoised as
    one batch, and blended back with linear cross-fades, so every step sees one consistent sequence and
    no seam forms. Guidance: uncond + g (cond - uncond), the unconditional branch keeping the constraints.
    """
    b, n, _ = x_t.shape
    starts = window_starts(n, window, overlap)
    w = min(n, window)
    k = len(starts)
    cut = lambda v: np.concatenate([v[:, s : s + w] for s in starts])  # noqa: E731  (B*K, w, D)
    xs, ks, ms = cut(x_t), cut(known), cut(mask)
    ps = None if prev is None else cut(prev)
    a, s_ = np.tile(action, k), np.tile(style, k)
    wh = None if whole is None else np.tile(whole, k)
    tt = np.full(len(xs), t, np.int64)
    if guidance == 1.0 or bool(((action < 0) & (style < 0)).all()):
        x0 = denoise(xs, tt, a, s_, ks, ms, wh, ps)
    else:
        none = np.full_like(a, -1)
        two = lambda v: None if v is None else np.concatenate([v, v])  # noqa: E731
        both = denoise(two(xs), two(tt), np.concatenate([a, none]), np.concatenate([s_, none]), two(ks), two(ms),
                       two(wh), two(ps))
        cond, uncond = both[: len(xs)], both[len(xs) :]
        x0 = uncond + guidance * (cond - uncond)
    x0 = x0.reshape(k, b, w, -1)  # (K, B, w, D)
    if k == 1:
        out = x0[0]
    else:
        ramp = blend_weights(w, overlap)
        out = np.zeros_like(x_t)
        total = np.zeros(n, np.float32)
        for i, s in enumerate(starts):
            wk = ramp.copy()
            if i == 0:
                wk[: w // 2] = 1  # the sequence's own ends are not faded
            if i == k - 1:
                wk[w // 2 :] = 1
            out[:, s : s + w] += x0[i] * wk[None, :, None]
            total[s : s + w] += wk
        out = out / total[None, :, None]
    return known * mask + out * (1 - mask) if impute else out  # constraints hold exactly in the estimate


def sample(
    denoise: Denoise,
    timesteps: int,
    noise: np.ndarray,
    action: np.ndarray,
    style: np.ndarray,
    known: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    steps: int = 10,
    guidance: float = 2.5,
    rng: np.random.Generator | None = None,
    ddpm: bool = False,
    window: int = 120,
    overlap: int = 30,
    callback: Callable[[int, int], None] | None = None,
    impute_last: bool = True,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    whole: np.ndarray | None = None,
) -> np.ndarray:
    """(B, L, D) float32 sample from the start noise x_T `noise` (B, L, D). DDIM (eta 0: deterministic
    given the noise) over `steps` timesteps (`ddim_timesteps`); with `ddpm` the ancestral sampler over all
    `timesteps` (MDM's default; its per-step noise from `rng`), for comparison. Without `impute_last`
    the result is the network's own last estimate, constrained entries included (where it misses them
    tells how far its motion is offset from the constraints). `project` maps every x0 estimate to one
    that meets a constraint the masks cannot state (a root path's end, `core.models.root_target`).
    `whole` (B,) bool: each sequence is a whole take, not an excerpt (networks trained on whole takes)."""
    x = noise.astype(np.float32)
    known = np.zeros_like(x) if known is None else known.astype(np.float32)
    mask = np.zeros_like(x) if mask is None else mask.astype(np.float32)
    ab = cosine_alpha_bar(timesteps)
    ts = list(range(timesteps - 1, -1, -1)) if ddpm else ddim_timesteps(timesteps, steps)
    rng = rng or np.random.default_rng(0)
    x0 = None  # the previous step's estimate, the input of self-conditioned networks
    for i, t in enumerate(ts):
        prev = ts[i + 1] if i + 1 < len(ts) else -1
        x0 = guided_x0(denoise, x, t, action, style, known, mask, guidance, window, overlap,
                       impute_last or prev >= 0, whole, x0)
        if project is not None:
            x0 = project(x0)
        ab_t, ab_p = ab[t], (ab[prev] if prev >= 0 else 1.0)
        if prev < 0:
            x = x0
        elif ddpm:  # posterior q(x_{t-1} | x_t, x0)
            beta = 1 - ab_t / ab_p
            mean = (math.sqrt(ab_p) * beta * x0 + math.sqrt(1 - beta) * (1 - ab_p) * x) / (1 - ab_t)
            x = mean + math.sqrt(beta * (1 - ab_p) / (1 - ab_t)) * rng.standard_normal(x.shape, np.float32)
        else:
            x = ddim_step(x, x0, ab_t, ab_p)
        x = x.astype(np.float32)
        if callback is not None:
            callback(i + 1, len(ts))
    return x
