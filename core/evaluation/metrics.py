"""Motion quality metrics, as defined in the literature, on plain arrays.

Feature metrics (on recognizer features, one row per clip):
- FID: Fréchet distance between Gaussian fits of two feature sets (Heusel et al. 2017).
- Precision and recall: the share of one set inside the other's k-nearest-neighbour manifold
  (Kynkäänniemi et al. 2019): fidelity and coverage apart.
- Inception Score: exp(E KL(p(y|x) || p(y))) of a classifier's probabilities (Salimans et al. 2016).
- Diversity: mean distance between random pairs of clips (Action2Motion, ACTOR).
- Multimodality: the same within each action label, averaged over labels.

Kinematic metrics (on global joint positions (F, J, 3), Y up, source units):
- foot skating rate, jitter (mean jerk), bone-length consistency.

Rotation metric (on local joint rotations (F, J, 4)): the fastest turn of any joint (pops).

In-betweening metrics (Harvey et al. 2020): L2P, L2Q, NPSS.
"""

from __future__ import annotations

import numpy as np

from ..motion.representation import PLANE, UP
from ..motion.rotations import quat_angle


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to features a (N, D) and b (M, D)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr(sqrt(Ca Cb)) = sum sqrt(eig(sqrt(Ca) Cb sqrt(Ca))), a symmetric PSD product: stable via eigh.
    w, v = np.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    tr_covmean = np.sqrt(np.clip(inner, 0, None)).sum()
    value = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_covmean
    return float(max(value, 0.0))  # round-off can make identical sets come out at -1e-10


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) Euclidean distances between the rows of a (N, D) and b (M, D)."""
    d2 = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.clip(d2, 0, None))


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of features fake (M, D) against real (N, D).

    A set's manifold is the union of balls around its rows, each reaching the row's k-th nearest
    neighbour in the set. Precision: share of fake rows inside the real manifold; recall: share of
    real rows inside the fake manifold. A set of copies of one clip has a manifold of radius 0.
    """

    def radii(x: np.ndarray) -> np.ndarray:
        d = _pairwise(x, x)
        return np.sort(d, axis=1)[:, min(k, len(x) - 1)]  # column 0 is the row itself

    cross = _pairwise(fake, real)  # (M, N)
    precision = (cross <= radii(real)[None]).any(1).mean()
    recall = (cross <= radii(fake)[:, None]).any(0).mean()
    return float(precision), float(recall)


def inception_score(probs: np.ndarray) -> float:
    """exp(mean over rows of KL(p(y|x) || p(y))) of class probabilities (N, C); 1 for a set of one class
    or of identical predictions, up to C for confident predictions spread evenly over C classes."""
    p = np.clip(probs, 1e-12, 1.0)
    marginal = p.mean(0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(1).mean()))


def diversity(features: np.ndarray, pairs: int = 200, seed: int = 0) -> float:
    """Mean L2 distance between `pairs` random pairs of rows (ACTOR uses 200)."""
    rng = np.random.default_rng(seed)
    n = len(features)
    if n < 2:
        return 0.0
    i = rng.integers(0, n, pairs)
    j = (i + rng.integers(1, n, pairs)) % n  # a different row
    return float(np.linalg.norm(features[i] - features[j], axis=-1).mean())


def multimodality(features: np.ndarray, labels: np.ndarray, pairs: int = 20, seed: int = 0) -> float:
    """Mean within-label diversity over labels that have at least two rows (ACTOR uses 20 pairs)."""
    values = [diversity(features[labels == c], pairs, seed) for c in np.unique(labels) if (labels == c).sum() >= 2]
    return float(np.mean(values)) if values else 0.0


def foot_skating_rate(
    positions: np.ndarray, feet: list[int], fps: float, height: float = 5.0, speed: float = 75.0
) -> float:
    """Fraction of (frame, foot) pairs where a foot is on the ground yet slides.

    positions (F, J, 3). A foot joint is on the ground when it is within `height`
    (source units, 5 cm) of the lowest height it reaches in the clip; it slides
    when its horizontal speed exceeds `speed` per second (75 cm/s, i.e. 2.5 cm a frame at
    30 fps, the threshold of the skating ratio in the literature). Only frames on
    the ground count in the denominator, so a clip that never touches is 0.
    """
    f = positions[:, feet]  # (F, K, 3)
    vel = np.linalg.norm(np.diff(f[..., PLANE], axis=0), axis=-1) * fps  # (F-1, K)
    h = f[..., UP]
    ground = (h - np.percentile(h, 2, axis=0))[1:] < height  # (F-1, K)
    if not ground.any():
        return 0.0
    return float((ground & (vel > speed)).sum() / ground.sum())


