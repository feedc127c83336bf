"""Training data of the controller: locomotion clips of a corpus split, encoded and normalised, with the
root trajectory (x, z, yaw) integrated from the features exactly as the decoder does."""

from __future__ import annotations

import numpy as np

from ..data.corpus import Corpus, FeatureStats
from ..training.data import encode_segments, feature_stats

LOCOMOTION = ("walk", "run", "dash", "walk-back", "walk-left", "walk-right", "walk-turn-left", "walk-turn-right")


def root_track(feats: np.ndarray) -> np.ndarray:
    """(F, D) raw features -> (F, 3) root x, z, yaw integrated from the start (0, 0, 0).

    Same integration as MotionRepresentation.decode: frame t's velocity, in the heading of t, leads to t+1."""
    vel, rate = feats[:, 0:2], feats[:, 2]
    yaw = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    c, s = np.cos(yaw), np.sin(yaw)
    step = np.stack([c * vel[:, 0] + s * vel[:, 1], -s * vel[:, 0] + c * vel[:, 1]], -1)  # (F, 2) world
    pos = np.concatenate([np.zeros((1, 2)), np.cumsum(step[:-1], 0)])
    return np.concatenate([pos, yaw[:, None]], -1)


class ControlSet:
    """Locomotion segments of one split: normalised features (F, D), root tracks (F, 3), label ids."""

    def __init__(self, corpus: Corpus, split: str, augment: bool, stats: FeatureStats | None = None,
                 min_frames: int = 40, actions: tuple[str, ...] = LOCOMOTION):
        raw, self.action, self.style = encode_segments(corpus, split, augment, min_frames, actions)
        self.stats = feature_stats(raw) if stats is None else stats
        self.items = [self.stats.normalise(x).astype(np.float32) for x in raw]
        self.tracks = [root_track(x).astype(np.float32) for x in raw]
        self.lengths = np.array([len(x) for x in raw])
        self.dim = self.items[0].shape[1]

    def __len__(self) -> int:
        return len(self.items)

    def sample(self, rng: np.random.Generator, batch: int, length: int):
        """Random windows of `length` frames: x (B, L, D), track (B, L, 3) relative to the window's
        first frame, action (B,), style (B,). Items drawn in proportion to their usable windows."""
        usable = np.maximum(self.lengths - length + 1, 0)
        index = rng.choice(len(self), size=batch, p=usable / usable.sum())
        x = np.zeros((batch, length, self.dim), np.float32)
        tr = np.zeros((batch, length, 3), np.float32)
        for b, i in enumerate(index):
            s = rng.integers(0, usable[i])
            x[b] = self.items[i][s : s + length]
            t = self.tracks[i][s : s + length].astype(np.float64)
            c, sn = np.cos(t[0, 2]), np.sin(t[0, 2])
            d = t[:, :2] - t[0, :2]
            # Rotate so the window starts at the origin facing +z (world offset -> heading frame of frame 0).
            tr[b, :, 0] = c * d[:, 0] - sn * d[:, 1]
            tr[b, :, 1] = sn * d[:, 0] + c * d[:, 1]
            tr[b, :, 2] = t[:, 2] - t[0, 2]
        return x, tr, self.action[index].copy(), self.style[index].copy()
