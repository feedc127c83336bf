"""The controller network: a per-frame conditional VAE (Motion VAE style, Ling et al. 2020).

    encoder(x_t, x_t+1)                      -> mu, logvar          (training only)
    decoder(z, x_t, control, style, action)  -> x_t+1               (normalised features, D = 140)

`control` is the desired root trajectory (`core/control/trajectory.py`). Label id -1 means "none"
(embedding row 0). The live controller steps with the decoder's numpy twin (`core/runtime/controller.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .trajectory import CONTROL_DIM, METRE


@dataclass
class ControllerConfig:
    dim: int = 140
    num_actions: int = 25
    num_styles: int = 19
    latent: int = 32
    hidden: int = 256
    emb: int = 16

    def to_json(self) -> dict:
        return asdict(self)


def control_vector_torch(pos: torch.Tensor, yaw: torch.Tensor, fut_pos: torch.Tensor, fut_yaw: torch.Tensor):
    """Torch twin of `trajectory.control_vector` (training rollouts): (B, 2), (B,), (B, K, 2), (B, K) -> (B, 4K)."""
    d = (fut_pos - pos[:, None]) / METRE
    c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
    lx = c * d[..., 0] - s * d[..., 1]
    lz = s * d[..., 0] + c * d[..., 1]
    dy = fut_yaw - yaw[:, None]
    return torch.stack([lx, lz, torch.sin(dy), torch.cos(dy)], -1).flatten(1)


class _Gated(nn.Module):
    """MLP whose every layer also sees z (as in Motion VAE's decoder), so the latent is not ignored."""

    def __init__(self, d_in: int, d_z: int, hidden: int, d_out: int, layers: int):
        super().__init__()
        dims = [d_in] + [hidden] * layers
        self.layers = nn.ModuleList(nn.Linear(a + d_z, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.out = nn.Linear(hidden + d_z, d_out)

    def forward(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        for lin in self.layers:
            h = torch.nn.functional.elu(lin(torch.cat([h, z], -1)))
        return self.out(torch.cat([h, z], -1))


class ControllerNet(nn.Module):
    def __init__(self, cfg: ControllerConfig):
        super().__init__()
        self.cfg = cfg
        d, h = cfg.dim, cfg.hidden
        self.encoder = nn.Sequential(nn.Linear(2 * d, h), nn.ELU(), nn.Linear(h, h), nn.ELU(),
                                     nn.Linear(h, 2 * cfg.latent))
        self.style = nn.Embedding(cfg.num_styles + 1, cfg.emb)
        self.action = nn.Embedding(cfg.num_actions + 1, cfg.emb)
        self.decoder = _Gated(d + CONTROL_DIM + 2 * cfg.emb, cfg.latent, h, d, 3)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(torch.cat([x, y], -1)).chunk(2, -1)
        return mu, logvar.clamp(-8, 8)

    def decode(self, z: torch.Tensor, x: torch.Tensor, control: torch.Tensor, style: torch.Tensor,
               action: torch.Tensor) -> torch.Tensor:
        """z (B, latent), x (B, D), control (B, C), style/action (B,) ids or -1 -> next frame (B, D).

        Predicts the change from x: most features move little per frame."""
        cond = torch.cat([x, control, self.style(style + 1), self.action(action + 1)], -1)
        return x + self.decoder(cond, z)
