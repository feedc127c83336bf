"""A latent prior fitted to a trained motion VAE's aggregate posterior (ex-post density estimation,
after Ghosh et al. 2020, "From Variational to Deterministic Autoencoders").

The KL term pulls each posterior towards N(0, I), but over the training clips the encoded latents
still differ from it: channel means sit off zero, spreads are below one, channels are correlated with
each other in a way that differs from action to action, neighbouring latent steps are correlated,
and the means move with the action and the style. Decoding N(0, I) latents then gives motion unlike
the data (the decoder never saw such latent sequences). Sampling from a Gaussian fitted to the
encoded training set instead (means shifted by the action's and the style's offsets, the channel
covariance of the action's windows, a vector autoregression along time per action) gives clips the
recognizer scores much closer to real ones (the VAE and CVAE model cards give the numbers). The
autoregression is per action and mixes channels because actions have rhythms of their own (an encoded
walk turns a pair of channels by a steady angle each latent step, its stride); one AR(1) per channel,
shared by all actions and clipped at 0 (`order` 0, the earlier prior), samples such a rhythm as noise.
An action and style pair with enough encoded windows has a Gaussian of its own (means, covariance and
autoregression fitted to its windows alone): a style changes an action's latents in more ways than by an
offset, and the less the KL term squeezes the latents, the more it does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

MAX_RHO = 0.95  # keeps the autoregression's innovations from vanishing
RIDGE = 1e-3  # of the autoregression's least squares, relative to the number of steps
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
    ar: np.ndarray  # (A + 1, P, C, C) autoregression of the whitened latents on their last P steps, per action
    innovation: np.ndarray  # (A + 1, C, C) Cholesky factor of what that autoregression leaves unexplained
    # (A + 1, P, C) mean of an action's latents at each of P equal parts of whole takes, about its label
    # means (from rest, through the action, back to rest); the last over all windows. None: stationary
    phase_shift: np.ndarray | None = None
    # (A, S) int: the pair's row among the rows after the A + 1 above (in scale, ar, innovation, phase_shift),
    # -1 where the pair has no Gaussian of its own; None: none has
    pairs: np.ndarray | None = None
    pair_shift: np.ndarray | None = None  # (N, C) mean of a pair's windows, minus `mean`

    def transform(self, e: np.ndarray, action: np.ndarray, style: np.ndarray, temperature: float = 1.0,
                  phase: np.ndarray | None = None) -> np.ndarray:
        """N(0, 1) noise e (B, C, T) -> latents (float32) of label ids action, style (B,) int (-1: none);
        `phase` (B, T): where each latent step sits in its clip, 0 to 1 (`step_phase`; default: the middle)."""
        num_actions = len(self.action_shift)
        row = np.where(action < 0, num_actions, action)  # (B,)
        mu = self.mean + (action >= 0)[:, None] * self.action_shift[action.clip(0)] \
            + (style >= 0)[:, None] * self.style_shift[style.clip(0)]  # (B, C)
        if self.pairs is not None:
            pair = np.where((action >= 0) & (style >= 0), self.pairs[action.clip(0), style.clip(0)], -1)  # (B,)
            row = np.where(pair >= 0, num_actions + 1 + pair, row)
            mu = np.where((pair >= 0)[:, None], self.mean + self.pair_shift[pair.clip(0)], mu)
        mu = mu[..., None]  # (B, C, 1)
        ar, innovation = self.ar[row], self.innovation[row]  # (B, P, C, C), (B, C, C)
        u = [e[..., 0]]  # whitened latents (B, C) per step: the first from the stationary spread
        for t in range(1, e.shape[-1]):
            past = sum(np.einsum("bij,bj->bi", ar[:, j], u[-1 - j]) for j in range(min(t, ar.shape[1])))
            u.append(past + np.einsum("bij,bj->bi", innovation, e[..., t]))
        if self.phase_shift is not None:
            phase = np.full(e.shape[::2], 0.5) if phase is None else phase
            part = phase_part(phase, self.phase_shift.shape[1])  # (B, T)
            mu = mu + self.phase_shift[row[:, None], part].transpose(0, 2, 1)  # (B, C, T)
        return (mu + temperature * self.scale[row] @ np.stack(u, -1)).astype(np.float32)

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
        if "pairs" in t:
            t["pairs"] = t["pairs"].astype(np.int64)
        rows = len(t["action_shift"]) + 1
        if "std" in t:  # weights exported before the covariance: independent channels
            t["scale"] = np.repeat(np.diag(t.pop("std"))[None], rows, 0)
        if "rho" in t:  # weights exported before the autoregression: an AR(1) per channel, shared by all actions
            ar, innovation = channel_ar1(t.pop("rho"))
            t["ar"], t["innovation"] = np.repeat(ar[None], rows, 0), np.repeat(innovation[None], rows, 0)
        return cls(**{f.name: t[f.name] for f in fields(cls) if f.name in t})


def fit_latent_prior(z: np.ndarray, action: np.ndarray, style: np.ndarray, num_actions: int,
                     num_styles: int, valid: np.ndarray | None = None, phase: np.ndarray | None = None,
                     parts: int = PHASE_PARTS, order: int = 1, pairs: bool = True) -> LatentPrior:
    """Fit to encoded latents z (N, C, T) of windows with label ids action, style (N,) (-1: none); `valid`
    (N, T) bool: the latent steps inside each window's clip (default all; whole takes of several lengths
    are padded to one). `phase` (N, T): where each step sits in its whole take (`step_phase`): the means
    then also move with it, in `parts` equal parts per action. `order` P >= 1: the whitened latents follow a
    vector autoregression on their last P steps, per action; 0: one AR(1) per channel for all actions.
    `pairs`: an action and style pair with at least MIN_WINDOWS windows gets a Gaussian of its own."""
    if pairs and order >= 1:
        labelled = (action >= 0) & (style >= 0)
        counts = np.zeros((num_actions, num_styles), np.int64)
        np.add.at(counts, (action[labelled], style[labelled]), 1)
        table = np.full((num_actions, num_styles), -1, np.int64)
        fitted = []
        for a, s in zip(*np.nonzero(counts >= MIN_WINDOWS), strict=True):
            sel = (action == a) & (style == s)
            table[a, s] = len(fitted)  # the pair as the one action of its own fit: its row 0
            fitted.append(fit_latent_prior(z[sel], np.zeros(sel.sum(), np.int64), np.full(sel.sum(), -1), 1, 1,
                                           None if valid is None else valid[sel],
                                           None if phase is None else phase[sel], parts, order, pairs=False))
        base = fit_latent_prior(z, action, style, num_actions, num_styles, valid, phase, parts, order, pairs=False)
        if not fitted:
            return base
        rows = lambda name: np.concatenate([getattr(base, name), *(getattr(f, name)[:1] for f in fitted)])  # noqa: E731
        return replace(base, scale=rows("scale"), ar=rows("ar"), innovation=rows("innovation"),
                       phase_shift=None if phase is None else rows("phase_shift"), pairs=table,
                       pair_shift=np.stack([f.mean - base.mean for f in fitted]).astype(np.float32))
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

    if order == 0:  # the earlier prior: each channel's correlation along time about the overall mean
        centred = z - mean[None, :, None]
        unit = centred / np.sqrt(average(centred**2, w))[None, :, None]
        shared = channel_ar1(np.clip(average(unit[..., 1:] * unit[..., :-1], w[..., 1:] * w[..., :-1]), 0.0, MAX_RHO))
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

    def dynamics(sel: np.ndarray, chol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if order == 0:
            return shared
        u = np.linalg.solve(chol, resid[sel])  # (n, C, T) whitened
        return fit_autoregression(u, w[sel, 0] > 0, order)

    groups = [action == k for k in range(num_actions)] + [np.ones(len(z), bool)]
    overall = cholesky(groups[-1])
    scale = [cholesky(g) if g.sum() >= MIN_WINDOWS else overall for g in groups[:-1]] + [overall]
    fits = [dynamics(g, c) if g.sum() >= MIN_WINDOWS else None for g, c in zip(groups, scale, strict=True)]
    fits = [f if f is not None else fits[-1] for f in fits]
    tensors = (mean, action_shift, style_shift, np.stack(scale), np.stack([f[0] for f in fits]),
               np.stack([f[1] for f in fits]), phase_shift)
    return LatentPrior(*(None if v is None else np.asarray(v, np.float32) for v in tensors))


def channel_ar1(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unit-variance AR(1) of each channel with neighbour correlations rho (C,), as `fit_autoregression`'s
    ar (1, C, C) and innovation (C, C)."""
    return np.diag(rho)[None], np.diag(np.sqrt(1 - rho**2))


