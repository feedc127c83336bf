"""Path following: walk (or run) along a ground path of x, z points in metres.

The desired trajectory each frame is read off the path ahead of the character: from the arc length
of the character's closest path point, points `speed * k / fps` further along (clamped at the end, so
the character slows down and stops there), facing along the path (away from it for walk-back, which
walks it backwards: `FACING_OFFSET`). A small explicit correction pulls
the root towards the path each frame (a share of the lateral offset and of the heading error; it
is part of the take and of the reported numbers, see `follow(..., correct=False)` for without).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluation.metrics import foot_skating_rate, jitter
from ..motion.augment import time_warp
from ..motion.clip import Clip
from ..motion.rotations import wrap_angle
from .controller import ControlError, Controller
from .trajectory import METRE, TRAJ_FRAMES

PULL = 0.1  # share of the lateral offset removed per frame
# The network alone walks each style at a speed of its own (1.4 m/s asked, 0.55x reached on a straight line in
# the elderly style) and some crabwise (the elderly walk faces 14 degrees off its travel, real elderly walks 6),
# and the controller's velocity blending makes feet slide: the blend while moving grows with how far the
# character's speed and facing, averaged over a stride, are from the asked ones (bench/bench_follow.py).
SPEED_BAR = 0.10  # a take whose average speed falls further below the asked one says so
SPEED_SLACK = 0.03  # a relative speed error the network is left to (under a third of the bar)
FACING_SLACK = math.radians(5.0)  # a facing error (radians, averaged over a stride) the network is left to
BLEND_PER_ERROR = 4.0  # blend per relative speed error beyond the slack
MAX_BLEND = 0.5
STRIDE_S = 0.5  # seconds over which the character's speed is averaged (about a stride)
STOP_BLEND = 0.3  # Controller.blend once the reference point has reached the end
TURN = 0.05  # share of the heading error removed per frame
SETTLE = 0.5  # seconds over which the character eases into standing once slow at the path's end
HOLD = 0.5  # seconds it then stands before the take ends
MAX_SETTLE = 2.0  # seconds after the reference point reached the end, at most
LEASH = (0.3 * METRE, 0.5 * METRE)  # how far the reference point may trail / lead the character
# Bounds on the work one path asks for (about 1,000 frames a second on one CPU thread): a path file that is
# not a walk (a typo of 1e9, a survey of a whole site) is refused at once instead of running for hours.
MAX_PATH_M = 1000.0  # length of a path, metres
MAX_POINTS = 100_000  # points of a path file
MAX_TAKE_S = 900.0  # seconds of motion one take may need at its speed (15 minutes)
SLACK = 2.0  # the take may last this many times the path's length at `speed` (a slow start, tight corners)
# Actions that go along the path facing away from its tangent (radians added to it). The data's walk-left and
# walk-right are forward walks veering 10-30 degrees, not side steps: there is no side-stepping to follow with.
FACING_OFFSET = {"walk-back": math.pi}
# The fastest the network is asked to walk, run or walk backwards (m/s): pushing the data's slow styles faster
# than that, the velocity blend dragged their feet past the skating bar (walks at 2 m/s, runs at 3,
# bench/bench_follow.py; the data's backward walks go 0.68 m/s median, scripts/walk_directions.py); a take asked
# for more is made at this speed and played faster (`time_warp`): quicker steps, feet still planted.
NET_SPEED = {"walk": 1.4, "run": 2.7, "walk-back": 1.0}
# Slowing into sharp turns and speeding up out of them, as people do, the more the faster they go (sideways
# acceleration grows with speed squared): where the path turns by theta within CORNER_M either side, the asked
# speed v times 1 - min(MAX_SLOW, SLOW_K v^2) sin^2(theta / 2). A 90-degree corner: 0.93 at the data's 1.1 m/s
# walks, as its walks with a turn slow (0.92-0.97, `python scripts/walk_directions.py`); 0.6 at 3 m/s runs.
# The speed changes by at most RAMP m/s per metre of path.
CORNER_M = 0.5
SLOW_K = 0.12
MAX_SLOW = 0.8
RAMP = 1.0


class PathError(ControlError):
    """A path that cannot be followed: unreadable, malformed, or shorter than two distinct points."""


def read_path(path: str | Path) -> np.ndarray:
    """(N, 2) x, z points in metres from a CSV file (an optional header line of non-numbers; UTF-8 with or
    without a byte order mark, or Latin-1; commas, semicolons or tabs between the numbers)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PathError(f"{path}: cannot read the path ({e.strerror or e})") from None
    if b"\0" in data:
        raise PathError(f"{path}: not a text file (it holds binary data); expected lines of x,z in metres")
    try:
        text = data.decode("utf-8-sig")  # a byte order mark would otherwise hide the first point
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    points = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            row = next(csv.reader([line.replace(";", ",").replace("\t", ",")]), [])
        except csv.Error as e:
            raise PathError(f"{path}, line {i}: {e}") from None
        cells = [c.strip() for c in row if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not points and i == 1:
                continue  # a header line
            raise PathError(f"{path}, line {i}: expected two numbers x,z in metres, got {','.join(cells)!r}") from None
        if len(values) != 2 or not all(math.isfinite(v) for v in values):
            raise PathError(f"{path}, line {i}: expected two finite numbers x,z in metres, got {','.join(cells)!r}")
        points.append(values)
        if len(points) > MAX_POINTS:
            raise PathError(f"{path}: more than {MAX_POINTS} points; thin the path out (one point every "
                            "few centimetres is plenty)")
    return check_path(np.array(points, np.float64).reshape(-1, 2), str(path))


def check_path(points: np.ndarray, where: str = "the path") -> np.ndarray:
    """Points (N, 2) without repeats; PathError if fewer than two distinct points remain."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    if len(points) and not np.isfinite(points).all():
        raise PathError(f"{where}: the points must be finite numbers")
    keep = np.r_[True, np.linalg.norm(np.diff(points, axis=0), axis=-1) > 1e-6] if len(points) else []
    points = points[keep]
    if len(points) < 2:
        raise PathError(f"{where}: a path needs at least two distinct points, got {len(points)}")
    length = float(np.linalg.norm(np.diff(points, axis=0), axis=-1).sum())
    if length > MAX_PATH_M:
        raise PathError(f"{where}: the path is {length:.4g} m long, longer than the limit of {MAX_PATH_M:g} m; "
                        "split it into shorter paths")
    return points


def check_take(points: np.ndarray, speed: float, where: str = "the path") -> np.ndarray:
    """`check_path(points)`, and PathError if going along it at `speed` m/s takes longer than MAX_TAKE_S."""
    points = check_path(points, where)
    length = float(np.linalg.norm(np.diff(points, axis=0), axis=-1).sum())
    if length / speed + MAX_SETTLE > MAX_TAKE_S:
        raise PathError(f"{where}: the path is {length:.4g} m long: at {speed:g} m/s that is "
                        f"{(length / speed + MAX_SETTLE) / 60:.3g} minutes of motion, more than the limit of "
                        f"{MAX_TAKE_S / 60:g} minutes; go faster or split the path")
    return points


class Polyline:
    """Arc-length parametrised polyline (N, 2)."""

    def __init__(self, points: np.ndarray):
        self.p = np.asarray(points, np.float64)
        seg = np.diff(self.p, axis=0)
        self.seglen = np.linalg.norm(seg, axis=-1)
        self.dir = seg / self.seglen[:, None]
        self.s = np.r_[0.0, np.cumsum(self.seglen)]
        self.length = float(self.s[-1])

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (…, 2) and tangent yaws (…,) at arc lengths s (clamped to the path)."""
        s = np.clip(s, 0.0, self.length)
        i = np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.seglen) - 1)
        pts = self.p[i] + self.dir[i] * (s - self.s[i])[..., None]
        return pts, np.arctan2(self.dir[i, 0], self.dir[i, 1])

    def closest(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For points q (…, 2): arc length, distance and the tangent yaw at the closest path point."""
        q = np.asarray(q, np.float64)
        d = q[..., None, :] - self.p[:-1]  # (…, S, 2)
        t = np.clip((d * self.dir).sum(-1), 0.0, self.seglen)  # (…, S)
        foot = self.p[:-1] + self.dir * t[..., None]
        dist = np.linalg.norm(q[..., None, :] - foot, axis=-1)
        i = dist.argmin(-1)
        s = self.s[i] + np.take_along_axis(t, i[..., None], -1)[..., 0]
        yaw = np.arctan2(self.dir[i, 0], self.dir[i, 1])
        return s, np.take_along_axis(dist, i[..., None], -1)[..., 0], yaw


def follow(ctl: Controller, points_m: np.ndarray, style: str | None = "normal", speed: float = 1.4,
           action: str | None = None, correct: bool = True, plant: bool = True, blend: float | None = None,
           report: Callable[[str], None] | None = None) -> Clip:
    """A clip of the character going along `points_m` (N, 2) x, z metres at `speed` m/s and stopping at the end.

    `blend`: the controller's velocity blending while moving (see Controller; default: by the speed error, see
    BLEND_PER_ERROR); at the end STOP_BLEND.
    `report(message)`: told how far short of the end the take stopped, when it ran out of frames first.
    PathError for a path longer than MAX_PATH_M or one that needs more than MAX_TAKE_S at `speed`."""
    if not 0.1 <= speed <= 8.0:
        raise ControlError(f"speed {speed:g} m/s is outside 0.1 .. 8 m/s")
    line = Polyline(check_take(points_m, speed) * METRE)
    aid = ctl.action_id(action, speed)
    gait = ctl.vocabulary.actions[aid]
    warp = max(1.0, speed / NET_SPEED[gait]) if gait in NET_SPEED else 1.0
    saved = ctl.blend
    try:
        clip = _follow(ctl, line, style, speed / warp, warp, aid, action, correct, plant, report, blend)
    finally:
        ctl.blend = saved
    return time_warp(clip, warp) if warp > 1.0 else clip


def _follow(ctl: Controller, line: Polyline, style: str | None, speed: float, warp: float, aid: int,
            action: str | None, correct: bool, plant: bool, report: Callable[[str], None] | None,
            blend: float | None) -> Clip:
    """`follow` at the network's `speed`, for a take to be played `warp` times faster (the times and speeds
    reported are the played ones)."""
    sid = ctl.style_id(style)
    offset = FACING_OFFSET.get(action or "", 0.0)
    _, yaw0 = line.at(np.array(0.0))
    ctl.reset((line.p[0, 0], line.p[0, 1], float(yaw0) + offset))
    grid, profile = speed_profile(line, speed * warp)
    profile /= warp  # corners slow the played speed; the network goes `warp` times slower
    per_frame = speed * METRE / ctl.fps
    s_ref, s_cur, still, after, v_mean, face_mean, settled, moving = 0.0, 0.0, 0, 0, 0.0, 0.0, 0, 0
    limit = int(min(SLACK * line.length / per_frame + 10 * ctl.fps, MAX_TAKE_S * ctl.fps * warp))
    why = ""  # why the take ended short of the path's end
    for _ in range(limit):
        s_near, _, tan_near = line.closest(ctl.pos)
        v_mean += (float(np.linalg.norm(ctl.velocity)) - v_mean) / (STRIDE_S * ctl.fps)
        face_mean += (abs(float(wrap_angle(ctl.yaw - tan_near - offset))) - face_mean) / (STRIDE_S * ctl.fps)
        here = float(np.interp(s_ref, grid, profile))  # m/s the path asks for at the reference point
        if s_ref < line.length:
            error = max(abs(here - v_mean) / here - SPEED_SLACK, face_mean - FACING_SLACK, 0.0)
            ctl.blend = blend if blend is not None else min(MAX_BLEND, BLEND_PER_ERROR * error)
        s_cur = max(s_cur, float(s_near))  # never walk backwards along the path
        moving += s_cur < line.length - LEASH[1]  # frames until the character is near the end
        # The reference point moves at the profile's speed but stays near the character: it neither runs away from a
        # slow start nor lets the character overtake it (then the desired trajectory says: slow down).
        step = here * METRE / ctl.fps
        s_ref = float(np.clip(s_ref + step, s_cur - LEASH[0], s_cur + LEASH[1]))
        s_ref = min(s_ref, line.length)
        fut_pos, fut_yaw = line.at(s_ref + step * np.array(TRAJ_FRAMES, np.float64))
        fut_yaw = ctl.yaw + wrap_angle(fut_yaw + offset - ctl.yaw)
        ctl.step_trajectory(fut_pos, fut_yaw, sid, aid)
        if correct:
            foot, tan = line.at(np.array(s_cur))
            off = ctl.pos - foot
            normal = np.array([math.cos(tan), -math.sin(tan)])  # perpendicular to the tangent (sin, cos)
            if s_cur < line.length - 1e-6:
                d_pos = -PULL * float(off @ normal) * normal
            else:  # past the end: towards the end point
                d_pos = -PULL * off
            ctl.nudge(d_pos, -TURN * float(wrap_angle(ctl.yaw - tan - offset)))
        if s_ref >= line.length:
            ctl.blend = max(ctl.blend, STOP_BLEND)  # the model stands still poorly: help it stop at the end
            after += 1
            still = still + 1 if np.linalg.norm(ctl.velocity) < 0.2 else 0
            if still or after > MAX_SETTLE * ctl.fps * warp:  # slow at the end: ease into standing, then stop
                settled += 1
                ctl.settle(min(1.0, settled / (SETTLE * ctl.fps * warp)))
                if settled > (SETTLE + HOLD) * ctl.fps * warp:
                    break
    else:
        seconds = limit / ctl.fps / warp
        why = (f"the take hit its limit of {seconds:.4g} s, the character going {s_cur / METRE / seconds:.2g} m/s on "
               f"average instead of {speed * warp:g} m/s (sharp turns or a speed the model cannot hold)")
    short = (line.length - s_cur) / METRE
    if why and report is not None and short > LEASH[1] / METRE:  # never silently short of the end
        report(f"stopped {short:.3g} m short of the path's end (reached {s_cur / METRE:.4g} of "
               f"{line.length / METRE:.4g} m): {why}; try a smoother path or another --speed")
    elif report is not None and moving and line.length > LEASH[1]:
        average = (line.length - LEASH[1]) / moving * ctl.fps / METRE * warp
        if average < (1 - SPEED_BAR) * speed * warp:  # what it changed, said
            report(f"went {average:.2g} m/s on average instead of {speed * warp:g} m/s (slower in the path's turns, "
                   "or the style's own pace)")
    return ctl.take(f"follow_{style or 'any'}_{speed * warp:g}", plant=plant)


def speed_profile(line: Polyline, speed: float, step_cm: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """(arc lengths cm, speeds m/s) along `line` (cm): `speed`, slowed into sharp turns (SLOW_K, RAMP)."""
    s = np.arange(0.0, line.length + step_cm, step_cm)
    _, before = line.at(s - CORNER_M * METRE)
    _, after = line.at(s + CORNER_M * METRE)
    v = speed * (1.0 - min(MAX_SLOW, SLOW_K * speed**2) * np.sin(wrap_angle(after - before) / 2.0) ** 2)
    ramp = RAMP * np.arange(len(v)) * step_cm / METRE  # m/s gained over the path so far
    v = np.minimum.accumulate(v - ramp) + ramp  # speed up after a corner ...
    v = (np.minimum.accumulate((v + ramp)[::-1]) - ramp[::-1])[::-1]  # ... and slow down before it
    return s, v


@dataclass
class PathScore:
    distance_cm: float  # mean distance of the root's ground projection from the path
    facing_deg: float  # mean |heading - path tangent| while moving
    skating: float  # foot skating rate (evaluation suite metric)
    end_cm: float  # distance of the final root position from the path's end
    jitter: float  # mean jerk of the joints, cm/s^3 (evaluation suite metric)


def score_path(clip: Clip, points_m: np.ndarray, action: str | None = None) -> PathScore:
    """The path-following bars for a clip generated along `points_m` (facing: against the tangent turned by
    the action's FACING_OFFSET)."""
    from ..motion.representation import representation_for

    rep = representation_for(clip.skeleton)
    line = Polyline(check_path(points_m) * METRE)
    g_rot, g_pos = clip.global_transforms()
    root = g_pos[:, rep.root][:, [0, 2]]
    s, dist, tan = line.closest(root)
    heading = rep.heading(g_rot[:, rep.root])
    moving = s < line.length - 1e-6  # at the end the tangent no longer constrains the facing
    facing = np.degrees(np.abs(wrap_angle(heading - tan - FACING_OFFSET.get(action or "", 0.0))))[moving]
    skate = foot_skating_rate(g_pos, rep.feet, clip.fps)
    end = float(np.linalg.norm(root[-1] - line.p[-1]))
    return PathScore(float(dist.mean()), float(facing.mean()) if len(facing) else 0.0, skate, end,
                     jitter(g_pos, clip.fps))


def demo_paths() -> dict[str, np.ndarray]:
    """Ground paths (x, z metres) used by the benchmark and tests: straight, S-bend, arc, zigzag corners."""
    t = np.linspace(0, 1, 60)
    return {
        "straight 8 m": np.array([[0.0, 0.0], [0.0, 8.0]]),
        "S-bend": np.stack([2.0 * np.sin(2 * np.pi * t), 10.0 * t], -1),
        "arc r=3 m": np.stack([3.0 - 3.0 * np.cos(np.pi * t), 3.0 * np.sin(np.pi * t)], -1),
        "zigzag": np.array([[0.0, 0.0], [3.0, 3.0], [0.0, 6.0], [3.0, 9.0]]),
    }
