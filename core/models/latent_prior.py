"""A latent prior fitted to a trained motion VAE's aggregate posterior (ex-post density estimation,
after Ghosh et al. 2020, "From Variational to Deterministic Autoencoders").

The KL term pulls each posterior towards N(0, I), but over the training clips the encoded latents
still differ from it: channel means sit off zero, spreads are below one, channels are correlated with
each other in a way that differs from action to action, neighbouring latent steps are correlated,
and the means move with the action and the style. Decoding N(0, I) latents then gives motion unlike
the data (the decoder never saw such latent sequences). Sampling from a Gaussian fitted to the
encoded training set instead (means shifted by the action's and the style's offsets, the channel
covariance of the action's windows, an AR(1) correlation along time) gives clips the recognizer
scores much closer to real ones (the VAE and CVAE model cards give the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

MAX_RHO = 0.95  # keeps the AR(1) innovations from vanishing
MIN_WINDOWS = 32  # windows of an action below which it shares the covariance of all windows
PHASE_PARTS = 8  # equal parts of a whole take over which the fitted means may move


def phase_part(phase: np.ndarray, parts: int) -> np.ndarray:
    """Which of `parts` equal parts of its take each step's phase (0 to 1, above 1 past the end) falls in."""
    return np.clip((phase * parts).astype(np.int64), 0, parts - 1)


def standard_latents(seeds: list[int], latent: int, steps: int) -> np.ndarray:
    """(n, latent, steps) N(0, I) latents, one generator per seed (a seed gives the same motion alone or in
    a batch, on every backend and device)."""
    return np.stack([np.random.default_rng(int(s)).standard_normal((latent, steps), np.float32) for s in seeds])


@dataclass
class LatentPrior:
    """Numpy arrays, float32: sampling needs no torch (the GAN's training converts at its call)."""

    mean: np.ndarray  # (C,) over all encoded training windows
    action_shift: np.ndarray  # (A, C) mean of the windows of an action, minus `mean`
    style_shift: np.ndarray  # (S, C) the same for styles
    scale: np.ndarray  # (A + 1, C, C) Cholesky factors of the channel covariance about the label means,
    # per action; the last one over all windows (no action given)
    rho: np.ndarray  # (C,) correlation of neighbouring latent steps
    # (A + 1, P, C) mean of an action's latents at each of P equal parts of whole takes, about its label
    # means (from rest, through the action, back to rest); the last over all windows. None: stationary
    phase_shift: np.ndarray | None = None

    def transform(self, e: np.ndarray, action: np.ndarray, style: np.ndarray, temperature: float = 1.0,
                  phase: np.ndarray | None = None) -> np.ndarray:
        """N(0, 1) noise e (B, C, T) -> latents (float32) of label ids action, style (B,) int (-1: none);
        `phase` (B, T): where each latent step sits in its clip, 0 to 1 (`step_phase`; default: the middle)."""
        keep = np.sqrt(1 - self.rho**2)
        ar = [e[..., 0]]
        for t in range(1, e.shape[-1]):  # unit-variance AR(1) along time
            ar.append(self.rho * ar[-1] + keep * e[..., t])
        row = np.where(action < 0, len(self.scale) - 1, action)  # (B,)
        mu = (self.mean + (action >= 0)[:, None] * self.action_shift[action.clip(0)]
              + (style >= 0)[:, None] * self.style_shift[style.clip(0)])[..., None]  # (B, C, 1)
        if self.phase_shift is not None:
            phase = np.full(e.shape[::2], 0.5) if phase is None else phase
            part = phase_part(phase, self.phase_shift.shape[1])  # (B, T)
            mu = mu + self.phase_shift[row[:, None], part].transpose(0, 2, 1)  # (B, C, T)
        return (mu + temperature * self.scale[row] @ np.stack(ar, -1)).astype(np.float32)

    def tensors(self) -> dict:
        """Torch tensors for a checkpoint or weights file."""
        import torch

        return {f"prior.{f.name}": torch.from_numpy(getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) is not None}

    @classmethod
    def from_tensors(cls, tensors: dict) -> LatentPrior | None:
        """The prior stored in a weights file (numpy arrays or torch tensors), or None (then latents are N(0, I))."""
        if "prior.mean" not in tensors:
            return None
        t = {k.removeprefix("prior."): np.asarray(v, np.float32) for k, v in tensors.items() if k.startswith("prior.")}
        if "std" in t:  # weights exported before the covariance: independent channels
            t["scale"] = np.repeat(np.diag(t.pop("std"))[None], len(t["action_shift"]) + 1, 0)
        return cls(**{f.name: t[f.name] for f in fields(cls) if f.name in t})


