"""Conditional VAE of body measurements: train with torch, sample with numpy alone.

x: (6,) standardised measurement features. c: (9,) = sex, 4 condition variables
(standardised, zeroed where not given), their 4 masks. Training drops each
condition variable but age at random, so one model serves every subset of conditions.
    encoder q(z | x, c): MLP(15 -> H -> H -> 2L)
    decoder p(x | z, c): MLP(L + 9 -> H -> H -> 27) = mean (6), Cholesky factor of the covariance
                         (6 log-diagonal + 15 below it), so correlated residuals need no latent
The condition variables are linear in x (`_constraints`), so the decoder's Gaussian is conditioned
on the given ones exactly (Gaussian conditioning on linear constraints), in training and sampling:
the likelihood is that of the free directions only. Given conditions then hold exactly and do not
swamp the loss with near-zero variances (which starved the fit of the unconditioned case).
Age is always a condition: where the user leaves it (or sex) open it is drawn from a training
subject near the given conditions (`MeasurementSampler.draw`), because the pooled surveys make
age bimodal and a Gaussian decoder on a few latents does not match that.
Sampling: fill open sex and age from the data, z ~ N(0, I), x ~ p(x | z, c, given conditions).
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
BANDWIDTH = 0.2  # kernel width for drawing open conditions, in standard deviations of each condition variable
_TRIL = np.tril_indices(6, -1)


@dataclass
class TrainConfig:
    steps: int = 20000
    batch: int = 512
    lr: float = 2e-3
    beta: float = 1.0
    keep_prob: float = 0.5  # chance that each condition variable but age is given during training
    p_uncond: float = 0.25  # chance that a row gets none but sex and age: the case the distribution tests sample
    seed: int = 0


def _cond_vector(sex: np.ndarray, cond: np.ndarray, mask: np.ndarray, stats: dict) -> np.ndarray:
    """(n,) sex, (n, 4) condition values, (n, 4) masks -> (n, 9) model condition."""
    c = (cond - stats["cond_mean"]) / stats["cond_std"] * mask
    return np.concatenate([sex[:, None].astype(np.float64), c, mask], axis=1)


def _constraints(stats: dict) -> tuple[np.ndarray, np.ndarray]:
    """(4, 6) A and (4,) a with standardised conditions = A x + a for standardised features x."""
    const = cond_features(np.zeros(6))
    lin = (cond_features(np.eye(6)) - const).T  # (4, 6): cond_features is affine
    a_feat, c_feat = lin * stats["x_std"], lin @ stats["x_mean"] + const
    return a_feat / stats["cond_std"][:, None], (c_feat - stats["cond_mean"]) / stats["cond_std"]


def train(feats: np.ndarray, sex: np.ndarray, cfg: TrainConfig, log=print) -> tuple[dict, dict]:
    """Train on (N, 6) features and (N,) sex; returns (numpy params, info)."""
    import torch
    from torch import nn

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    conds = cond_features(feats)
    stats = {"x_mean": feats.mean(0), "x_std": feats.std(0), "cond_mean": conds.mean(0), "cond_std": conds.std(0),
             "p_female": np.array([sex.mean()])}
    # The training subjects' sex and conditions ship with the decoder: open conditions are drawn from them.
    data = {"data_sex": sex.astype(np.int8), "data_cond": conds.astype(np.float32)}
    x_all = torch.tensor((feats - stats["x_mean"]) / stats["x_std"], dtype=torch.float32)
    lin = torch.tensor(_constraints(stats)[0], dtype=torch.float32)  # (4, 6)

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
        mask[:, 0] = 1.0  # age is always given at sampling time (drawn from the data when open)
        mask[mask[:, 1:].sum(1) == 3, 3] = 0.0  # stature, weight and BMI together over-determine x
        c = torch.tensor(_cond_vector(sex[idx], conds[idx], mask, stats), dtype=torch.float32)  # (B, 9)
        x = x_all[idx]  # (B, 6)
        mu_z, logvar_z = enc(torch.cat([x, c], 1)).chunk(2, 1)  # (B, L) each
        z = mu_z + torch.randn_like(mu_z) * (0.5 * logvar_z).exp()
        out = dec(torch.cat([z, c], 1))  # (B, 27)
        mu_x = out[:, :6]
        logvar_x = out[:, 6:12].clamp(LOGVAR_MIN, 2)
        chol = torch.diag_embed((0.5 * logvar_x).exp())  # (B, 6, 6) lower-triangular factor
        chol = chol.index_put((torch.arange(len(x))[:, None], tril[0], tril[1]), out[:, 12:])
        r = torch.linalg.solve_triangular(chol, (x - mu_x)[:, :, None], upper=False)[:, :, 0]  # (B, 6)
        joint = 0.5 * ((r**2).sum(1) + logvar_x.sum(1))
        # The given conditions' marginal: subtracting it leaves the likelihood of x given them.
        m = c[:, 5:]  # (B, 4) masks
        a = m[:, :, None] * lin  # (B, 4, 6); rows not given are zero, with unit variance below
        s = a @ chol @ chol.transpose(1, 2) @ a.transpose(1, 2) + torch.diag_embed(1 - m)
        s_chol = torch.linalg.cholesky(s)
        d = torch.linalg.solve_triangular(s_chol, (a @ (x - mu_x)[:, :, None]), upper=False)[:, :, 0]
        marginal = 0.5 * (d**2).sum(1) + torch.log(torch.diagonal(s_chol, dim1=1, dim2=2)).sum(1)
        nll = (joint - marginal).mean()
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
    params.update(data)
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

    def draw(self, sex: np.ndarray, cond: np.ndarray, mask: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fill open sex (-1) and open age (mask 0) of each row from one training subject, drawn with
        Gaussian kernel weights on the row's given conditions (uniformly when none is given) among
        those of the row's sex; returns new (sex, cond, mask) with age given everywhere."""
        sex, cond, mask = np.array(sex, dtype=np.int64), np.array(cond, dtype=np.float64), np.array(mask)
        data_sex, data_cond = self.p["data_sex"].astype(np.int64), self.p["data_cond"].astype(np.float64)
        width = BANDWIDTH * self.p["cond_std"]
        rows = np.flatnonzero((sex < 0) | (mask[:, 0] == 0))
        keys = np.column_stack([sex[rows], cond[rows] * mask[rows], mask[rows]])
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k, key in enumerate(uniq):  # usually one: a request repeats one condition
            s, c, m = int(key[0]), key[1:5], key[5:9]
            logw = -0.5 * (((data_cond - c) / width) ** 2 * m).sum(1)
            if s >= 0:
                logw[data_sex != s] = -np.inf
            w = np.exp(logw - logw.max())  # far outside the data this picks the nearest subjects
            r = rows[inverse == k]
            pick = rng.choice(len(w), size=len(r), p=w / w.sum())
            sex[r] = data_sex[pick]
            cond[r, 0] = np.where(mask[r, 0] > 0, cond[r, 0], data_cond[pick, 0])
        mask[:, 0] = 1.0
        return sex, cond, mask

    def sample(self, sex: np.ndarray, cond: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) sex, (n, 4) condition values, (n, 4) masks -> (n, 6) features (open sex: call `draw` first).

        At most two of stature, weight and BMI may be given (the third follows from them)."""
        sex, cond, mask = self.draw(sex, cond, mask, rng)
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
        # Condition the sample on the given variables: x += Sigma A^T (A Sigma A^T)^-1 (wanted - A x).
        lin, offset = _constraints(self.p)
        a = mask[:, :, None] * lin  # (n, 4, 6)
        sigma_at = chol @ chol.transpose(0, 2, 1) @ a.transpose(0, 2, 1)  # (n, 6, 4)
        s = a @ sigma_at + np.eye(4) * (1 - mask)[:, None, :]
        wanted = ((cond - self.p["cond_mean"]) / self.p["cond_std"] - offset) * mask
        gap = wanted - np.einsum("nij,nj->ni", a, x)
        x = x + np.einsum("nij,nj->ni", sigma_at, np.linalg.solve(s, gap[:, :, None])[:, :, 0])
        return x * self.p["x_std"] + self.p["x_mean"]
