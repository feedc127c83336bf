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
from ..motion.rotations import wrap_angle
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


def real_facing(corpus=None, split: str = "val", min_speed: float = 0.5) -> dict[tuple[str, str], float]:
    """{(action, style): mean |heading - direction of travel| in degrees} of real walks and runs while they move
    faster than `min_speed` m/s (the facing yardstick on real data: a pelvis sways and some styles walk
    crabwise). Travel is the root's displacement over half a second, heading the root's (`rep.heading`)."""
    from ..data.corpus import load_corpus
    from ..motion.representation import representation_for

    corpus = corpus or load_corpus("bandai-namco")
    rep = representation_for(corpus.skeleton)
    half = int(round(0.25 * corpus.fps))
    found: dict[tuple[str, str], list[np.ndarray]] = {}
    for seg in corpus.segments(split):
        info = corpus.clips[seg.clip]
        if info.action not in ("walk", "run") or seg.num_frames <= 2 * half:
            continue
        g_rot, g_pos = corpus.segment_clip(seg).global_transforms()
        root = g_pos[:, rep.root][:, [0, 2]] / 100.0
        d = root[2 * half :] - root[: -2 * half]
        moving = np.linalg.norm(d, axis=-1) * corpus.fps / (2 * half) > min_speed
        heading = rep.heading(g_rot[half:-half, rep.root])
        err = np.degrees(np.abs(wrap_angle(heading - np.arctan2(d[:, 0], d[:, 1]))))
        found.setdefault((info.action, info.style), []).append(err[moving])
    return {k: float(np.concatenate(v).mean()) for k, v in found.items() if sum(map(len, v))}


def turn_at(clip: Clip, frame: int, window_s: float = 1.0) -> tuple[float, float]:
    """(seconds, share) of the turn around `frame`: how long the root's heading takes for the middle 80% of
    its change within `window_s` either side, and the largest share of that change made while one foot stays
    planted (a side's foot joints in contact, `MotionRepresentation.foot_contacts`): a plant-and-turn pivots
    on one foot, a swivel turns between footfalls."""
    from ..motion.representation import representation_for

    rep = representation_for(clip.skeleton)
    w = int(round(window_s * clip.fps))
    lo, hi = max(0, frame - w), min(clip.num_frames, frame + w + 1)
    g_rot, g_pos = clip.slice(lo, hi).global_transforms()
    turned = np.unwrap(rep.heading(g_rot[:, rep.root]))
    turned -= turned[0]
    if abs(turned[-1]) < 1e-6:
        return 0.0, 0.0
    part = turned / turned[-1]
    seconds = (int(np.argmax(part > 0.9)) - int(np.argmax(part > 0.1))) / clip.fps
    contacts = rep.foot_contacts(g_pos, clip.fps)  # (W, K)
    left = np.array([clip.skeleton.is_left(j) for j in rep.feet], bool)
    best = 0.0
    for side in (left, ~left):
        planted = np.r_[False, contacts[:, side].any(1), False].astype(int)
        starts, ends = np.nonzero(np.diff(planted) == 1)[0], np.nonzero(np.diff(planted) == -1)[0] - 1
        for a, b in zip(starts, ends, strict=True):
            best = max(best, abs(turned[b] - turned[a]) / abs(turned[-1]))
    return seconds, best


def corner_turns(clip: Clip, points_m: np.ndarray, sharper_deg: float = 60.0) -> list[tuple[float, float]]:
    """`turn_at` each corner of the path (a polyline vertex) sharper than `sharper_deg`, centred on the frame
    nearest the corner, over up to a second either side (less where the next corner comes sooner)."""
    from ..motion.representation import representation_for

    d = np.diff(points_m, axis=0)
    turn = np.degrees(np.abs(wrap_angle(np.diff(np.arctan2(d[:, 0], d[:, 1])))))
    corners = points_m[1:-1][turn > sharper_deg]
    if not len(corners):
        return []
    root = clip.global_positions()[:, representation_for(clip.skeleton).root][:, [0, 2]] / 100.0
    frames = np.array([int(np.argmin(np.linalg.norm(root - c, axis=-1))) for c in corners])
    gap = np.diff(frames).min() if len(frames) > 1 else 2 * clip.fps
    return [turn_at(clip, int(f), min(1.0, 0.5 * gap / clip.fps)) for f in frames]


def fastest_turn(clip: Clip, span: int = 16) -> int:
    """The middle frame of the `span` frames (about half a second at 30 fps) in which the root's heading turns
    most."""
    from ..motion.representation import representation_for

    rep = representation_for(clip.skeleton)
    rate = np.abs(np.diff(np.unwrap(rep.heading(clip.global_transforms()[0][:, rep.root]))))
    return int(np.argmax(np.convolve(rate, np.ones(span), "same")))


def real_turns(corpus=None, split: str = "val") -> list[tuple[float, float]]:
    """`turn_at` the fastest turn of each real walk with a turn (walk-turn-left, walk-turn-right) of a split."""
    from ..data.corpus import load_corpus

    corpus = corpus or load_corpus("bandai-namco")
    return [turn_at(clip, fastest_turn(clip)) for clip in (
        corpus.segment_clip(seg) for seg in corpus.segments(split)
        if corpus.clips[seg.clip].action in ("walk-turn-left", "walk-turn-right"))]


