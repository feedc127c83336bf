"""The evaluation suite (v2): score a set of clips against real reference clips.

A row of the suite holds, for one set of clips with the labels they were asked to show:
- action and style accuracy of the recognizer (`recognizer.py`, which reads joint positions only);
- FID between recognizer embeddings of the set and of the reference, beside its floor: the FID of
  the same number of real training takes drawn to the set's labels (to the reference's label mix
  where the set has none) and recorded nearest the reference's takes (`Evaluator.draw`), averaged
  over `FLOOR_DRAWS` draws. A set of real clips lands near its floor whatever its size and label
  mix, so FID / floor is the number to read;
- precision and recall in embedding space (Kynkäänniemi et al. 2019): fidelity and coverage apart;
- diversity, multimodality and the Inception Score over actions and over action x style;
- kinematics: foot skating rate, jitter, bone-length error, pops (share of clips where some joint
  turns faster than real motion ever does), mean horizontal root speed;
- how each clip begins and ends: the mean joint distance (cm, root-relative, facing +Z) of its first
  and of its last pose from the reference clips' first and last poses of the same action. A real take
  starts at rest and returns to it; an excerpt from the middle of one does not.

The default reference is the validation takes (`val-takes`: whole takes, never trained on); any
folder of real clips can be the reference instead. The recognizer learns from one half of the training
takes and the floors are drawn from the other (`judge_halves`), so that the floor's clips are as new
to the judge as the reference and the generated clips are. Reference rows, computed by the same code in the
same run, show what real data scores (a label-matched draw of training clips) and what garbage
scores (a frozen pose, time-shuffled frames, rotation noise, real motion with wrong labels).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.corpus import Corpus, Segment
from ..data.errors import LabelError
from ..data.labels import FolderLabeller, read_sidecar_json
from ..data.skeleton_notes import annotate, read_skeleton_notes
from ..errors import GenAnimError
from ..motion.clip import Clip, load_clip
from ..motion.representation import representation_for
from ..motion.rotations import normalize, quat_mul
from . import metrics
from .canonical import body_mirror, canonical_features, mirror_features
from .recognizer import Recognizer, train_recognizer

DEFAULT_RECOGNIZER = Path(__file__).resolve().parents[2] / "weights" / "recognizer.safetensors"
# Torch threads of the recognizer's training: its float sums, and so its weights, differ with the thread count.
RECOGNIZER_THREADS = 2
REFERENCE_SPLIT = "val-takes"
FLOOR_DRAWS = 5
# A joint turning by more than 90 degrees within one frame at 30 fps (degrees per second): no real clip
# does (the real rows of every report show 0 pops)
POP_SPEED = 90.0 * 30
NOISE_RADIANS = 0.1  # the rotation-noise garbage row: every joint's rotation off by about 6 degrees a frame


@dataclass
class ClipSet:
    """Clips with the labels they are meant to show (None where a label was not asked for)."""

    name: str
    clips: list[Clip]
    actions: list[str | None]
    styles: list[str | None]
    features: list[np.ndarray] = field(default_factory=list)  # (F, D) canonical features per clip
    takes: list[int | None] = field(default_factory=list)  # take numbers of recorded clips, where known

    def __post_init__(self) -> None:
        if not self.features:
            self.features = [canonical_features(c) for c in self.clips]
        if not self.takes:
            self.takes = [None] * len(self.clips)

    def __len__(self) -> int:
        return len(self.clips)

    def subset(self, idx, name: str | None = None) -> ClipSet:
        return ClipSet(name or self.name, [self.clips[i] for i in idx], [self.actions[i] for i in idx],
                       [self.styles[i] for i in idx], [self.features[i] for i in idx], [self.takes[i] for i in idx])


def segment_set(corpus: Corpus, segs: list[Segment], name: str) -> ClipSet:
    """Corpus segments as a labelled set."""
    infos = [corpus.clips[s.clip] for s in segs]
    return ClipSet(name, [corpus.segment_clip(s) for s in segs], [i.action for i in infos], [i.style for i in infos],
                   takes=[i.take for i in infos])


def real_set(corpus: Corpus, split: str, name: str | None = None) -> ClipSet:
    """Every segment of `split` as a labelled set."""
    return segment_set(corpus, corpus.segments(split), name or f"real {split}")


def load_folder(folder: str | Path) -> ClipSet:
    """BVH clips of a folder and its subfolders with their labels, by `core.data.labels.FolderLabeller` (the
    corpora's rules: a `.json` beside each clip with "action" and "style" names, as `generate` writes, a
    `labels.csv`, ACTION/STYLE/ folders, or the file name pattern `dataset-N_{action}_{style}_{NNN}`); a clip
    without labels has none here."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GenAnimError(f"{folder}: not a folder of BVH clips")
    paths = sorted(folder.rglob("*.bvh"))
    if not paths:
        raise GenAnimError(f"{folder}: no .bvh files")
    labeller = FolderLabeller(folder)
    notes = read_skeleton_notes(folder)
    clips, actions, styles, takes = [], [], [], []
    for p in paths:
        clip = load_clip(p)
        clip.skeleton = annotate(clip.skeleton, notes)
        clip.name = p.stem
        clips.append(clip)
        try:
            lab = labeller.label(p)
        except LabelError:
            if p.with_suffix(".json").is_file():  # a label file that is there but unreadable is a mistake to report
                read_sidecar_json(p.with_suffix(".json"))
            lab = None
        actions.append(lab.action if lab else None)
        styles.append(lab.style if lab else None)
        takes.append(lab.take if lab else None)
    return ClipSet(folder.name, clips, actions, styles, takes=takes)


