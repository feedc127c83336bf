"""In-betweening benchmark in the style of Harvey et al. 2020 (LaFAN1).

Windows of CONTEXT frames, a gap of 5, 15 or 30 frames and one target frame
are cut from validation clips every `stride` frames. A method sees the context
and the target and fills the gap; it is scored on the gap frames:
- L2P: global joint positions, normalised by the training set's mean and std,
- L2Q: global joint quaternions,
- NPSS: power spectrum similarity of the global quaternions.
Positions and rotations are taken in each window's own frame (root at the
origin facing +Z at the last context frame), as LaFAN1 does, so the scores do
not depend on where in the scene a window lies.

The candidate is any command line that reads a BVH and writes a BVH, given as
a template with {input}, {output}, {from} and {to}: frames up to {from} and
from {to} on are given and must be kept; the frames between are to be made.
The gap frames of the input hold the last context pose, so nothing leaks.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GenAnimError
from ..motion.clip import Clip, load_clip, save_clip
from ..motion.representation import representation_for
from ..motion.rotations import matrix_to_quat, quat_slerp, yaw_matrix
from . import metrics

CONTEXT = 10
GAPS = (5, 15, 30)


@dataclass
class Window:
    clip: Clip  # CONTEXT + gap + 1 frames of ground truth
    gap: int

    @property
    def last_context(self) -> int:  # the `from` frame: kept
        return CONTEXT - 1

    @property
    def target(self) -> int:  # the `to` frame: kept
        return CONTEXT + self.gap


def cut_windows(clips: list[Clip], gap: int, stride: int = 40, max_windows: int | None = None) -> list[Window]:
    """Windows every `stride` frames of each clip; evenly thinned to `max_windows` if given."""
    length = CONTEXT + gap + 1
    out = [Window(c.slice(s, s + length), gap) for c in clips for s in range(0, c.num_frames - length + 1, stride)]
    if max_windows is not None and len(out) > max_windows:
        out = [out[i] for i in np.linspace(0, len(out) - 1, max_windows).round().astype(int)]
    return out


def zero_velocity(clip: Clip, start: int, end: int) -> Clip:
    """Baseline: hold the pose of frame `start` through the gap."""
    rot, tr = clip.rotations.copy(), clip.translations.copy()
    rot[start + 1 : end] = rot[start]
    tr[start + 1 : end] = tr[start]
    return Clip(clip.skeleton, rot, tr, clip.fps, clip.name)


def interpolate(clip: Clip, start: int, end: int) -> Clip:
    """Baseline: slerp local rotations and lerp translations between frames `start` and `end`."""
    rot, tr = clip.rotations.copy(), clip.translations.copy()
    t = (np.arange(start + 1, end) - start) / (end - start)  # (G,)
    rot[start + 1 : end] = quat_slerp(rot[start][None], rot[end][None], t[:, None])
    tr[start + 1 : end] = tr[start] + t[:, None, None] * (tr[end] - tr[start])
    return Clip(clip.skeleton, rot, tr, clip.fps, clip.name)


def _canonical(clip: Clip, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Global positions (F, J, 3) and quaternions (F, J, 4) in the root frame at `frame`."""
    rep = representation_for(clip.skeleton)
    g_rot, g_pos = clip.global_transforms()
    yaw = rep.heading(g_rot[frame, rep.root])
    inv = yaw_matrix(np.array(-yaw))
    origin = g_pos[frame, rep.root] * np.array([1.0, 0.0, 1.0])
    pos = (g_pos - origin) @ inv.T
    return pos, matrix_to_quat(inv @ g_rot)


