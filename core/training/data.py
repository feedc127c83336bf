"""Training batches of the motion models: encoded, normalised segments of a corpus split,
random crops (padded and masked where a segment is shorter than the window), mirror augmentation
with label swap, label dropout and random CondMDI-style constraint masks."""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import NamedTuple

import numpy as np

from ..data.corpus import Corpus, FeatureStats
from ..data.errors import DataError, LabelError
from ..motion.augment import Mirror, mirrorable
from ..motion.representation import ROOT_TRAJECTORY, representation_for

MIN_CROP = 16  # frames: the shortest random-length crop (half a second)


def encode_segments(corpus: Corpus, split: str, augment: bool, min_frames: int,
                    actions: Collection[str] | None = None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Raw features (F, D) of the segments of `split` with at least `min_frames` frames (of `actions`
    only, if given), each followed, with `augment`, by its left/right mirror (action label swapped;
    skipped where the corpus has no mirrored action), and their action and style ids."""
    rep = representation_for(corpus.skeleton)
    voc = corpus.vocabulary
    if augment and not mirrorable(corpus.skeleton):
        names = ", ".join(corpus.skeleton.names[:6])
        warnings.warn(f"no left/right joint pairs found in the skeleton's names ({names}, ...; pairs are named like "
                      "Left/Right, _L/_R, .L/.R, _l/_r, L_/R_, or listed as mirror_pairs in the library's "
                      "skeleton.json): training without mirrored copies", stacklevel=2)
        augment = False
    if not rep.feet:
        warnings.warn("no foot joints found in the skeleton's names (none named foot, toe or ankle, and no "
                      "foot_joints in the library's skeleton.json): training without foot contacts, and generated "
                      "feet are not held on the floor", stacklevel=2)
    mirrored = Mirror(corpus.mirror_poses()) if augment else None
    raw: list[np.ndarray] = []  # each (F, D) float64
    action_ids, style_ids = [], []
    for seg in corpus.segments(split):
        info = corpus.clips[seg.clip]
        if seg.num_frames < min_frames or (actions is not None and info.action not in actions):
            continue
        clip = corpus.segment_clip(seg)
        versions = [(clip, info.action)]
        if augment:
            try:
                versions.append((mirrored(clip), voc.mirror_action(info.action)))
            except LabelError:  # the mirrored action is not in this corpus: skip the mirror
                pass
        for c, action in versions:
            raw.append(rep.encode(c))
            action_ids.append(voc.action_id(action))
            style_ids.append(voc.style_id(info.style))
    if not raw:
        which = f" of {', '.join(actions)}" if actions is not None else ""
        raise DataError(f"the {split} split has no segments{which} of at least {min_frames} frames")
    return raw, np.array(action_ids, np.int64), np.array(style_ids, np.int64)


def feature_stats(raw: list[np.ndarray]) -> FeatureStats:
    """Normalisation of what a model sees (mirrors included); constant features keep a std of 1."""
    allf = np.concatenate(raw)
    std = allf.std(0)
    return FeatureStats(allf.mean(0).astype(np.float32), np.where(std < 1e-6, 1.0, std).astype(np.float32), len(allf))


class Batch(NamedTuple):
    x0: np.ndarray  # (B, L, D) normalised features, zero past each item's end
    valid: np.ndarray  # (B, L) bool
    action: np.ndarray  # (B,) ids
    style: np.ndarray  # (B,) ids
    whole: np.ndarray  # (B,) bool: the item is a whole take from its first frame, not an excerpt


class MotionSet:
    """Normalised feature arrays of one split, with their label ids."""

    def __init__(
        self, corpus: Corpus, split: str, augment: bool, stats: FeatureStats | None = None, min_frames: int = 8
    ):
        raw, self.action, self.style = encode_segments(corpus, split, augment, min_frames)
        self.stats = feature_stats(raw) if stats is None else stats
        self.items = [self.stats.normalise(x).astype(np.float32) for x in raw]  # each (F, D), normalised
        self.lengths = np.array([len(x) for x in self.items])
        self.dim = self.items[0].shape[1]

    def __len__(self) -> int:
        return len(self.items)

    def keep_at_least(self, frames: int) -> None:
        """Drop the items shorter than `frames`, so that every crop of that length is full."""
        keep = np.flatnonzero(self.lengths >= frames)
        if not len(keep):
            raise DataError(f"no item has {frames} frames or more; use a shorter window")
        self.items = [self.items[i] for i in keep]
        self.action, self.style, self.lengths = self.action[keep], self.style[keep], self.lengths[keep]

    def _group_frames(self, keys: np.ndarray) -> np.ndarray:
        """(N,) frames of all items whose key row (N, K) equals each item's (unlabelled items, -1, form a group too)."""
        _, group = np.unique(keys, axis=0, return_inverse=True)
        group = group.reshape(-1)
        return np.bincount(group, weights=self.lengths)[group]

    def crops(self, rng: np.random.Generator, index: np.ndarray, length: int, p_random_length: float = 0.0,
              p_whole_take: float = 0.0):
        """Random crops of items `index`: x0 (B, L, D), valid (B, L) bool, whole (B,) bool. A `p_whole_take`
        fraction of crops is the item from its first frame, whole where it fits the window (the rest of the
        window is padding): the model learns complete performances, from rest back to rest, of the take's
        length. Of the others, a `p_random_length` fraction is MIN_CROP frames up to `length` long, anywhere
        in the item, so that the model also learns clips shorter than a window: a short request is not
        always the start of a longer motion. `whole` marks every crop that is its whole item."""
        x0 = np.zeros((len(index), length, self.dim), np.float32)
        valid = np.zeros((len(index), length), bool)
        whole = np.zeros(len(index), bool)
        for b, i in enumerate(index):
            item = self.items[i]
            n = length
            # each draw only when asked: older runs stay bit-exact
            if p_whole_take and rng.random() < p_whole_take:
                n = min(len(item), length)
                start = 0
            else:
                if p_random_length and rng.random() < p_random_length:
                    n = int(rng.integers(min(MIN_CROP, len(item)), min(len(item), length) + 1))
                start = rng.integers(0, max(len(item) - n, 0) + 1)
            crop = item[start : start + n]
            x0[b, : len(crop)] = crop
            valid[b, : len(crop)] = True
            whole[b] = len(crop) == len(item)  # what the crop is, however it was drawn
        return x0, valid, whole

    def sample(self, rng: np.random.Generator, batch: int, length: int, action_balance: float = 0.0,
               p_random_length: float = 0.0, pair_balance: float = 0.0, p_whole_take: float = 0.0,
               length_buckets: int = 0) -> Batch:
        """A batch of items drawn in proportion to their frame counts times the frame count of their
        action to the power -`action_balance` and that of their (action, style) pair to the power
        -`pair_balance` (0: every frame equally likely; 1: every action, or every pair).

        `length_buckets` k > 1: k batches are drawn, sorted by length and one of the k slices kept, whose
        longest item (up to `length`) sets the batch's window, so that a batch of short takes is not
        padded to a long window (about half the compute of a CPU run; each item keeps its odds)."""
        p = self.lengths.astype(np.float64)
        if action_balance:
            p = p * self._group_frames(self.action[:, None]) ** -action_balance
        if pair_balance:
            p = p * self._group_frames(np.stack([self.action, self.style], 1)) ** -pair_balance
        p = p / p.sum()
        if length_buckets > 1:
            pool = rng.choice(len(self), size=batch * length_buckets, p=p)
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            index = pool[rng.integers(length_buckets) * batch :][:batch]
            length = int(min(length, self.lengths[index].max()))
        else:
            index = rng.choice(len(self), size=batch, p=p)
        x0, valid, whole = self.crops(rng, index, length, p_random_length, p_whole_take)
        return Batch(x0, valid, self.action[index].copy(), self.style[index].copy(), whole)


def drop_labels(rng: np.random.Generator, action: np.ndarray, style: np.ndarray, p: float):
    """Classifier-free guidance dropout: each label to -1 with probability p, both together with p as well."""
    both = rng.random(len(action)) < p
    action = np.where(both | (rng.random(len(action)) < p), -1, action)
    style = np.where(both | (rng.random(len(style)) < p), -1, style)
    return action, style


MAX_SHORT_GAP = 60  # frames


def random_constraints(rng: np.random.Generator, valid: np.ndarray, dim: int, p_none: float = 0.3,
                       p_short_gap: float = 0.0, p_context: float = 0.45) -> np.ndarray:
    """(B, L, D) 0/1 constraint masks, one kind per sample:

    none (p_none); of the rest, p_context in-betweening: context frames at both ends or a prefix
    only (the overlap of long clips generated window by window), or (p_short_gap of these) context,
    a gap of 1 to MAX_SHORT_GAP frames, context, and free frames after (an animator's gap, sampled
    with the window padded); then sparse keyframes and the root trajectory on every frame (sometimes
    with keyframes), 6 : 5. Only valid frames are constrained.
    """
    num_b, num_l = valid.shape
    mask = np.zeros((num_b, num_l, dim), np.float32)
    for b in range(num_b):
        n = int(valid[b].sum())
        u = rng.random()
        if u < p_none or n < 4:
            continue
        u = (u - p_none) / (1 - p_none)
        if u < p_context:  # context at the ends (in-betweening / prefix continuation)
            head = rng.integers(1, max(2, min(30, n // 3)))
            mask[b, :head] = 1
            if p_short_gap and rng.random() < p_short_gap:  # drawn only when asked: older runs stay bit-exact
                gap = rng.integers(1, min(MAX_SHORT_GAP, n - head - 1) + 1)
                mask[b, head + gap : min(n, head + gap + rng.integers(1, 31))] = 1
            elif rng.random() < 0.7:
                tail = rng.integers(1, max(2, min(30, n // 3)))
                mask[b, n - tail : n] = 1
        elif u < p_context + (1 - p_context) * 6 / 11:  # sparse keyframes (0.75 at the default p_context)
            keys = rng.random(n) < rng.uniform(0.02, 0.15)
            mask[b, :n][keys] = 1
        else:  # root trajectory (and maybe keyframes)
            mask[b, :n, ROOT_TRAJECTORY] = 1
            if rng.random() < 0.5:
                keys = rng.random(n) < 0.05
                mask[b, :n][keys] = 1
    return mask
