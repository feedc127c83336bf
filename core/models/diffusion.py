"""Motion diffusion: a transformer denoiser that predicts the clean motion x0 (as MDM does),
conditioned on action, style and masked constraints (CondMDI-style); the forward process for
training. Sampling is `core/models/sampler.py` (numpy, shared with the torch-free runtime).

Shapes: B batch, L frames, D features per frame (normalised learning representation).
Constraints: `known` (B, L, D) values and `mask` (B, L, D) in {0, 1}; the denoiser sees
them as input channels, and the sampler writes them into its estimate of x0 at every step,
so they hold exactly in the result. Label id -1 means "none" (the classifier-free null label).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..runtime.nn import sinusoid
from .sampler import cosine_alpha_bar


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
    whole_takes: bool = False  # a condition flag: a whole take (from rest, back to rest) or an excerpt of one
    self_condition: bool = False  # the previous step's x0 estimate is an input (Chen et al., Analog Bits)
    frame_head: int = 0  # channels of a head at frame resolution beside the token output (0: none)

    def to_dict(self) -> dict:
        return asdict(self)


class Denoiser(nn.Module):
    """x_t, t, labels, constraints -> x0 estimate.

    Frames are grouped into tokens of `patch` frames; one condition token (time + action + style,
    + whole take or excerpt) is prepended, as in MDM; a zero-initialised temporal convolution after
    unpatching smooths across token borders.

    A token's `width` numbers are all the unpatching linear layer has for its `patch` frames of `dim`
    features, so detail within a token is lost even where x_t holds it. The frame head (`frame_head` > 0)
    adds detail per frame from each frame's own inputs and its token's features, modulated by the
    condition (time and labels); its output layer starts at zero, so it starts as the token model.
    """

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        w, p, d = cfg.width, cfg.patch, cfg.dim
        inputs = 4 if cfg.self_condition else 3  # [x_t, known * mask, mask (, previous x0)] of p frames
        self.inp = nn.Linear(inputs * d * p, w)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.action = nn.Embedding(cfg.num_actions + 1, w)  # last row: null label
        self.style = nn.Embedding(cfg.num_styles + 1, w)
        self.take = nn.Embedding(2, w) if cfg.whole_takes else None  # row 0: excerpt, 1: whole take
        self.register_buffer("pos", torch.from_numpy(sinusoid(cfg.max_tokens + 1, w)), persistent=False)
        self.register_buffer("tpos", torch.from_numpy(sinusoid(cfg.timesteps, w)), persistent=False)
        layer = nn.TransformerEncoderLayer(w, cfg.heads, cfg.ff, cfg.dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(w)
        self.out = nn.Linear(w, d * p)
        self.refine = nn.Conv1d(d, d, 5, padding=2)
        nn.init.zeros_(self.refine.weight)
        nn.init.zeros_(self.refine.bias)
        if cfg.frame_head:
            self.frame_in = nn.Conv1d(inputs * d + w, cfg.frame_head, 1)
            self.frame_film = nn.Linear(w, 2 * cfg.frame_head)
            self.frame_out = nn.Conv1d(cfg.frame_head, d, 3, padding=1)
            nn.init.zeros_(self.frame_out.weight)
            nn.init.zeros_(self.frame_out.bias)

    def forward(self, x_t, t, action, style, known, mask, valid=None, whole=None, prev=None):
        # x_t, known, mask: (B, L, D); t, action, style: (B,) long (label -1 = none); valid: (B, L) bool or None;
        # whole: (B,) bool, the clip is a whole take (None: excerpts); prev: (B, L, D) the previous step's
        # x0 estimate (self-conditioned networks; None: zeros, the first step)
        b, n, d = x_t.shape
        p = self.cfg.patch
        n_tok = -(-n // p)
        if n_tok > self.cfg.max_tokens:
            raise ValueError(f"window of {n} frames exceeds the model's {self.cfg.max_tokens * p}")
        a = torch.where(action < 0, self.cfg.num_actions, action)
        s = torch.where(style < 0, self.cfg.num_styles, style)
        cond = self.time(self.tpos[t]) + self.action(a) + self.style(s)  # (B, W)
        if self.take is not None:
            cond = cond + self.take(torch.zeros_like(t) if whole is None else whole.long())
        h = [x_t, known * mask, mask]
        if self.cfg.self_condition:
            h.append(torch.zeros_like(x_t) if prev is None else prev)
        frames = torch.cat(h, dim=-1)  # (B, L, kD), k = 3 or 4 inputs
        if valid is not None:  # padded frames look exactly like the zero padding of a sequence's end
            frames = frames * valid[..., None]
        h = F.pad(frames, (0, 0, 0, n_tok * p - n)).reshape(b, n_tok, -1)  # (B, N, P*kD)
        h = torch.cat([cond[:, None], self.inp(h)], dim=1) + self.pos[: n_tok + 1]  # (B, 1 + N, W)
        pad = None
        if valid is not None:
            tok_valid = F.pad(valid, (0, n_tok * p - n)).reshape(b, n_tok, p).any(-1)  # (B, N)
            pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=h.device), ~tok_valid], dim=1)  # True: ignore
        h = self.norm(self.encoder(h, src_key_padding_mask=pad)[:, 1:])  # (B, N, W)
        x0 = self.out(h).reshape(b, n_tok * p, d)[:, :n]  # (B, L, D)
        if self.cfg.frame_head:
            u = torch.cat([frames, h.repeat_interleave(p, dim=1)[:, :n]], dim=-1).transpose(1, 2)  # (B, kD + W, L)
            scale, shift = self.frame_film(cond)[..., None].chunk(2, dim=1)  # (B, H, 1) each
            u = F.silu(self.frame_in(u) * (1 + scale) + shift)  # (B, H, L)
            if valid is not None:  # padded frames are the zero padding of the convolution, as past a clip's end
                u = u * valid[:, None]
            x0 = x0 + self.frame_out(u).transpose(1, 2)
        if valid is not None:
            x0 = x0 * valid[..., None]
        return x0 + self.refine(x0.transpose(1, 2)).transpose(1, 2)


class Diffusion:
    """The forward process around a `Denoiser` (training)."""

    def __init__(self, model: Denoiser):
        self.model = model
        self.alpha_bar = torch.from_numpy(cosine_alpha_bar(model.cfg.timesteps))  # (T,) float64

    def q_sample(self, x0, t, noise):
        """x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise; x0, noise (B, L, D), t (B,)."""
        ab = self.alpha_bar.to(x0.device)[t].to(x0.dtype)[:, None, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


class TorchDenoiser:
    """A `Denoiser` as the sampler calls it (`core.models.sampler.Denoise`): numpy in, numpy out, run on
    its module's device (bfloat16 autocast on CUDA)."""

    def __init__(self, model: Denoiser):
        self.model = model.eval()
        self.device = next(model.parameters()).device

    @torch.no_grad()
    def __call__(self, x_t, t, action, style, known, mask, whole, prev=None):
        dev = self.device
        arg = lambda v: None if v is None else torch.from_numpy(np.ascontiguousarray(v)).to(dev)  # noqa: E731
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            x0 = self.model(arg(x_t), arg(t), arg(action), arg(style), arg(known), arg(mask), whole=arg(whole),
                            prev=arg(prev))
        return x0.float().cpu().numpy()


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