def fit_autoregression(u: np.ndarray, valid: np.ndarray, order: int, ridge: float = RIDGE
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Vector autoregression of whitened latents u (N, C, T) on their last `order` steps, over the steps
    whose past is `valid` (N, T) too: ar (P, C, C) with u_t = sum_j ar[j] u_(t-1-j) + innovation e_t,
    innovation (C, C) a Cholesky factor. Ridge-regularised; damped to a spectral radius of at most
    MAX_RHO, so a long clip's latents neither blow up nor freeze."""
    n, c, t = u.shape
    ok = valid[:, order:].copy()
    for j in range(order):
        ok &= valid[:, order - 1 - j:t - 1 - j]
    x = np.concatenate([u[..., order - 1 - j:t - 1 - j] for j in range(order)], 1).transpose(0, 2, 1)[ok]
    y = u[..., order:].transpose(0, 2, 1)[ok]  # (M, C) targets, x (M, P * C) their pasts, lag 1 first
    coef = np.linalg.solve(x.T @ x + ridge * len(x) * np.eye(len(x.T)), x.T @ y)  # (P * C, C)
    ar = coef.T.reshape(c, order, c).transpose(1, 0, 2)  # (P, C_out, C_in)
    companion = np.eye(order * c, k=-c)
    companion[:c] = np.concatenate(list(ar), 1)
    radius = np.abs(np.linalg.eigvals(companion)).max()
    if radius > MAX_RHO:  # scaling lag j by s^j scales every root by s
        ar = ar * (MAX_RHO / radius) ** np.arange(1, order + 1)[:, None, None]
    eps = y - x @ np.concatenate(list(ar), 1).T
    return ar, np.linalg.cholesky(np.cov(eps.T) + 1e-5 * np.eye(c))