def follow_paths(seed: int = 0) -> dict[str, np.ndarray]:
    """The path-following benchmark's ground paths (x, z metres): a 20 m straight line, a 3 m-radius circle,
    a zig-zag of 2 m legs, an S-curve into a 90-degree corner, and two random smooth curves (`seed`)."""
    t = np.linspace(0.0, 1.0, 200)
    s_curve = np.stack([1.5 * np.sin(2 * np.pi * t), 6.0 * t], -1)
    corner = s_curve[-1] + np.stack([np.linspace(0.0, 4.0, 41)[1:], np.zeros(40)], -1)
    leg = 2.0 / math.sqrt(2)
    paths = {
        "straight 20 m": np.array([[0.0, 0.0], [0.0, 20.0]]),
        "circle r=3 m": np.stack([3.0 - 3.0 * np.cos(2 * np.pi * t), 3.0 * np.sin(2 * np.pi * t)], -1),
        "zig-zag 2 m legs": np.array([[leg * (i % 2), leg * i] for i in range(7)]),
        "S-curve, 90 deg corner": np.concatenate([s_curve, corner]),
    }
    rng = np.random.default_rng(seed)
    for k in range(2):  # heading wanders smoothly: turn rate a sum of slow sines, 12 m long
        u = np.linspace(0.0, 12.0, 240)
        rate = sum(rng.uniform(-0.4, 0.4) * np.sin(rng.uniform(0.2, 0.8) * u + rng.uniform(0, 2 * np.pi))
                   for _ in range(3))
        yaw = np.cumsum(rate) * (u[1] - u[0])
        step = np.stack([np.sin(yaw), np.cos(yaw)], -1) * (u[1] - u[0])
        paths[f"random curve {k + 1}"] = np.concatenate([[[0.0, 0.0]], np.cumsum(step, 0)])
    return paths


def straight_speed(clip: Clip, points_m: np.ndarray, margin_m: float = 1.5, window_m: float = 0.75,
                   max_turn_deg: float = 10.0) -> float | None:
    """Mean ground speed (m/s) of the root over the path's straight stretches: where the path's heading
    turns less than `max_turn_deg` within `window_m` either side, `margin_m` away from its start and end.
    None for a path without one."""
    from ..motion.representation import representation_for
    from .follow import Polyline, check_path

    line = Polyline(check_path(points_m))
    rep = representation_for(clip.skeleton)
    root = clip.global_positions()[:, rep.root][:, [0, 2]] / 100.0  # metres
    s, _, _ = line.closest(root)
    _, before = line.at(s - window_m)
    _, after = line.at(s + window_m)
    straight = (np.degrees(np.abs(wrap_angle(after - before))) < max_turn_deg)
    straight &= (s > margin_m) & (s < line.length - margin_m)
    stride = max(1, int(round(0.5 * clip.fps)))  # displacement over half a second: one step, not its sway
    v = np.linalg.norm(root[stride:] - root[:-stride], axis=-1) * clip.fps / stride
    keep = straight[:-stride] & straight[stride:]
    return float(v[keep].mean()) if keep.sum() > clip.fps else None


def ends_standing(clip: Clip, seconds: float = 0.5, still: float = 0.1) -> bool:
    """Whether the clip's last `seconds` stand: root and every foot joint slower than `still` m/s on the ground."""
    from ..motion.representation import representation_for

    rep = representation_for(clip.skeleton)
    g = clip.global_positions()[-max(2, int(round(seconds * clip.fps))) :][:, [rep.root, *rep.feet]][..., [0, 2]]
    return bool((np.linalg.norm(np.diff(g, axis=0), axis=-1) * clip.fps / 100.0 < still).all())


def follow_benchmark(ctl: Controller, speeds=(1.0, 1.4, 2.0, 3.0), styles: list[str] | None = None,
                     paths: dict[str, np.ndarray] | None = None) -> list[dict]:
    """One row per path, speed and style: achieved speed on straight stretches over the asked one, distance
    of the end from the path's end, mean distance from the path, mean facing error, foot skating, frames/s,
    whether it ends standing (`ends_standing`), and how it turns at sharp corners (`corner_turns`)."""
    rows = []
    for name, pts in (paths or follow_paths()).items():
        for sp in speeds:
            for style in styles or ctl.styles:
                notes: list[str] = []
                t = time.perf_counter()
                clip = follow(ctl, pts, style, sp, report=notes.append)
                seconds = time.perf_counter() - t
                sc = score_path(clip, pts)
                v = straight_speed(clip, pts)
                rows.append({"path": name, "speed": sp, "style": style, "speed_ratio": None if v is None else v / sp,
                             "end_cm": sc.end_cm, "distance_cm": sc.distance_cm, "facing_deg": sc.facing_deg,
                             "skating": sc.skating, "fps": clip.num_frames / seconds, "short": bool(notes),
                             "stands": ends_standing(clip), "corners": corner_turns(clip, pts)})
    return rows
