"""The evaluation suite: score a set of clips against real validation clips.

A row of the suite holds, for one set of clips with their requested labels:
action and style accuracy of the recognizer, FID between recognizer
embeddings of the set and of the real validation clips, diversity,
multimodality, foot skating rate, jitter, bone-length error, pops (share of
clips where some joint turns faster than real motion ever does) and the mean
horizontal root speed. Reference rows (real training clips, a static pose,
time-shuffled frames) are computed by the same code in the same run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.corpus import Corpus
from ..data.labels import parse_clip_name
from ..errors import GenAnimError
from ..motion.clip import Clip, load_clip
from ..motion.representation import representation_for
from . import metrics
from .recognizer import Recognizer, train_recognizer

DEFAULT_RECOGNIZER = Path(__file__).resolve().parents[2] / "weights" / "recognizer.safetensors"
# A joint turning by more than 90 degrees within one frame at 30 fps (degrees per second): no real clip
# does (the real training and validation rows of every report show 0 pops)
POP_SPEED = 90.0 * 30


@dataclass
class ClipSet:
    """Clips with the labels they are meant to show (None where a label was not asked for)."""

    name: str
    clips: list[Clip]
    actions: list[str | None]
    styles: list[str | None]
    features: list[np.ndarray] = field(default_factory=list)  # (F, D) representation per clip

    def __post_init__(self) -> None:
        if not self.features:
            self.features = [representation_for(c.skeleton).encode(c) for c in self.clips]

    def __len__(self) -> int:
        return len(self.clips)


def real_set(corpus: Corpus, split: str, name: str | None = None) -> ClipSet:
    """Every segment of `split` as a labelled set."""
    segs = corpus.segments(split)
    infos = [corpus.clips[s.clip] for s in segs]
    return ClipSet(
        name or f"real {split}",
        [corpus.segment_clip(s) for s in segs],
        [i.action for i in infos],
        [i.style for i in infos],
    )


def static_set(real: ClipSet) -> ClipSet:
    """Garbage baseline: each clip's first pose held for the clip's length."""
    clips = [
        Clip(
            c.skeleton,
            np.repeat(c.rotations[:1], c.num_frames, 0),
            np.repeat(c.translations[:1], c.num_frames, 0),
            c.fps,
            c.name,
        )
        for c in real.clips
    ]
    return ClipSet("static pose", clips, real.actions, real.styles)


def shuffled_set(real: ClipSet, seed: int = 0) -> ClipSet:
    """Garbage baseline: each clip's frames in random order."""
    rng = np.random.default_rng(seed)
    clips = []
    for c in real.clips:
        order = rng.permutation(c.num_frames)
        clips.append(Clip(c.skeleton, c.rotations[order], c.translations[order], c.fps, c.name))
    return ClipSet("shuffled frames", clips, real.actions, real.styles)


def load_folder(folder: str | Path) -> ClipSet:
    """BVH clips of a folder with their labels: a `.json` beside each clip with "action" and
    "style" names (as `generate` writes), else the file name pattern `dataset-N_{action}_{style}_{NNN}`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GenAnimError(f"{folder}: not a folder of BVH clips")
    paths = sorted(folder.glob("*.bvh"))
    if not paths:
        raise GenAnimError(f"{folder}: no .bvh files")
    clips, actions, styles = [], [], []
    for p in paths:
        clips.append(load_clip(p))
        side = p.with_suffix(".json")
        action = style = None
        if side.exists():
            try:
                meta = json.loads(side.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise GenAnimError(f"{side}: unreadable label file ({e})") from None
            action, style = meta.get("action"), meta.get("style")
        elif (parsed := parse_clip_name(p)) is not None:
            action, style = parsed.action, parsed.style
        actions.append(action)
        styles.append(style)
    return ClipSet(folder.name, clips, actions, styles)


def _accuracy(probs: np.ndarray, names: list[str | None], vocab: list[str]) -> float | None:
    """Top-1 accuracy over clips that asked for a label the recognizer knows (None if none did)."""
    rows = [(i, vocab.index(n)) for i, n in enumerate(names) if n is not None and n in vocab]
    if not rows:
        return None
    idx, target = np.array(rows).T
    return float((probs[idx].argmax(-1) == target).mean())


@dataclass
class Scored:
    """Recognizer outputs for a set, kept for the report's plots."""

    clip_set: ClipSet
    action_probs: np.ndarray
    style_probs: np.ndarray
    embedding: np.ndarray
    row: dict