def fit_latent_prior(z: np.ndarray, action: np.ndarray, style: np.ndarray, num_actions: int,
                     num_styles: int, valid: np.ndarray | None = None, phase: np.ndarray | None = None,
                     parts: int = PHASE_PARTS) -> LatentPrior:
    """Fit to encoded latents z (N, C, T) of windows with label ids action, style (N,) (-1: none); `valid`
    (N, T) bool: the latent steps inside each window's clip (default all; whole takes of several lengths
    are padded to one). `phase` (N, T): where each step sits in its whole take (`step_phase`): the means
    then also move with it, in `parts` equal parts per action."""
    w = np.ones((len(z), z.shape[2])) if valid is None else valid.astype(np.float64)
    w = w[:, None]  # (N, 1, T)

    def average(x: np.ndarray, weight: np.ndarray) -> np.ndarray:  # (C,) mean over windows and valid steps
        return (x * weight).sum((0, 2)) / max(weight.sum(), 1.0)

    mean = average(z, w)

    def shifts(labels: np.ndarray, count: int) -> np.ndarray:
        out = np.zeros((count, len(mean)))
        for k in range(count):
            if (labels == k).any():
                out[k] = average(z[labels == k], w[labels == k]) - mean
        return out

    # Correlation along time about the overall mean (the labels' own spread included).
    centred = z - mean[None, :, None]
    unit = centred / np.sqrt(average(centred**2, w))[None, :, None]
    rho = np.clip(average(unit[..., 1:] * unit[..., :-1], w[..., 1:] * w[..., :-1]), 0.0, MAX_RHO)
    action_shift, style_shift = shifts(action, num_actions), shifts(style, num_styles)
    # Channel covariance about each window's label mean: its action's own where the action has enough
    # windows (actions move the channels together differently: a diagonal spread cost accuracy).
    resid = z - (mean + (action >= 0)[:, None] * action_shift[action.clip(0)]
                 + (style >= 0)[:, None] * style_shift[style.clip(0)])[..., None]  # (N, C, T)
    phase_shift = None
    if phase is not None:
        part = phase_part(phase, parts)  # (N, T)
        phase_shift = np.zeros((num_actions + 1, parts, z.shape[1]))
        for k in range(num_actions + 1):
            rows = action == k if k < num_actions else np.ones(len(z), bool)
            for p in range(parts):
                weight = w[rows] * (part[rows] == p)[:, None]
                if weight.sum() >= MIN_WINDOWS:  # too few steps: the label means alone
                    phase_shift[k, p] = average(resid[rows], weight)
        row = np.where(action < 0, num_actions, action)
        resid = resid - phase_shift[row[:, None], part].transpose(0, 2, 1)

    def cholesky(sel: np.ndarray) -> np.ndarray:
        flat = resid[sel].transpose(0, 2, 1).reshape(-1, resid.shape[1])  # (n * T, C)
        flat = flat[w[sel, 0].reshape(-1) > 0]  # valid steps only
        return np.linalg.cholesky(np.cov(flat.T) + 1e-5 * np.eye(resid.shape[1]))

    overall = cholesky(np.ones(len(z), bool))
    scale = [cholesky(action == k) if (action == k).sum() >= MIN_WINDOWS else overall
             for k in range(num_actions)] + [overall]
    tensors = (mean, action_shift, style_shift, np.stack(scale), rho, phase_shift)
    return LatentPrior(*(None if v is None else np.asarray(v, np.float32) for v in tensors))