# --- garbage ------------------------------------------------------------------------


def static_set(real: ClipSet) -> ClipSet:
    """Garbage: each clip's first pose held for the clip's length."""
    clips = [Clip(c.skeleton, np.repeat(c.rotations[:1], c.num_frames, 0),
                  np.repeat(c.translations[:1], c.num_frames, 0), c.fps, c.name) for c in real.clips]
    return ClipSet("static pose", clips, real.actions, real.styles)


def shuffled_set(real: ClipSet, seed: int = 0) -> ClipSet:
    """Garbage: each clip's frames in random order."""
    rng = np.random.default_rng(seed)
    clips = []
    for c in real.clips:
        order = rng.permutation(c.num_frames)
        clips.append(Clip(c.skeleton, c.rotations[order], c.translations[order], c.fps, c.name))
    return ClipSet("shuffled frames", clips, real.actions, real.styles)


def noisy_set(real: ClipSet, radians: float = NOISE_RADIANS, seed: int = 0) -> ClipSet:
    """Garbage: every joint's rotation turned by a random small angle (std `radians` per axis), every frame."""
    rng = np.random.default_rng(seed)
    clips = []
    for c in real.clips:
        v = rng.normal(0.0, radians, c.rotations.shape[:-1] + (3,))  # rotation vectors
        angle = np.linalg.norm(v, axis=-1, keepdims=True)
        turn = np.concatenate([np.cos(angle / 2), np.sin(angle / 2) * v / np.maximum(angle, 1e-12)], axis=-1)
        clips.append(Clip(c.skeleton, normalize(quat_mul(c.rotations, turn)), c.translations, c.fps, c.name))
    return ClipSet("rotation noise", clips, real.actions, real.styles)


def wrong_labels_set(real: ClipSet) -> ClipSet:
    """Garbage for the accuracies only: real clips, each asked for another action and style of the set."""

    def shifted(names: list[str | None]) -> list[str | None]:
        vocab = sorted({n for n in names if n is not None})
        if len(vocab) < 2:
            return names
        return [None if n is None else vocab[(vocab.index(n) + 1) % len(vocab)] for n in names]

    return ClipSet("wrong labels", real.clips, shifted(real.actions), shifted(real.styles), real.features, real.takes)


# --- scoring ------------------------------------------------------------------------


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


def kinematics(clip_set: ClipSet) -> dict:
    """Foot skating, jitter, bone error, pops and root speed, each the mean over the set's clips."""
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
    return {"foot_skating": float(np.mean(skating)), "jitter": float(np.mean(jit)),
            "bone_error": float(np.mean(bones)), "pops": float(np.mean(pops)), "root_speed": float(np.mean(speed))}


