"""Path following with the motion diffusion model run autoregressively (CAMDM-style), the measured
alternative to the per-frame CVAE controller (`bench/bench_control.py` compares the two).

Every `chunk` frames the diffusion model samples the next window: the last `context` generated frames
are given as constraints (prefix continuation), and so is the root trajectory of the frames ahead
(planar velocity and turn rate along the path at the requested speed, the path's corners rounded over
a quarter second). The first `chunk` new frames are kept. The same weights serve generation and
in-betweening; nothing is trained for this.
"""

from __future__ import annotations

import numpy as np

from ..generation import DiffusionGenerator
from ..models.cleanup import ground_contacts, plant_feet, smooth_time
from ..motion.clip import Clip
from .controller import RUN_SPEED, track_features
from .follow import Polyline, check_path
from .trajectory import METRE

CORNER_SMOOTH = 0.25  # seconds: sigma of the low-pass that rounds the path's corners into a walkable track
STOP_SECONDS = 1.0  # standing at the end point


def path_track(points_m: np.ndarray, speed: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Ground positions (F, 2) in cm and headings (F,) of a root going along the path at `speed` m/s and
    then standing for STOP_SECONDS."""
    line = Polyline(check_path(points_m) * METRE)
    per_frame = speed * METRE / fps
    frames = int(np.ceil(line.length / per_frame)) + int(STOP_SECONDS * fps) + 1
    pos, _ = line.at(np.arange(frames) * per_frame)
    pos = smooth_time(pos, CORNER_SMOOTH * fps)
    pos[0] = line.p[0]  # the smoothing must not move the start
    step = np.diff(pos, axis=0)
    moving = np.linalg.norm(step, axis=-1) > 1e-3 * per_frame
    yaw = np.arctan2(step[:, 0], step[:, 1])
    for i in range(1, len(yaw)):  # standing: keep the last heading
        if not moving[i]:
            yaw[i] = yaw[i - 1]
    yaw = np.r_[yaw, yaw[-1]]
    return pos, np.unwrap(yaw)


def follow_with_diffusion(gen: DiffusionGenerator, points_m: np.ndarray, style: str | None = "normal",
                          speed: float = 1.4, chunk: int = 20, context: int = 30, steps: int = 10,
                          seed: int = 0) -> Clip:
    """A clip along `points_m` (N, 2) x, z metres, generated `chunk` frames at a time; feet cleaned up as
    the controller's takes are (`Controller.take`). `steps`: DDIM steps per re-plan, fewer than free
    generation's default, as this runs again every `chunk` frames (the family comparison of
    weights/controller.md measured it at 10)."""
    rep, fps = gen.rep, gen.fps
    voc = gen.vocabulary
    a = voc.action_id("run" if speed > RUN_SPEED else "walk")
    s = -1 if style is None else voc.style_id(style)
    pos, yaw = path_track(points_m, speed, fps)
    num_f, lay = len(pos), rep.layout
    root = track_features(np.c_[pos, yaw])  # (F, 3) per frame: velocity in its heading frame, turn rate
    dim = gen.mean.shape[0]
    feats = np.zeros((0, dim))
    k = 0
    while len(feats) < num_f:
        n_ctx = min(context, len(feats))
        frames = min(gen.window, n_ctx + num_f - len(feats))
        known, mask = np.zeros((frames, dim)), np.zeros((frames, dim))
        known[:n_ctx], mask[:n_ctx] = feats[len(feats) - n_ctx :], 1
        ahead = slice(len(feats), len(feats) + frames - n_ctx)
        known[n_ctx:, : lay.yaw_rate.stop], mask[n_ctx:, : lay.yaw_rate.stop] = root[ahead], 1
        out = gen.sample_features(1, frames, a, s, [seed + k], None, steps, known[None], mask[None], None)[0]
        keep = frames - n_ctx if n_ctx + chunk >= frames else chunk  # the last call keeps all it made
        feats = np.concatenate([feats, out[n_ctx : n_ctx + keep]])
        k += 1
    start = np.array([pos[0, 0], pos[0, 1], yaw[0]])
    clip = rep.decode(feats, fps, start, f"diffusion_follow_{style or 'any'}_{speed:g}")
    return plant_feet(clip, ground_contacts(clip, rep, feats[:, lay.contacts] > 0.5), rep, hinges=gen.hinges,
                      pull_swing=True)
