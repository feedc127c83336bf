"""Motion VAE / CVAE over whole clips (in the spirit of ACTOR, with temporal convolutions).

The encoder maps a clip to a Gaussian posterior per latent step (one every `rate` frames); the
decoder maps latents and labels back to features. Sampling draws latents from N(0, I). The
conditional form (CVAE) gives both networks the action and style; the unconditional VAE is the same
networks always given the null label.
"""

from __future__ import annotations

import torch
from torch import nn

from .losses import masked_mse
from .temporal import ConvConfig, Decoder, Encoder


class MotionVAE(nn.Module):
    def __init__(self, cfg: ConvConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg, 2 * cfg.latent)
        self.decoder = Decoder(cfg)

    def forward(self, x, valid, action, style, noise):
        # x (B, L, D) with L a multiple of the rate; valid (B, L) bool; noise (B, latent, L / rate)
        lengths = valid.sum(1)  # (B,) frames of each clip: where its phase channels end
        mu, logvar = self.encoder(x * valid[..., None], action, style, lengths).chunk(2, dim=1)  # (B, latent, T)
        logvar = logvar.clamp(-10, 10)
        z = mu + (0.5 * logvar).exp() * noise
        return self.decoder(z, action, style, lengths), mu, logvar  # (B, L, D), ...


def vae_loss(recon, x, valid, mu, logvar, rate: int, kl_weight: float, free_bits: float, vel_weight: float):
    """Masked reconstruction MSE (+ velocity MSE) + kl_weight * KL per feature element.

    KL is in nats per latent step, spread over the rate * D feature elements that step decodes;
    free bits: each latent channel's mean KL counts as at least `free_bits`, so the optimiser gains
    nothing from pushing a channel below it (the latent stays in use). Returns (loss, rec, kl).
    """
    b, _, d = x.shape
    rec = masked_mse(recon, x, valid, vel_weight)
    steps = valid.reshape(b, -1, rate).any(-1).float()[:, None]  # (B, 1, T): latent steps with valid frames
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar) * steps  # (B, latent, T)
    per_channel = kl.sum((0, 2)) / steps.sum().clamp(min=1)  # (latent,) mean nats per step
    kl_step = torch.clamp(per_channel, min=free_bits).sum()
    return rec + kl_weight * kl_step / (rate * d), rec, per_channel.sum()

