"""Conditional VAE of body measurements: train with torch, sample with numpy alone.

x: (6,) standardised measurement features. c: (9,) = sex, 4 condition variables
(standardised, zeroed where not given), their 4 masks. Training drops each
condition variable at random, so one model serves every subset of conditions.
    encoder q(z | x, c): MLP(15 -> H -> H -> 2L)
    decoder p(x | z, c): MLP(L + 9 -> H -> H -> 27) = mean (6), Cholesky factor of the covariance
                         (6 log-diagonal + 15 below it), so correlated residuals need no latent
Sampling: z ~ N(0, I), x ~ p(x | z, c).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .conditions import cond_features

LATENT = 4
HIDDEN = 128
COND_DIM = 9
LOGVAR_MIN = -7.0  # std 0.03 of a feature: ~0.3 cm of stature
OUT_DIM = 6 + 6 + 15
_TRIL = np.tril_indices(6, -1)


@dataclass
class TrainConfig:
    steps: int = 20000
    batch: int = 512
    lr: float = 2e-3
    beta: float = 1.0
    keep_prob: float = 0.5  # chance that each condition variable is given during training
    p_uncond: float = 0.25  # chance that a row gets none (sex only): the case the distribution tests sample
    seed: int = 0


def _cond_vector(sex: np.ndarray, cond: np.ndarray, mask: np.ndarray, stats: dict) -> np.ndarray:
    """(n,) sex, (n, 4) condition values, (n, 4) masks -> (n, 9) model condition."""
    c = (cond - stats["cond_mean"]) / stats["cond_std"] * mask
    return np.concatenate([sex[:, None].astype(np.float64), c, mask], axis=1)


def train(feats: np.ndarray, sex: np.ndarray, cfg: TrainConfig, log=print) -> tuple[dict, dict]:
    """Train on (N, 6) features and (N,) sex; returns (numpy params, info)."""
    import torch
    from torch import nn

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    conds = cond_features(feats)
    stats = {"x_mean": feats.mean(0), "x_std": feats.std(0), "cond_mean": conds.mean(0), "cond_std": conds.std(0),
             "p_female": np.array([sex.mean()])}
    x_all = torch.tensor((feats - stats["x_mean"]) / stats["x_std"], dtype=torch.float32)

    def mlp(d_in: int, d_out: int) -> nn.Sequential:
        return nn.Sequential(nn.Linear(d_in, HIDDEN), nn.SiLU(), nn.Linear(HIDDEN, HIDDEN), nn.SiLU(),
                             nn.Linear(HIDDEN, d_out))

    enc, dec = mlp(6 + COND_DIM, 2 * LATENT), mlp(LATENT + COND_DIM, OUT_DIM)
    tril = torch.tensor(np.stack(_TRIL))
    opt = torch.optim.AdamW([*enc.parameters(), *dec.parameters()], lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    t0 = time.time()
    for step in range(cfg.steps):
        idx = rng.integers(0, len(feats), cfg.batch)
        mask = (rng.random((cfg.batch, 4)) < cfg.keep_prob).astype(np.float64)
        mask[rng.random(cfg.batch) < cfg.p_uncond] = 0.0
        c = torch.tensor(_cond_vector(sex[idx], conds[idx], mask, stats), dtype=torch.float32)  # (B, 9)
        x = x_all[idx]  # (B, 6)
        mu_z, logvar_z = enc(torch.cat([x, c], 1)).chunk(2, 1)  # (B, L) each
        z = mu_z + torch.randn_like(mu_z) * (0.5 * logvar_z).exp()
        out = dec(torch.cat([z, c], 1))  # (B, 27)
        mu_x = out[:, :6]
        logvar_x = out[:, 6:12].clamp(LOGVAR_MIN, 2)  # a floor keeps given conditions from swamping the loss
        chol = torch.diag_embed((0.5 * logvar_x).exp())  # (B, 6, 6) lower-triangular factor
        chol = chol.index_put((torch.arange(len(x))[:, None], tril[0], tril[1]), out[:, 12:])
        r = torch.linalg.solve_triangular(chol, (x - mu_x)[:, :, None], upper=False)[:, :, 0]  # (B, 6)
        nll = 0.5 * ((r**2).sum(1) + logvar_x.sum(1)).mean()
        kl = 0.5 * (mu_z**2 + logvar_z.exp() - 1 - logvar_z).sum(1).mean()
        loss = nll + cfg.beta * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 2000 == 0 or step == cfg.steps - 1:
            log(f"step {step:6d}  nll {nll.item():8.4f}  kl {kl.item():7.4f}")
    params = {f"dec.{k}": v.detach().numpy().astype(np.float32) for k, v in dec.state_dict().items()}
    params.update({k: np.asarray(v, dtype=np.float64) for k, v in stats.items()})
    return params, {"steps": cfg.steps, "wall_s": time.time() - t0, "final_nll": nll.item(), "final_kl": kl.item()}


class MeasurementSampler:
    """The trained decoder in numpy: (sex, condition) -> measurement features."""

    def __init__(self, params: dict):
        self.p = params
        self.layers = [(params[f"dec.{i}.weight"].astype(np.float64), params[f"dec.{i}.bias"].astype(np.float64))
                       for i in (0, 2, 4)]

    @staticmethod
    def load(path: Path) -> MeasurementSampler:
        with np.load(path) as f:
            return MeasurementSampler({k: f[k] for k in f.files})

    def save(self, path: Path) -> None:
        np.savez(path, **self.p)

    @property
    def p_female(self) -> float:
        return float(self.p["p_female"][0])

    def sample(self, sex: np.ndarray, cond: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) sex, (n, 4) condition values, (n, 4) masks -> (n, 6) features."""
        h = np.concatenate([rng.standard_normal((len(sex), LATENT)), _cond_vector(sex, cond, mask, self.p)], 1)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < 2:
                h = h / (1 + np.exp(-h))  # SiLU
        mu, logvar = h[:, :6], np.clip(h[:, 6:12], LOGVAR_MIN, 2)
        chol = np.zeros((len(h), 6, 6))
        chol[:, np.arange(6), np.arange(6)] = np.exp(0.5 * logvar)
        chol[:, _TRIL[0], _TRIL[1]] = h[:, 12:]
        x = mu + np.einsum("nij,nj->ni", chol, rng.standard_normal(mu.shape))
        return x * self.p["x_std"] + self.p["x_mean"]
