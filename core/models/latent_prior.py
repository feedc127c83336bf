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

    def transform(self, e: np.ndarray, action: np.ndarray, style: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """N(0, 1) noise e (B, C, T) -> latents (float32) of label ids action, style (B,) int (-1: none)."""
        keep = np.sqrt(1 - self.rho**2)
        ar = [e[..., 0]]
        for t in range(1, e.shape[-1]):  # unit-variance AR(1) along time
            ar.append(self.rho * ar[-1] + keep * e[..., t])
        mu = (self.mean + (action >= 0)[:, None] * self.action_shift[action.clip(0)]
              + (style >= 0)[:, None] * self.style_shift[style.clip(0)])  # (B, C)
        scale = self.scale[np.where(action < 0, len(self.scale) - 1, action)]  # (B, C, C)
        return (mu[..., None] + temperature * scale @ np.stack(ar, -1)).astype(np.float32)

    def tensors(self) -> dict:
        """Torch tensors for a checkpoint or weights file."""
        import torch

        return {f"prior.{f.name}": torch.from_numpy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_tensors(cls, tensors: dict) -> LatentPrior | None:
        """The prior stored in a weights file (numpy arrays or torch tensors), or None (then latents are N(0, I))."""
        if "prior.mean" not in tensors:
            return None
        t = {k.removeprefix("prior."): np.asarray(v, np.float32) for k, v in tensors.items() if k.startswith("prior.")}
        if "std" in t:  # weights exported before the covariance: independent channels
            t["scale"] = np.repeat(np.diag(t.pop("std"))[None], len(t["action_shift"]) + 1, 0)
        return cls(**{f.name: t[f.name] for f in fields(cls)})


def fit_latent_prior(z: np.ndarray, action: np.ndarray, style: np.ndarray, num_actions: int,
                     num_styles: int) -> LatentPrior:
    """Fit to encoded latents z (N, C, T) of windows with label ids action, style (N,) (-1: none)."""
    mean = z.mean((0, 2))  # (C,)

    def shifts(labels: np.ndarray, count: int) -> np.ndarray:
        out = np.zeros((count, len(mean)))
        for k in range(count):
            if (labels == k).any():
                out[k] = z[labels == k].mean((0, 2)) - mean
        return out

    # Correlation along time about the overall mean (the labels' own spread included).
    unit = (z - mean[None, :, None]) / z.std((0, 2))[None, :, None]
    rho = np.clip((unit[..., 1:] * unit[..., :-1]).mean((0, 2)), 0.0, MAX_RHO)
    action_shift, style_shift = shifts(action, num_actions), shifts(style, num_styles)
    # Channel covariance about each window's label mean: its action's own where the action has enough
    # windows (actions move the channels together differently: a diagonal spread cost accuracy).
    resid = z - (mean + (action >= 0)[:, None] * action_shift[action.clip(0)]
                 + (style >= 0)[:, None] * style_shift[style.clip(0)])[..., None]  # (N, C, T)

    def cholesky(r: np.ndarray) -> np.ndarray:
        flat = r.transpose(0, 2, 1).reshape(-1, r.shape[1])  # (N * T, C)
        return np.linalg.cholesky(np.cov(flat.T) + 1e-5 * np.eye(r.shape[1]))

    overall = cholesky(resid)
    scale = [cholesky(resid[action == k]) if (action == k).sum() >= MIN_WINDOWS else overall
             for k in range(num_actions)] + [overall]
    tensors = (mean, action_shift, style_shift, np.stack(scale), rho)
    return LatentPrior(*(np.asarray(v, np.float32) for v in tensors))
