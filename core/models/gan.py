"""Motion GAN / CGAN over whole clips.

The generator is the temporal-convolution `Decoder` fed with N(0, I) latents; the discriminator is
a spectrally normalised temporal convolution judging every latent-rate step of a clip, with a
projection on the labels (Miyato & Koyama 2018) in the conditional form. Trained with the hinge
loss, an R1 penalty on the discriminator, feature matching for the generator and an EMA of the
generator. The unconditional GAN is the same networks given the null label.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .temporal import ConvConfig


class Discriminator(nn.Module):
    """features (B, L, D) + labels -> realness per latent step (B, L / rate)."""

    def __init__(self, cfg: ConvConfig):
        super().__init__()
        w = cfg.widths[::-1]
        layers: list[nn.Module] = [spectral_norm(nn.Conv1d(cfg.dim, w[0], 3, padding=1)), nn.LeakyReLU(0.2)]
        for i in range(1, len(w)):
            layers += [spectral_norm(nn.Conv1d(w[i - 1], w[i], 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
                       spectral_norm(nn.Conv1d(w[i], w[i], 3, padding=1)), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = spectral_norm(nn.Linear(w[-1], 1))
        self.num_actions, self.num_styles = cfg.num_actions, cfg.num_styles
        self.action = spectral_norm(nn.Embedding(cfg.num_actions + 1, w[-1]))
        self.style = spectral_norm(nn.Embedding(cfg.num_styles + 1, w[-1]))

    def forward(self, x, action, style, features: bool = False):
        h = self.body(x.transpose(1, 2)).transpose(1, 2)  # (B, T, W)
        a = torch.where(action < 0, self.num_actions, action)
        s = torch.where(style < 0, self.num_styles, style)
        proj = (h * (self.action(a) + self.style(s))[:, None]).sum(-1)  # (B, T)
        logits = self.head(h)[..., 0] + proj
        return (logits, h) if features else logits


def hinge_d_loss(real_logits, fake_logits) -> torch.Tensor:
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits) -> torch.Tensor:
    return -fake_logits.mean()


def feature_matching(real_h, fake_h) -> torch.Tensor:
    """Squared distance between the mean discriminator features of real and generated clips
    (Salimans et al. 2016): pulls the generator towards the data's statistics, against collapse."""
    return ((real_h.detach().mean((0, 1)) - fake_h.mean((0, 1))) ** 2).mean()


def r1_penalty(disc: nn.Module, real, action, style) -> torch.Tensor:
    """Mean squared gradient norm of D's output at real clips (Mescheder et al. 2018): keeps the
    discriminator from sharpening without bound around the data."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(disc(real, action, style).sum(), real, create_graph=True)
    return grad.pow(2).sum((1, 2)).mean()