def position_stats(clips: list[Clip], gap: int = 30, stride: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (J*3,) of canonical global positions over training windows (for L2P)."""
    pos = [
        _canonical(w.clip, w.last_context)[0].reshape(w.clip.num_frames, -1) for w in cut_windows(clips, gap, stride)
    ]
    allpos = np.concatenate(pos)
    return allpos.mean(0), np.where(allpos.std(0) < 1e-6, 1.0, allpos.std(0))


def benchmark_windows(gap: int, max_windows: int | None = None, split: str = "val",
                      data: str = "bandai-namco") -> tuple[list[Window], tuple[np.ndarray, np.ndarray]]:
    """The benchmark's evenly spread windows of one gap from `split`, and the training windows' position stats
    that score them (`score_gap`): what the diagnostic scripts score their fills on."""
    from ..data.corpus import load_corpus
    from .suite import real_set

    corpus = load_corpus(data, progress=False)
    windows = cut_windows(real_set(corpus, split).clips, gap, max_windows=max_windows)
    return windows, position_stats(real_set(corpus, "train").clips)


def score_gap(preds: list[Clip], windows: list[Window], stats: tuple[np.ndarray, np.ndarray],
              truths: list[Clip] | None = None) -> dict:
    """L2P, L2Q and NPSS of predicted windows over their gap frames, and each window's L2P (`l2p_windows`), against
    the recorded windows or `truths` (one clip per window)."""
    p_pos, t_pos, p_q, t_q = [], [], [], []
    for k, (pred, w) in enumerate(zip(preds, windows, strict=True)):
        gap = slice(CONTEXT, w.target)
        pp, pq = _canonical(pred, w.last_context)
        tp, tq = _canonical(w.clip if truths is None else truths[k], w.last_context)
        p_pos.append(pp[gap])
        t_pos.append(tp[gap])
        p_q.append(pq[gap])
        t_q.append(tq[gap])
    p_pos, t_pos, p_q, t_q = map(np.stack, (p_pos, t_pos, p_q, t_q))
    # Put predicted quaternions in the hemisphere of the truth (q and -q are one rotation).
    sign = np.where((p_q * t_q).sum(-1, keepdims=True) < 0, -1.0, 1.0)
    n, g = t_q.shape[:2]
    return {
        "l2p": metrics.l2p(p_pos, t_pos, *stats),
        "l2p_windows": np.array([metrics.l2p(p[None], t[None], *stats) for p, t in zip(p_pos, t_pos, strict=True)]),
        "l2q": metrics.l2q(p_q * sign, t_q),
        "npss": metrics.npss((p_q * sign).reshape(n, g, -1), t_q.reshape(n, g, -1)),
    }


def ratio_interval(num: np.ndarray, den: np.ndarray, draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    """90% interval of num.mean() / den.mean() when the windows are redrawn with replacement (paired: one
    draw picks a window for both). How far a ratio on a hundred windows could move on another hundred."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(num), (draws, len(num)))  # (draws, n)
    lo, hi = np.percentile(num[picks].mean(1) / den[picks].mean(1), [5, 95])
    return float(lo), float(hi)


def command_method(template: str, timeout: float = 300.0) -> Callable[[Clip, int, int], Clip]:
    """A method that runs a command line per window (see the module docstring)."""
    for key in ("{input}", "{output}", "{from}", "{to}"):
        if key not in template:
            raise GenAnimError(f"candidate command must contain {key}: {template!r}")

    def run(clip: Clip, start: int, end: int) -> Clip:
        with tempfile.TemporaryDirectory(prefix="genanim-inbetween-") as tmp:
            src, dst = Path(tmp) / "input.bvh", Path(tmp) / "output.bvh"
            save_clip(zero_velocity(clip, start, end), src, precision=None)
            cmd = template.format(
                input=shlex.quote(str(src)), output=shlex.quote(str(dst)), **{"from": start, "to": end}
            )
            done = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0 or not dst.exists():
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise GenAnimError(f"candidate command failed (exit {done.returncode}): {cmd}\n" + "\n".join(tail))
            out = load_clip(dst)
        if out.num_frames != clip.num_frames or out.skeleton.num_joints != clip.skeleton.num_joints:
            raise GenAnimError(
                f"candidate wrote {out.num_frames} frames of {out.skeleton.num_joints} joints, "
                f"expected {clip.num_frames} frames of {clip.skeleton.num_joints}"
            )
        return Clip(clip.skeleton, out.rotations, out.translations, clip.fps, clip.name)

    return run


def _rig_keys(clip: Clip):
    """The Mixamo-proportioned reference rig and `clip` retargeted onto it, as an animator's keys on every bone."""
    from ..retarget.retarget import RigPose
    from ..retarget.rig import full_bases, to_rig
    from ..retarget.standard_rigs import MIXAMO_MAP, mixamo_rig

    rig = mixamo_rig()
    keys = full_bases(rig, to_rig(clip, rig, MIXAMO_MAP))
    return rig, RigPose(list(rig.names), *keys, np.zeros(len(rig.names), bool))


def _read_back(rig, keys, clip: Clip) -> Clip:
    """The rig's keys retargeted onto `clip`'s skeleton (GenAnim's), as the scoring reads them."""
    from ..retarget.rig import rig_clip, to_skeleton
    from ..retarget.standard_rigs import MIXAMO_MAP

    return to_skeleton(rig_clip(rig, keys, clip.fps), clip.skeleton, MIXAMO_MAP)


def rig_transfer(gen, **options) -> Callable[[Clip, int, int], Clip]:
    """`gen`'s in-betweening done as on an animator's own rig: the window is retargeted onto the
    Mixamo-proportioned reference rig (its keys), filled there (`fill_rig_gaps`: through GenAnim's skeleton
    and back), and the rig's result is retargeted onto GenAnim's skeleton again to be scored (against
    `rig_truth`). `options` go to `fill_rig_gaps`. Without `gen`, nothing is filled: the recorded window goes
    to the rig and back, what the retargets alone cost against the recorded motion."""
    from ..retarget.rig_fill import fill_rig_gaps
    from ..retarget.standard_rigs import MIXAMO_MAP

    def run(clip: Clip, start: int, end: int) -> Clip:
        rig, keys = _rig_keys(clip)
        if gen is not None:
            keys = fill_rig_gaps(gen, rig, MIXAMO_MAP, keys, clip.fps, [(start, end)], **options)
        return _read_back(rig, keys, clip)

    return run


def rig_truth(clip: Clip) -> Clip:
    """`clip` as the animator's rig of `rig_transfer` holds it, read back by the same retarget that reads the
    rig's fill: what a fill on the rig is scored against. The round trip itself returns the rotations nearly
    exactly but moves the whole body up or down a little (the two directions' root heights are not each
    other's inverse) and plants the feet: against the recorded motion that alone scores 0.16x-0.51x of
    interpolation's L2P (heights spread little), an error in the animator's own keys that no fill can undo."""
    return _read_back(*_rig_keys(clip), clip)


def benchmark(
    val_clips: list[Clip],
    train_clips: list[Clip],
    methods: dict[str, Callable[[Clip, int, int], Clip]],
    gaps: tuple[int, ...] = GAPS,
    stride: int = 40,
    max_windows: int | None = None,
    progress: bool = False,
    truths: Mapping[str, Callable[[Clip], Clip]] | None = None,
) -> list[dict]:
    """Rows (method, gap, windows, l2p, l2q, npss, l2p_vs_interp) for each method and gap; `l2p_vs_interp`:
    the method's L2P over interpolation's on the same windows, with its 90% interval (`ratio_interval`).
    `truths`: {method: what its fills are scored against, made from the recorded window} (default: the window)."""
    from tqdm import tqdm

    stats = position_stats(train_clips, stride=stride)
    rows = []
    for gap in gaps:
        windows = cut_windows(val_clips, gap, stride, max_windows)
        if not windows:
            raise GenAnimError(f"no validation clip is long enough for a gap of {gap} frames")
        scores = {}
        for name, method in methods.items():
            preds = [
                method(w.clip, w.last_context, w.target)
                for w in tqdm(windows, desc=f"{name} gap {gap}", disable=not progress, leave=False)
            ]
            truth = (truths or {}).get(name)
            scores[name] = score_gap(preds, windows, stats, None if truth is None else [truth(w.clip) for w in windows])
        base = scores["interpolation"]["l2p_windows"] if "interpolation" in scores else None
        for name, score in scores.items():
            per = score.pop("l2p_windows")
            rows.append({"method": name, "gap": gap, "windows": len(windows), **score})
            if base is not None and name != "interpolation":
                lo, hi = ratio_interval(per, base)
                rows[-1]["l2p_vs_interp"] = f"{per.mean() / base.mean():.3f} ({lo:.3f}-{hi:.3f})"
    return rows


BASELINES = {"zero-velocity": zero_velocity, "interpolation": interpolate}
