"""Temporal convolutional networks of the VAE and GAN families.

A decoder maps a latent sequence (one latent step per 2**stages frames) and the labels to motion
features; an encoder maps motion to a sequence at the latent rate. Both are fully convolutional,
so one network serves any clip length, and both are small enough to sample a clip in milliseconds
on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime.decoder import latent_rate
from ..runtime.nn import phase_channels


@dataclass
class ConvConfig:
    dim: int = 140  # features per frame
    num_actions: int = 25
    num_styles: int = 19
    latent: int = 32  # latent channels per latent step
    widths: tuple[int, ...] = (192, 128, 96, 64)  # channels at the latent rate, then after each x2 resampling
    blocks: int = 2  # residual blocks per resolution
    kernel: int = 3
    label_width: int = 64
    phase: int = 0  # sin/cos pairs telling both networks where in the clip each step is (0: none, older weights)

    def __post_init__(self) -> None:
        self.widths = tuple(self.widths)  # JSON gives lists

    @property
    def rate(self) -> int:
        """Frames per latent step."""
        return latent_rate(self.widths)

    def to_dict(self) -> dict:
        return asdict(self)


class Labels(nn.Module):
    """Action + style embedding (label -1 = none: the last row)."""

    def __init__(self, cfg: ConvConfig):
        super().__init__()
        self.num_actions, self.num_styles = cfg.num_actions, cfg.num_styles
        self.action = nn.Embedding(cfg.num_actions + 1, cfg.label_width)
        self.style = nn.Embedding(cfg.num_styles + 1, cfg.label_width)

    def forward(self, action, style):  # (B,) long each -> (B, label_width)
        a = torch.where(action < 0, self.num_actions, action)
        s = torch.where(style < 0, self.num_styles, style)
        return self.action(a) + self.style(s)


def with_phase(h: torch.Tensor, lengths, rate: int, pairs: int) -> torch.Tensor:
    """h (B, C, T) with the phase channels of clips of `lengths` (B,) frames appended: (B, C + 2 * pairs, T)."""
    if not pairs:
        return h
    lengths = torch.as_tensor(lengths).cpu().numpy() if lengths is not None else [h.shape[-1] * rate] * len(h)
    ph = torch.from_numpy(phase_channels(lengths, h.shape[-1], rate, pairs)).to(h)
    return torch.cat([h, ph], 1)


class ResBlock(nn.Module):
    """x + conv(silu(norm(conv(silu(norm(x))) + label bias)))."""

    def __init__(self, ch: int, label_width: int, k: int):
        super().__init__()
        self.n1, self.n2 = nn.GroupNorm(8, ch), nn.GroupNorm(8, ch)
        self.c1, self.c2 = nn.Conv1d(ch, ch, k, padding=k // 2), nn.Conv1d(ch, ch, k, padding=k // 2)
        self.cond = nn.Linear(label_width, ch)

    def forward(self, x, c):  # x (B, C, T), c (B, label_width)
        h = self.c1(F.silu(self.n1(x))) + self.cond(c)[..., None]
        return x + self.c2(F.silu(self.n2(h)))


class Decoder(nn.Module):
    """z (B, latent, T) + labels -> features (B, T * rate, dim)."""

    def __init__(self, cfg: ConvConfig):
        super().__init__()
        self.cfg = cfg
        w, k, lw = cfg.widths, cfg.kernel, cfg.label_width
        self.labels = Labels(cfg)
        self.inp = nn.Conv1d(cfg.latent + 2 * cfg.phase, w[0], 1)
        self.stages = nn.ModuleList()
        for i, ch in enumerate(w):
            change = nn.Identity() if i == 0 else nn.Conv1d(w[i - 1], ch, k, padding=k // 2)
            self.stages.append(nn.ModuleList([change, *(ResBlock(ch, lw, k) for _ in range(cfg.blocks))]))
        self.out = nn.Sequential(nn.GroupNorm(8, w[-1]), nn.SiLU(), nn.Conv1d(w[-1], cfg.dim, 1))

    def forward(self, z, action, style, lengths=None):
        # lengths (B,): each clip's frames (default: all T * rate), which the phase channels measure
        c = self.labels(action, style)
        h = self.inp(with_phase(z, lengths, self.cfg.rate, self.cfg.phase))  # (B, w0, T)
        for i, (change, *blocks) in enumerate(self.stages):
            if i:
                # linear, not nearest: latent steps blend instead of jumping at their borders
                h = change(F.interpolate(h, scale_factor=2.0, mode="linear"))  # (B, w_i, T * 2**i)
            for block in blocks:
                h = block(h, c)
        return self.out(h).transpose(1, 2)  # (B, T * rate, dim)


class Encoder(nn.Module):
    """features (B, L, dim) + labels -> (B, out, L / rate); L a multiple of the rate."""

    def __init__(self, cfg: ConvConfig, out: int):
        super().__init__()
        w, k, lw = cfg.widths[::-1], cfg.kernel, cfg.label_width
        self.labels = Labels(cfg)
        self.cfg = cfg
        self.inp = nn.Conv1d(cfg.dim + 2 * cfg.phase, w[0], 1)
        self.stages = nn.ModuleList()
        for i, ch in enumerate(w):
            change = nn.Identity() if i == 0 else nn.Conv1d(w[i - 1], ch, 4, stride=2, padding=1)
            self.stages.append(nn.ModuleList([change, *(ResBlock(ch, lw, k) for _ in range(cfg.blocks))]))
        self.out = nn.Sequential(nn.GroupNorm(8, w[-1]), nn.SiLU(), nn.Conv1d(w[-1], out, 1))

    def forward(self, x, action, style, lengths=None):
        c = self.labels(action, style)
        h = self.inp(with_phase(x.transpose(1, 2), lengths, 1, self.cfg.phase))  # (B, w0, L)
        for change, *blocks in self.stages:
            h = change(h)  # halves the length after the first stage
            for block in blocks:
                h = block(h, c)
        return self.out(h)  # (B, out, L / rate)


class TorchDecoder:
    """A `Decoder` as the generator calls it: state dict and config in, numpy latents and labels in,
    numpy features out (the numpy twin: `core.runtime.decoder.NumpyDecoder`)."""

    def __init__(self, state: dict, arch: dict, device: str = "cpu"):
        self.model = Decoder(ConvConfig(**arch))
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        self.model.to(device).eval()
        self.device = device

    @torch.no_grad()
    def __call__(self, z, action, style, lengths=None):
        arg = lambda v: torch.from_numpy(v).to(self.device)  # noqa: E731
        return self.model(arg(z), arg(action), arg(style), lengths).float().cpu().numpy()