def _label_index(actions: list[str | None], styles: list[str | None]) -> dict[tuple, list[int]]:
    """Row indices by (action, style), by (action, None) and under (None, None) all of them."""
    index: dict[tuple, list[int]] = {}
    for i, (a, s) in enumerate(zip(actions, styles, strict=True)):
        for key in ((a, s), (a, None), (None, None)):
            index.setdefault(key, []).append(i)
    return index


def _pose(feats: np.ndarray, frame: int) -> np.ndarray:
    """(J, 3) body joint positions of one frame of canonical features, relative to the root."""
    joints = feats[frame, :-3].reshape(-1, 3)
    return joints - joints[:1] * np.array([0.0, 1.0, 0.0])  # the root's height off as well


def end_pose_distances(clip_set: ClipSet, reference: ClipSet) -> tuple[float, float]:
    """Mean joint distance (source units) of the set's first and last poses from the reference's
    first and last poses of the same action (all of the reference's where it has none of it)."""
    out = []
    for frame in (0, -1):
        ref = np.stack([_pose(f, frame) for f in reference.features])  # (M, J, 3)
        ref_actions = np.array([a or "" for a in reference.actions])
        dist = []
        for f, a in zip(clip_set.features, clip_set.actions, strict=True):
            same = ref[ref_actions == a] if a is not None and (ref_actions == a).any() else ref
            dist.append(np.linalg.norm(same - _pose(f, frame), axis=-1).mean())
        out.append(float(np.mean(dist)))
    return out[0], out[1]


