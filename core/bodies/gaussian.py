"""The baseline: one multivariate Gaussian per sex over the measurement features, conditioned exactly.

The condition variables are linear in the features (log BMI = log w - 2 log h + const),
so conditioning on any subset is the usual Schur complement on the joint
Gaussian of (features, log BMI), whose covariance is singular: pinv handles it.
"""

from __future__ import annotations

import numpy as np

from .conditions import cond_features

# (6 features + log BMI) rows; condition variable k lives at index _COND_IDX[k].
_COND_IDX = (0, 1, 2, 6)


class ConditionalGaussian:
    def __init__(self, mean: np.ndarray, cov: np.ndarray):
        self.mean = mean  # (2, 7) per sex
        self.cov = cov  # (2, 7, 7)

    @staticmethod
    def fit(feats: np.ndarray, sex: np.ndarray) -> ConditionalGaussian:
        aug = np.concatenate([feats, cond_features(feats)[:, 3:]], axis=1)  # (N, 7)
        mean = np.stack([aug[sex == s].mean(0) for s in (0, 1)])
        cov = np.stack([np.cov(aug[sex == s].T) for s in (0, 1)])
        return ConditionalGaussian(mean, cov)

    def sample(self, sex: int, cond: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n, 6) features for sex `sex` given (4,) condition values where (4,) mask is 1."""
        n = cond.shape[0]
        given = [_COND_IDX[k] for k in range(4) if mask[0, k] > 0]
        free = [i for i in range(7) if i not in given]
        mu, cov = self.mean[sex], self.cov[sex]
        out = np.empty((n, 7))
        if given:
            a = cond[:, [k for k in range(4) if mask[0, k] > 0]]  # (n, G)
            gain = cov[np.ix_(free, given)] @ np.linalg.pinv(cov[np.ix_(given, given)])
            m = mu[free] + (a - mu[given]) @ gain.T
            c = cov[np.ix_(free, free)] - gain @ cov[np.ix_(given, free)]
            out[:, given] = a
        else:
            m, c = np.broadcast_to(mu, (n, 7)), cov
        w, v = np.linalg.eigh((c + c.T) / 2)
        out[:, free] = m + (rng.standard_normal((n, len(free))) * np.sqrt(np.clip(w, 0, None))) @ v.T
        return out[:, :6]

    def log_likelihood(self, feats: np.ndarray, sex: np.ndarray) -> np.ndarray:
        """(N,) log density of the 6 features (no conditions)."""
        out = np.empty(len(feats))
        for s in (0, 1):
            d = feats[sex == s] - self.mean[s, :6]
            c = self.cov[s, :6, :6]
            _, logdet = np.linalg.slogdet(c)
            out[sex == s] = -0.5 * (np.einsum("ni,ij,nj->n", d, np.linalg.inv(c), d) + logdet + 6 * np.log(2 * np.pi))
        return out