def root_speed(positions: np.ndarray, root: int, fps: float) -> float:
    """Mean horizontal speed of joint `root` (source units per second); positions (F, J, 3). Generated
    sets should travel as fast as the real clips they stand for (a walk that barely moves is no walk)."""
    if len(positions) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(positions[:, root][:, PLANE], axis=0), axis=-1).mean() * fps)


def jitter(positions: np.ndarray, fps: float) -> float:
    """Mean jerk magnitude (third derivative of positions), source units per s^3."""
    if len(positions) < 4:
        return 0.0
    jerk = np.diff(positions, n=3, axis=0) * fps**3
    return float(np.linalg.norm(jerk, axis=-1).mean())


def bone_length_error(positions: np.ndarray, parents: np.ndarray, rigid: np.ndarray | None = None) -> float:
    """Mean over bones of the std of bone length over time relative to its mean (0 = perfectly rigid)."""
    child = np.nonzero(parents >= 0)[0] if rigid is None else np.nonzero((parents >= 0) & rigid)[0]
    lengths = np.linalg.norm(positions[:, child] - positions[:, parents[child]], axis=-1)  # (F, B)
    mean = lengths.mean(0)
    ok = mean > 1e-6
    return float((lengths.std(0)[ok] / mean[ok]).mean()) if ok.any() else 0.0


def fastest_joint_turn(rotations: np.ndarray, fps: float) -> float:
    """Largest angle (degrees per second) that any joint's local rotation turns between two frames;
    `rotations` (F, J, 4) unit quaternions."""
    if len(rotations) < 2:
        return 0.0
    return float(np.degrees(quat_angle(rotations[1:], rotations[:-1])).max() * fps)


def l2p(pred: np.ndarray, true: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """L2P: mean over frames of the L2 norm of normalised global position errors.

    pred, true (N, T, J, 3) over the gap frames; mean/std (J*3,) from the training set.
    """
    n, t = pred.shape[:2]
    a = (pred.reshape(n, t, -1) - mean) / std
    b = (true.reshape(n, t, -1) - mean) / std
    return float(np.linalg.norm(a - b, axis=-1).mean())


def l2q(pred: np.ndarray, true: np.ndarray) -> float:
    """L2Q: mean over frames of the L2 norm of global quaternion differences.

    pred, true (N, T, J, 4); both are first put in the w >= 0 hemisphere (q and -q are one rotation).
    """

    def canon(q):
        return np.where(q[..., :1] < 0, -q, q)

    n, t = pred.shape[:2]
    return float(np.linalg.norm((canon(pred) - canon(true)).reshape(n, t, -1), axis=-1).mean())


def npss(pred: np.ndarray, true: np.ndarray) -> float:
    """Normalised Power Spectrum Similarity (Gopalakrishnan et al. 2019).

    pred, true (N, T, D) feature sequences (e.g. flattened global quaternions).
    Earth mover's distance between normalised power spectra per feature,
    weighted by each feature's share of the true power.
    """
    pf = np.abs(np.fft.fft(pred, axis=1)) ** 2  # (N, T, D)
    tf = np.abs(np.fft.fft(true, axis=1)) ** 2
    tot_t = tf.sum(axis=1, keepdims=True)
    tot_p = pf.sum(axis=1, keepdims=True)
    tn = tf / np.where(tot_t > 0, tot_t, 1)
    pn = pf / np.where(tot_p > 0, tot_p, 1)
    emd = np.abs(np.cumsum(pn, axis=1) - np.cumsum(tn, axis=1)).sum(axis=1)  # (N, D)
    power = tot_t[:, 0]  # (N, D)
    weights = power / np.where(power.sum() > 0, power.sum(), 1)
    return float((emd * weights).sum())