class Evaluator:
    """Scores sets against one reference set, with same-size floors drawn from a pool of real clips.

    pool: real clips the floors are drawn from (the training split); a clip that is also in the
    reference (the same name and length) is left out of it, so a floor never compares the reference
    with itself.
    """

    def __init__(self, recognizer: Recognizer, reference: ClipSet, pool: ClipSet, seed: int = 0,
                 draws: int = FLOOR_DRAWS):
        self.recognizer, self.reference, self.seed, self.draws = recognizer, reference, seed, draws
        self.ref_out = recognizer.predict(reference.features)
        same = {(c.name, c.num_frames) for c in reference.clips if c.name}
        keep = [i for i, c in enumerate(pool.clips) if (c.name, c.num_frames) not in same]
        if not keep:
            raise GenAnimError("no real clip is left to draw FID floors from: the reference holds the whole pool")
        self.pool = pool.subset(keep)
        self.pool_out = recognizer.predict(self.pool.features)
        self.by_labels = _label_index(self.pool.actions, self.pool.styles)
        ref_index = _label_index(reference.actions, reference.styles)
        self.ref_takes = {k: [reference.takes[i] for i in v if reference.takes[i] is not None]
                          for k, v in ref_index.items()}

    def _labels_like(self, clip_set: ClipSet, rng: np.random.Generator) -> list[tuple]:
        """The (action, style) each drawn real clip should have: the set's, or the reference's mix."""
        if any(a is not None for a in clip_set.actions):
            return list(zip(clip_set.actions, clip_set.styles, strict=True))
        ref = list(zip(self.reference.actions, self.reference.styles, strict=True))
        if len(clip_set) == len(ref):
            return ref
        return [ref[i] for i in rng.choice(len(ref), len(clip_set))]

    def draw(self, clip_set: ClipSet, seed: int) -> np.ndarray:
        """Indices into the pool: one real clip per clip of the set, with its labels (the action alone,
        then any clip, where the pool lacks the pair). A label pair asked for m times is drawn without
        repeats from the 2m takes of that pair recorded nearest the reference's (by take number, where
        both have them): takes of one label drift from session to session, and the floor must measure
        what real motion scores, not how far the pool's sessions lie from the reference's."""
        rng = np.random.default_rng(seed)
        keys = [next(k for k in ((a, s), (a, None), (None, None)) if k in self.by_labels)
                for a, s in self._labels_like(clip_set, rng)]
        need = Counter(keys)
        queues: dict[tuple, list[int]] = {}
        out = []
        for key in keys:
            if not queues.get(key):
                near = self.ref_takes.get(key, [])
                cand = list(rng.permutation(self.by_labels[key]))  # ties in random order

                def apart(i: int, near: list[int] = near) -> float:
                    t = self.pool.takes[i]
                    return min(abs(t - r) for r in near) if near and t is not None else 0.0

                cand = sorted(cand, key=apart)[: 2 * need[key]]
                queues[key] = list(rng.permutation(cand))
            out.append(queues[key].pop())
        return np.array(out)

    def real_draw(self, clip_set: ClipSet, name: str = "real train") -> ClipSet:
        """Real training clips drawn like `clip_set` (a draw apart from the floor's)."""
        return self.pool.subset(self.draw(clip_set, self.seed + 1000), name)

    def floor(self, clip_set: ClipSet) -> float:
        """Mean FID of `draws` same-size, label-matched draws of real training clips."""
        ref = self.ref_out["embedding"]
        return float(np.mean([metrics.fid(self.pool_out["embedding"][self.draw(clip_set, self.seed + k)], ref)
                              for k in range(self.draws)]))

    def score(self, clip_set: ClipSet, is_reference: bool = False) -> Scored:
        """One row of the suite for `clip_set` (`is_reference`: the reference set itself)."""
        out = self.ref_out if is_reference else self.recognizer.predict(clip_set.features)
        emb, ref = out["embedding"], self.ref_out["embedding"]
        labels = np.array([a or "" for a in clip_set.actions])
        joint = (out["action"][:, :, None] * out["style"][:, None, :]).reshape(len(emb), -1)
        fid = precision = recall = floor = None
        if len(emb) >= 2:  # a distribution's spread needs two clips: one clip has no FID (left blank)
            floor = self.floor(clip_set)
            if not is_reference:
                fid = metrics.fid(emb, ref)
                precision, recall = metrics.precision_recall(ref, emb)
        start, end = end_pose_distances(clip_set, self.reference)
        row = {
            "set": clip_set.name,
            "n": len(clip_set),
            "action_acc": _accuracy(out["action"], clip_set.actions, self.recognizer.actions),
            "style_acc": _accuracy(out["style"], clip_set.styles, self.recognizer.styles),
            "fid": fid,
            "fid_floor": floor,
            "fid_ratio": None if fid is None else fid / max(floor, 1e-12),
            "precision": precision,
            "recall": recall,
            "diversity": metrics.diversity(emb, seed=self.seed),
            "multimodality": metrics.multimodality(emb, labels, seed=self.seed),
            "inception_score": metrics.inception_score(out["action"]),
            "inception_score_joint": metrics.inception_score(joint),
            **kinematics(clip_set),
            "start_pose": start,
            "end_pose": end,
        }
        return Scored(clip_set, out["action"], out["style"], emb, row)

    def reference_rows(self, like: ClipSet | None = None) -> list[Scored]:
        """The reference itself, a real training draw like `like` (default: the reference), and the garbage
        rows made from that draw."""
        real = self.real_draw(like or self.reference)
        sets = [real, static_set(real), shuffled_set(real, self.seed), noisy_set(real, seed=self.seed),
                wrong_labels_set(real)]
        return [self.score(self.reference, is_reference=True)] + [self.score(s) for s in sets]


def judge_halves(corpus: Corpus) -> tuple[list[Segment], list[Segment]]:
    """The training segments split in two: (the recognizer's, the floors'). Within each (dataset,
    action, style) group the takes alternate by take number; a group of one segment (dataset-1's
    single takes) goes to both, as no other real clip of its labels exists."""
    groups: dict[tuple[str, str, str], list[Segment]] = {}
    for seg in corpus.segments("train"):
        info = corpus.clips[seg.clip]
        groups.setdefault((info.dataset, info.action, info.style), []).append(seg)
    judge, floor = [], []
    for segs in groups.values():
        segs = sorted(segs, key=lambda g: (corpus.clips[g.clip].take, corpus.clips[g.clip].name))
        if len(segs) == 1:
            judge += segs
            floor += segs
        else:
            judge += segs[0::2]
            floor += segs[1::2]
    return judge, floor


