"""Motion diffusion: a transformer denoiser that predicts the clean motion x0 (as MDM does),
conditioned on action, style and masked constraints (CondMDI-style), and a DDIM sampler.

Shapes: B batch, L frames, D features per frame (normalised learning representation).
Constraints: `known` (B, L, D) values and `mask` (B, L, D) in {0, 1}; the denoiser sees
them as input channels, and the sampler writes them into its estimate of x0 at every step,
so they hold exactly in the result. Label id -1 means "none" (the classifier-free null label).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DenoiserConfig:
    dim: int = 140  # D, features per frame
    num_actions: int = 25
    num_styles: int = 19
    patch: int = 4  # frames per token: a 120-frame window is 30 tokens (CPU-sized attention and MLPs)
    width: int = 192
    layers: int = 6
    heads: int = 4
    ff: int = 768
    dropout: float = 0.1
    max_tokens: int = 256  # longest window (in tokens) the positional table covers
    timesteps: int = 1000  # T of the training schedule

    def to_dict(self) -> dict:
        return asdict(self)


def cosine_alpha_bar(timesteps: int) -> torch.Tensor:
    """(T,) cumulative signal fraction alpha_bar_t of the cosine schedule (Nichol & Dhariwal), float64."""
    s = 0.008
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


def sinusoid(n: int, width: int) -> torch.Tensor:
    """(n, width) sinusoidal table for positions 0..n-1."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(n, width)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class Denoiser(nn.Module):
    """x_t, t, labels, constraints -> x0 estimate.

    Frames are grouped into tokens of `patch` frames; one condition token (time + action + style)
    is prepended, as in MDM; a zero-initialised temporal convolution after unpatching smooths
    across token borders.
    """

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        w, p, d = cfg.width, cfg.patch, cfg.dim
        self.inp = nn.Linear(3 * d * p, w)  # [x_t, known * mask, mask] of p frames
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.action = nn.Embedding(cfg.num_actions + 1, w)  # last row: null label
        self.style = nn.Embedding(cfg.num_styles + 1, w)
        self.register_buffer("pos", sinusoid(cfg.max_tokens + 1, w), persistent=False)
        self.register_buffer("tpos", sinusoid(cfg.timesteps, w), persistent=False)
        layer = nn.TransformerEncoderLayer(w, cfg.heads, cfg.ff, cfg.dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(w)
        self.out = nn.Linear(w, d * p)
        self.refine = nn.Conv1d(d, d, 5, padding=2)
        nn.init.zeros_(self.refine.weight)
        nn.init.zeros_(self.refine.bias)

    def forward(self, x_t, t, action, style, known, mask, valid=None):
        # x_t, known, mask: (B, L, D); t, action, style: (B,) long (label -1 = none); valid: (B, L) bool or None
        b, n, d = x_t.shape
        p = self.cfg.patch
        n_tok = -(-n // p)
        if n_tok > self.cfg.max_tokens:
            raise ValueError(f"window of {n} frames exceeds the model's {self.cfg.max_tokens * p}")
        a = torch.where(action < 0, self.cfg.num_actions, action)
        s = torch.where(style < 0, self.cfg.num_styles, style)
        cond = self.time(self.tpos[t]) + self.action(a) + self.style(s)  # (B, W)
        h = torch.cat([x_t, known * mask, mask], dim=-1)  # (B, L, 3D)
        if valid is not None:  # padded frames look exactly like the zero padding of a sequence's end
            h = h * valid[..., None]
        h = F.pad(h, (0, 0, 0, n_tok * p - n)).reshape(b, n_tok, p * 3 * d)  # (B, N, P*3D)
        h = torch.cat([cond[:, None], self.inp(h)], dim=1) + self.pos[: n_tok + 1]  # (B, 1 + N, W)
        pad = None
        if valid is not None:
            tok_valid = F.pad(valid, (0, n_tok * p - n)).reshape(b, n_tok, p).any(-1)  # (B, N)
            pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=h.device), ~tok_valid], dim=1)  # True: ignore
        h = self.encoder(h, src_key_padding_mask=pad)
        x0 = self.out(self.norm(h[:, 1:])).reshape(b, n_tok * p, d)[:, :n]  # (B, L, D)
        if valid is not None:
            x0 = x0 * valid[..., None]
        return x0 + self.refine(x0.transpose(1, 2)).transpose(1, 2)


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class Diffusion:
    """The forward process and the samplers around a `Denoiser`."""

    def __init__(self, model: Denoiser):
        self.model = model
        self.alpha_bar = cosine_alpha_bar(model.cfg.timesteps)  # (T,) float64

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise; x0, noise (B, L, D), t (B,)."""
        ab = self.alpha_bar.to(x0.device)[t].to(x0.dtype)[:, None, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def _x0(self, x_t, t, action, style, known, mask, guidance, window, overlap, impute: bool = True):
        """Guided x0 estimate of a whole sequence (B, L, D), constraints written in (unless not `impute`).

        Sequences longer than `window` are cut into windows overlapping by `overlap` frames,
        denoised as one batch, and blended back with linear cross-fades (MultiDiffusion), so
        every step sees one consistent sequence and no seam forms. Guidance: uncond + g (cond -
        uncond), the unconditional branch keeping the constraints.
        """
        b, n, _ = x_t.shape
        starts = window_starts(n, window, overlap)
        w = min(n, window)
        cut = lambda v: torch.cat([v[:, s : s + w] for s in starts])  # noqa: E731  (B*K, w, ...)
        xs, ks, ms = cut(x_t), cut(known), cut(mask)
        a, s_ = action.repeat(len(starts)), style.repeat(len(starts))
        tt = torch.full((xs.shape[0],), t, device=x_t.device, dtype=torch.long)
        if guidance == 1.0 or bool(((action < 0) & (style < 0)).all()):
            x0 = self.model(xs, tt, a, s_, ks, ms)
        else:
            none = torch.full_like(a, -1)
            both = self.model(torch.cat([xs, xs]), torch.cat([tt, tt]), torch.cat([a, none]), torch.cat([s_, none]),
                              torch.cat([ks, ks]), torch.cat([ms, ms]))
            cond, uncond = both.float().chunk(2)
            x0 = uncond + guidance * (cond - uncond)
        x0 = x0.float().reshape(len(starts), b, w, -1)  # (K, B, w, D)
        if len(starts) == 1:
            out = x0[0]
        else:
            ramp = blend_weights(w, overlap).to(x_t.device)  # (w,)
            out = torch.zeros_like(x_t)
            total = torch.zeros(n, device=x_t.device)
            for k, s in enumerate(starts):
                wk = ramp.clone()
                if k == 0:
                    wk[: w // 2] = 1  # the sequence's own ends are not faded
                if k == len(starts) - 1:
                    wk[w // 2 :] = 1
                out[:, s : s + w] += x0[k] * wk[None, :, None]
                total[s : s + w] += wk
            out = out / total[None, :, None]
        return known * mask + out * (1 - mask) if impute else out  # constraints hold exactly in the estimate

    @torch.no_grad()
    def sample(
        self,
        shape: tuple[int, int, int],
        action: torch.Tensor,
        style: torch.Tensor,
        known: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        steps: int = 10,
        guidance: float = 2.5,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        ddpm: bool = False,
        window: int = 120,
        overlap: int = 30,
        callback: Callable[[int, int], None] | None = None,
        impute_last: bool = True,
        project: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """(B, L, D) sample of any length L. DDIM (eta 0: deterministic given the start noise) over
        `steps` evenly spaced timesteps; with `ddpm` the ancestral sampler over all T steps (MDM's
        default), for comparison. Noise is drawn on the CPU from `generator` (or x_T given as `noise`),
        so a seed gives the same motion on every device. Without `impute_last` the result is the
        network's own last estimate, constrained entries included (where it misses them tells how far
        its motion is offset from the constraints). `project` maps every x0 estimate (B, L, D) to one
        that meets a constraint the masks cannot state (a root path's end, `core.models.root_target`)."""
        dev = action.device
        num_t = self.model.cfg.timesteps
        known = torch.zeros(shape, device=dev) if known is None else known
        mask = torch.zeros(shape, device=dev) if mask is None else mask
        x = torch.randn(shape, generator=generator).to(dev) if noise is None else noise  # x_T
        ab = self.alpha_bar.tolist()
        ts = list(range(num_t - 1, -1, -1)) if ddpm else sorted({round(v) for v in
                                                                 torch.linspace(num_t - 1, 0, steps).tolist()},
                                                                reverse=True)
        for i, t in enumerate(ts):
            prev = ts[i + 1] if i + 1 < len(ts) else -1
            x0 = self._x0(x, t, action, style, known, mask, guidance, window, overlap, impute_last or prev >= 0)
            if project is not None:
                x0 = project(x0)
            ab_t, ab_p = ab[t], (ab[prev] if prev >= 0 else 1.0)
            if prev < 0:
                x = x0
            elif ddpm:  # posterior q(x_{t-1} | x_t, x0)
                beta = 1 - ab_t / ab_p
                mean = (math.sqrt(ab_p) * beta * x0 + math.sqrt(1 - beta) * (1 - ab_p) * x) / (1 - ab_t)
                var = beta * (1 - ab_p) / (1 - ab_t)
                x = mean + math.sqrt(var) * torch.randn(shape, generator=generator).to(dev)
            else:
                eps = (x - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
                x = math.sqrt(ab_p) * x0 + math.sqrt(1 - ab_p) * eps
            if callback is not None:
                callback(i + 1, len(ts))
        return x


def window_starts(n: int, window: int, overlap: int) -> list[int]:
    """First frames of the windows covering n frames, consecutive ones overlapping by at least `overlap`."""
    if n <= window:
        return [0]
    hop = window - overlap
    k = math.ceil((n - window) / hop) + 1
    return [round(i * (n - window) / (k - 1)) for i in range(k)]


def blend_weights(window: int, overlap: int) -> torch.Tensor:
    """(window,) cross-fade weights: ramps up over the first `overlap` frames and down over the last."""
    i = torch.arange(window, dtype=torch.float32)
    up = ((i + 1) / (overlap + 1)).clamp(max=1)
    return torch.minimum(up, up.flip(0))
