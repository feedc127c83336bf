"""Metrics on synthetic cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.metrics import (
    bone_length_error,
    diversity,
    fid,
    foot_skating_rate,
    jitter,
    l2p,
    l2q,
    multimodality,
    npss,
)

rng = np.random.default_rng(0)


def test_fid_identical_sets_is_zero_and_grows_with_shift():
    a = rng.normal(size=(500, 8))
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + np.array([3.0] + [0.0] * 7)
    assert fid(a, shifted) == pytest.approx(9.0, rel=1e-6)  # only the mean term changes
    assert fid(a, a * 2) > 1.0


def test_fid_matches_closed_form_for_scaled_gaussians():
    a = rng.normal(size=(4000, 3))
    # covariances I and 4I: trace term 3 + 12 - 2 * 3 * 2 = 3, plus the sampled mean difference
    expected = 3.0 * (1 + 4 - 2 * 2)
    assert fid(a, a * 2) == pytest.approx(expected, rel=0.05)


def test_static_set_has_zero_diversity_and_multimodality():
    same = np.tile(rng.normal(size=(1, 16)), (300, 1))
    assert diversity(same) == 0.0
    assert multimodality(same, np.arange(300) % 3) == 0.0
    assert diversity(rng.normal(size=(300, 16))) > 1.0


def test_multimodality_is_within_label():
    centres = np.repeat(np.arange(4)[:, None] * 100.0, 50, axis=0)
    labels = np.repeat(np.arange(4), 50)
    feats = centres + rng.normal(scale=0.1, size=(200, 1))
    assert multimodality(feats, labels) < 1.0  # labels far apart do not count
    assert diversity(feats) > 50.0


def _foot_track(sliding: bool) -> np.ndarray:
    frames = 60
    pos = np.zeros((frames, 2, 3))
    pos[:, 0, 1] = 90.0  # a hip-like joint up high
    pos[:, 1, 1] = 3.0  # foot on the ground
    if sliding:
        pos[:, 1, 2] = np.arange(frames) * 3.0  # 3 cm/frame = 90 cm/s
    return pos


def test_foot_skating_counts_sliding_not_planted():
    assert foot_skating_rate(_foot_track(False), [1], fps=30) == 0.0
    assert foot_skating_rate(_foot_track(True), [1], fps=30) == pytest.approx(1.0)


def test_jitter_zero_for_constant_velocity_positive_for_noise():
    t = np.arange(100)[:, None, None] * np.ones((1, 3, 3))
    assert jitter(t * 1.5, fps=30) == pytest.approx(0.0, abs=1e-6)
    assert jitter(t + rng.normal(size=t.shape), fps=30) > 100


def test_bone_length_error():
    parents = np.array([-1, 0])
    pos = np.zeros((10, 2, 3))
    pos[:, 1, 0] = 10.0
    assert bone_length_error(pos, parents) == 0.0
    pos[::2, 1, 0] = 12.0
    assert bone_length_error(pos, parents) == pytest.approx(1 / 11, rel=1e-6)


def test_inbetween_metrics_zero_for_exact_and_positive_otherwise():
    true = rng.normal(size=(4, 15, 5, 3))
    mean, std = np.zeros(15), np.ones(15)
    assert l2p(true, true, mean, std) == 0.0
    assert l2p(true + 1.0, true, mean, std) == pytest.approx(np.sqrt(15))
    q = rng.normal(size=(4, 15, 5, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    assert l2q(-q, q) == pytest.approx(0.0, abs=1e-12)  # q and -q are the same rotation
    seq = rng.normal(size=(4, 30, 6))
    assert npss(seq, seq) == pytest.approx(0.0, abs=1e-12)
    assert npss(rng.normal(size=seq.shape), np.sin(np.linspace(0, 6, 30))[None, :, None] * np.ones((4, 1, 6))) > 0.1