def score(clip_set: ClipSet, recognizer: Recognizer, real_embedding: np.ndarray, seed: int = 0) -> Scored:
    """One row of the suite for `clip_set`; `real_embedding` are the real validation embeddings."""
    out = recognizer.predict(clip_set.features)
    emb = out["embedding"].astype(np.float64)
    skating, jit, bones, pops, speed = [], [], [], [], []
    for c in clip_set.clips:
        rep = representation_for(c.skeleton)
        pos = c.global_positions()
        rigid = np.ptp(c.translations, axis=0).sum(-1) < 1e-3
        skating.append(metrics.foot_skating_rate(pos, rep.feet, c.fps))
        jit.append(metrics.jitter(pos, c.fps))
        bones.append(metrics.bone_length_error(pos, c.skeleton.parents, rigid))
        pops.append(metrics.fastest_joint_turn(c.rotations, c.fps) > POP_SPEED)
        speed.append(metrics.root_speed(pos, rep.root, c.fps))
    labels = np.array([a or "" for a in clip_set.actions])
    row = {
        "set": clip_set.name,
        "clips": len(clip_set),
        "action_acc": _accuracy(out["action"], clip_set.actions, recognizer.actions),
        "style_acc": _accuracy(out["style"], clip_set.styles, recognizer.styles),
        "fid": metrics.fid(emb, real_embedding),
        "diversity": metrics.diversity(emb, seed=seed),
        "multimodality": metrics.multimodality(emb, labels, seed=seed),
        "foot_skating": float(np.mean(skating)),
        "jitter": float(np.mean(jit)),
        "bone_error": float(np.mean(bones)),
        "pops": float(np.mean(pops)),
        "root_speed": float(np.mean(speed)),
    }
    return Scored(clip_set, out["action"], out["style"], emb, row)


def reference(corpus: Corpus, recognizer: Recognizer, seed: int = 0) -> tuple[list[Scored], ClipSet]:
    """Reference rows: real validation (against itself), real training, static pose, shuffled frames."""
    val = real_set(corpus, "val")
    val_emb = recognizer.predict(val.features)["embedding"].astype(np.float64)
    rows = [
        score(s, recognizer, val_emb, seed)
        for s in (val, real_set(corpus, "train"), static_set(val), shuffled_set(val, seed))
    ]
    return rows, val


def fit_recognizer(
    corpus: Corpus, steps: int = 3000, seed: int = 0, mirror: bool = True, progress: bool = True
) -> tuple[Recognizer, dict]:
    """Train the recognizer on the training split (plus mirrored copies) and measure it on validation."""
    from ..training.data import encode_segments

    stats = corpus.feature_stats()
    voc = corpus.vocabulary
    seqs, acts, stys = encode_segments(corpus, "train", mirror, min_frames=1)
    rec = train_recognizer(
        seqs,
        acts,
        stys,
        list(voc.actions),
        list(voc.styles),
        stats.mean.astype(np.float64),
        stats.std.astype(np.float64),
        steps=steps,
        seed=seed,
        progress=progress,
    )
    val = real_set(corpus, "val")
    out = rec.predict(val.features)
    quality = {
        "val_clips": len(val),
        "val_action_acc": _accuracy(out["action"], val.actions, rec.actions),
        "val_style_acc": _accuracy(out["style"], val.styles, rec.styles),
        "train_clips": len(corpus.segments("train")),
        "mirrored": mirror,
        "per_dataset": {},
    }
    datasets = [corpus.clips[s.clip].dataset for s in corpus.segments("val")]
    for ds in sorted(set(datasets)):
        idx = [i for i, d in enumerate(datasets) if d == ds]
        quality["per_dataset"][ds] = {
            "clips": len(idx),
            "action_acc": _accuracy(out["action"][idx], [val.actions[i] for i in idx], rec.actions),
            "style_acc": _accuracy(out["style"][idx], [val.styles[i] for i in idx], rec.styles),
        }
    rec.info.update(quality)
    return rec, quality
