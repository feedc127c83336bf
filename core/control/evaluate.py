"""Measurements of the controller (benchmark and model card): speed, responsiveness, path following,
long-run stability, and the real-data references they are compared against."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from ..evaluation.metrics import bone_length_error, foot_skating_rate, jitter
from ..motion.clip import Clip
from ..motion.representation import UP
from .controller import Controller
from .follow import demo_paths, follow, score_path

BARS = {"distance_cm": 10.0, "facing_deg": 15.0, "skating_ratio": 1.5, "response_s": 0.5, "fps": 60.0}


def real_reference(corpus=None, split: str = "val", actions=("walk", "run")) -> dict:
    """Foot skating and jitter of real locomotion clips of a split (the evaluation suite's metrics)."""
    from ..data.corpus import load_corpus
    from ..motion.representation import representation_for

    corpus = corpus or load_corpus("bandai-namco")
    rep = representation_for(corpus.skeleton)
    skate, jit, frames = [], [], 0
    for seg in corpus.segments(split):
        if corpus.clips[seg.clip].action in actions:
            g = corpus.segment_clip(seg).global_positions()
            skate.append(foot_skating_rate(g, rep.feet, corpus.fps))
            jit.append(jitter(g, corpus.fps))
            frames += len(g)
    return {"clips": len(skate), "frames": frames, "skating": float(np.mean(skate)), "jitter": float(np.mean(jit))}


def speed(ctl: Controller, frames: int = 600, live_pose: bool = False) -> float:
    """Sustained generated frames per second while steering with a changing stick."""
    ctl.reset()
    t = time.perf_counter()
    for i in range(frames):
        a = 2 * math.pi * i / 300
        ctl.step((1.4 * math.sin(a), 1.4 * math.cos(a)), "normal")
        if live_pose:
            ctl.pose()
    return frames / (time.perf_counter() - t)


def _smoothed_velocity(track: np.ndarray, fps: float, width: int = 7) -> np.ndarray:
    """(F, 3) explicit root track -> (F-1, 2) planar velocity, m/s, centred moving average over `width` frames."""
    v = np.diff(track[:, :2], axis=0) * fps / 100.0
    k = np.ones(width) / width
    return np.stack([np.convolve(np.pad(v[:, i], width // 2, mode="edge"), k, "valid") for i in range(2)], -1)


def responsiveness(ctl: Controller, trials: int = 24, seed: int = 0, limit_s: float = 2.0) -> dict:
    """After a change of commanded velocity, seconds until the root velocity along the new command reaches
    90% of it (mean, median, worst; `limit_s` when never), over random walk/run/turn changes."""
    rng = np.random.default_rng(seed)
    times, kinds = [], []
    hold = int(limit_s * ctl.fps)
    for _ in range(trials):
        ctl.reset((0.0, 0.0, rng.uniform(-math.pi, math.pi)))
        s0, s1 = rng.choice([0.0, 1.4, 3.5]), rng.choice([1.4, 3.5])
        a0 = rng.uniform(-math.pi, math.pi)
        a1 = a0 + rng.choice([0.0, 0.5 * math.pi, -0.5 * math.pi, math.pi])
        if s0 == s1 and a1 == a0:
            s0 = 0.0
        v0 = s0 * np.array([math.sin(a0), math.cos(a0)])
        v1 = s1 * np.array([math.sin(a1), math.cos(a1)])
        for _ in range(60):
            ctl.step(v0, "normal")
        first = len(ctl.track) - 1
        for _ in range(hold + 10):
            ctl.step(v1, "normal")
        vel = _smoothed_velocity(np.array(ctl.track), ctl.fps)[first:]
        along = vel @ (v1 / np.linalg.norm(v1))
        hit = np.nonzero(along >= 0.9 * s1)[0]
        times.append(min(hit[0] / ctl.fps, limit_s) if len(hit) else limit_s)
        kinds.append(f"{s0:g}->{s1:g} m/s, turn {math.degrees(a1 - a0):.0f} deg")
    t = np.array(times)
    return {"mean_s": float(t.mean()), "median_s": float(np.median(t)), "worst_s": float(t.max()),
            "trials": trials, "cases": list(zip(kinds, times, strict=True))}


def random_stick(ctl: Controller, seconds: float, seed: int = 0) -> dict:
    """Continuous control with a random stick (new command, style and walk/run every 0.5-3 s): finite,
    rigid, upright? Returns the worst values seen."""
    rng = np.random.default_rng(seed)
    styles = [s for s in ("normal", "active", "feminine", "youthful", "masculine", "exhausted", "elderly")
              if s in ctl.styles]
    ctl.reset()
    frames = int(seconds * ctl.fps)
    v, style, left = np.zeros(2), styles[0], 0
    t = time.perf_counter()
    for _ in range(frames):
        if left <= 0:
            left = int(rng.uniform(0.5, 3.0) * ctl.fps)
            speed = rng.choice([0.0, 1.4, 3.5, rng.uniform(0.5, 4.0)])
            a = rng.uniform(-math.pi, math.pi)
            v, style = speed * np.array([math.sin(a), math.cos(a)]), styles[rng.integers(len(styles))]
        ctl.step(v, style)
        left -= 1
    elapsed = time.perf_counter() - t
    clip = ctl.take(plant=False)
    g = clip.global_positions()
    rep = ctl.rep
    head = rep.skeleton.names.index("Head") if "Head" in rep.skeleton.names else -1
    spine = g[:, head] - g[:, rep.root]
    tilt = np.degrees(np.arccos(np.clip(spine[:, UP] / np.linalg.norm(spine, axis=-1), -1, 1)))
    height = g[:, rep.root, UP]
    bones = np.arange(rep.skeleton.num_joints) > rep.root  # above the pelvis the "bone" is the root's travel
    return {"frames": frames, "fps": frames / elapsed, "finite": bool(np.isfinite(g).all()),
            "bone_length_error": bone_length_error(g, rep.skeleton.parents, bones),
            "max_tilt_deg": float(tilt.max()), "mean_tilt_deg": float(tilt.mean()),
            "min_root_height": float(height.min()), "max_root_height": float(height.max()),
            "distance_m": float(np.linalg.norm(np.diff(np.array(ctl.track)[:, :2], axis=0), axis=-1).sum() / 100)}


def path_following(ctl: Controller, speeds=(1.4, 3.0), style: str = "normal", correct: bool = True) -> list[dict]:
    return score_paths(lambda pts, sp: follow(ctl, pts, style, sp, correct=correct), speeds)


def score_paths(make: Callable[[np.ndarray, float], Clip], speeds=(1.4, 3.0)) -> list[dict]:
    """The path bars and the wall time per frame of `make(points_m, speed) -> Clip` on every demo path."""
    rows = []
    for name, pts in demo_paths().items():
        for sp in speeds:
            t = time.perf_counter()
            clip = make(pts, sp)
            ms = (time.perf_counter() - t) * 1e3 / clip.num_frames
            sc = score_path(clip, pts)
            rows.append({"path": name, "speed": sp, "frames": clip.num_frames, "distance_cm": sc.distance_cm,
                         "facing_deg": sc.facing_deg, "skating": sc.skating, "end_cm": sc.end_cm,
                         "jitter": sc.jitter, "ms_per_frame": ms})
    return rows