def per_action(judge: Evaluator, scored: Scored) -> list[dict]:
    """Where a set's distance comes from: per action of the reference, the squared distance between the
    mean embedding of the set's clips of that action and the reference's (`mean_dist`), beside the same
    for a label-matched draw of real training takes (`real_mean_dist`), and the action accuracy."""
    drawn = judge.draw(scored.clip_set, judge.seed + 1000)
    real_emb, real_actions = judge.pool_out["embedding"][drawn], [judge.pool.actions[i] for i in drawn]
    ref_emb, ref_actions = judge.ref_out["embedding"], np.array(judge.reference.actions, dtype=object)
    vocab = judge.recognizer.actions
    rows = []
    for action in sorted({a for a in judge.reference.actions if a is not None}):
        mine = np.array([a == action for a in scored.clip_set.actions])
        theirs = np.array([a == action for a in real_actions])
        if not mine.any() or not theirs.any():
            continue
        mu = ref_emb[ref_actions == action].mean(0)
        dist = float(((scored.embedding[mine].mean(0) - mu) ** 2).sum())
        real_dist = float(((real_emb[theirs].mean(0) - mu) ** 2).sum())
        acc = _accuracy(scored.action_probs[mine], [action] * int(mine.sum()), vocab)
        rows.append({"action": action, "n": int(mine.sum()), "action_acc": acc, "mean_dist": dist,
                     "real_mean_dist": real_dist, "dist_ratio": dist / max(real_dist, 1e-12)})
    return rows


def evaluator(corpus: Corpus, recognizer: Recognizer, reference: ClipSet | None = None, seed: int = 0) -> Evaluator:
    """An `Evaluator` against `reference` (default: the corpus's validation takes), floors drawn from the
    training takes the recognizer did not learn from."""
    if reference is None:
        reference = real_set(corpus, REFERENCE_SPLIT, "real val takes (reference)")
    return Evaluator(recognizer, reference, segment_set(corpus, judge_halves(corpus)[1], "real train"), seed=seed)


def fit_recognizer(
    corpus: Corpus, steps: int = 3000, seed: int = 0, mirror: bool = True, progress: bool = True,
    threads: int = RECOGNIZER_THREADS,
) -> tuple[Recognizer, dict]:
    """Train the recognizer on its half of the training split (`judge_halves`, plus mirrored copies with
    swapped action labels) with `threads` torch threads, and measure it on the validation split: its takes,
    its excerpts of single takes (dataset-1) and all."""
    from ..data.errors import LabelError

    voc = corpus.vocabulary
    train = segment_set(corpus, judge_halves(corpus)[0], "judge's training takes")
    mirror_idx = body_mirror(corpus.skeleton)
    seqs, acts, stys = [], [], []
    for f, a, s in zip(train.features, train.actions, train.styles, strict=True):
        versions = [(f, a)]
        if mirror:
            try:
                versions.append((mirror_features(f, mirror_idx), voc.mirror_action(a)))
            except LabelError:  # the mirrored action is not in this corpus: skip the mirror
                pass
        for feats, action in versions:
            seqs.append(feats)
            acts.append(voc.action_id(action))
            stys.append(voc.style_id(s))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rec = train_recognizer(seqs, np.array(acts), np.array(stys), list(voc.actions), list(voc.styles),
                               steps=steps, seed=seed, progress=progress)
    finally:
        torch.set_num_threads(before)
    val = real_set(corpus, "val")
    out = rec.predict(val.features)
    takes = {(s.clip, s.start) for s in corpus.segments(REFERENCE_SPLIT)}
    kinds = np.array(["takes" if (s.clip, s.start) in takes else "excerpts" for s in corpus.segments("val")])
    datasets = np.array([corpus.clips[s.clip].dataset for s in corpus.segments("val")])
    groups = {"all": np.ones(len(val), bool), "val takes": kinds == "takes", "val excerpts": kinds == "excerpts"}
    groups |= {ds: datasets == ds for ds in sorted(set(datasets))}
    quality = {"train_clips": len(train), "train_items": len(seqs), "mirrored": mirror, "groups": {}}
    for name, sel in groups.items():
        idx = np.flatnonzero(sel)
        if len(idx):
            quality["groups"][name] = {
                "clips": len(idx),
                "action_acc": _accuracy(out["action"][idx], [val.actions[i] for i in idx], rec.actions),
                "style_acc": _accuracy(out["style"][idx], [val.styles[i] for i in idx], rec.styles),
            }
    rec.info.update(quality)
    return rec, quality
