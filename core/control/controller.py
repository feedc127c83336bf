"""The runtime controller: one frame per `step`, the root integrated explicitly.

    ctl = load_controller()                 # weights/controller.safetensors
    ctl.reset()                             # standing start at the origin facing +Z
    for _ in range(300):
        ctl.step((0.0, 1.4), style="normal")  # commanded planar velocity (x, z), metres/s, world frame
    clip = ctl.take()                       # the frames so far as a Clip (feet planted)

Units follow the data: Y up, centimetres; velocities on the public API are metres per second.
The root's position and yaw are state of the controller, not of the network: every frame moves the
root by the velocity the previous frame predicted, plus any `nudge` (path following pulls the root
onto the path). The take's root velocities are recomputed from that explicit track, so decoding
the take gives exactly the positions the character had live; bone lengths are those of the fixed
skeleton, whatever the network outputs.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..data.labels import Vocabulary
from ..errors import GenAnimError
from ..motion.clip import Clip
from ..motion.representation import ROOT_MOTION, representation_for
from ..motion.rotations import wrap_angle, yaw_matrix
from ..motion.skeleton import Skeleton
from ..runtime.controller import NumpyControllerNet
from .trajectory import METRE, TRAJ_FRAMES, control_vector

WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "controller.safetensors"
RUN_SPEED = 2.2  # m/s: commanded speeds above this use the `run` action label
HORIZON = max(TRAJ_FRAMES)
BLEND = 0.35
TURN_TAU = 8.0  # frames: time constant of the commanded trajectory's ease from current to commanded velocity


class ControlError(GenAnimError):
    """A bad control input: unknown style or action, a malformed path."""


def track_features(track: np.ndarray) -> np.ndarray:
    """(F, 3) root track x, z, yaw -> (F, 3) root features: planar velocity in the heading frame and
    turn rate from each frame to the next (the last frame repeats the previous, as encoding does)."""
    out = np.zeros((len(track), 3))
    if len(track) > 1:
        d = np.diff(track[:, :2], axis=0)
        c, s = np.cos(track[:-1, 2]), np.sin(track[:-1, 2])
        out[:-1, 0] = c * d[:, 0] - s * d[:, 1]  # inverse of the decoder's heading rotation
        out[:-1, 1] = s * d[:, 0] + c * d[:, 1]
        out[:-1, 2] = wrap_angle(np.diff(track[:, 2]))
        out[-1] = out[-2]
    return out


def load_controller(path: str | Path | None = None, seed: int = 0) -> Controller:
    """The controller from a weights file (default: the shipped `weights/controller.safetensors`)."""
    from ..models.weights import read_weights

    path = Path(path or WEIGHTS)
    if not path.is_file():
        raise GenAnimError(f"{path}: controller weights not found. Train and export them (python -m core control "
                           "train, then python -m core control export out/runs/controller)")
    arrays, meta = read_weights(path)
    if meta.get("kind") != "controller":
        raise GenAnimError(f"{path}: a {meta.get('kind')!r} model, not a controller")
    return Controller(arrays, meta, seed)


class Controller:
    """A trained controller with its skeleton, vocabulary and normalisation, and the state of one take.
    It steps with numpy alone (`core.runtime.controller`), torch installed or not."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, seed: int = 0):
        self.meta = meta
        self.vocabulary = Vocabulary.from_json(meta["vocabulary"])
        self.styles = list(self.vocabulary.styles)
        self.skeleton = Skeleton.from_json(meta["skeleton"])
        self.rep = representation_for(self.skeleton)
        self.fps = float(meta["fps"])
        self.net = NumpyControllerNet({k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")},
                                      meta["model"])
        self.mean = arrays["stats.mean"].astype(np.float64)
        self.std = arrays["stats.std"].astype(np.float64)
        self.start_frame = arrays["start.frame"].astype(np.float64) if "start.frame" in arrays else self.mean.copy()
        self.temperature = 0.0  # latent z ~ N(0, T^2); 0 = the mean motion (steadier tracking, see the card)
        self.rng = np.random.default_rng(seed)
        # Share of the way from the predicted to the commanded root velocity taken each frame (0: the model's
        # own; more answers the stick faster at the cost of feet that slide before cleanup; see the card).
        self.blend = BLEND
        start = self.rep.layout.rot6d.start + 6 * self.rep.root
        self._root6d = slice(start, start + 6)
        self._walk, self._run = self.vocabulary.action_id("walk"), self.vocabulary.action_id("run")
        self.reset()

    # --- labels ----------------------------------------------------------------------

    def style_id(self, style: str | None) -> int:
        if style is None or style == "":
            return -1
        if style not in self.styles:
            raise ControlError(f"unknown style {style!r}; this controller knows: {', '.join(self.styles)}")
        return self.vocabulary.style_id(style)

    def action_id(self, action: str | None, speed: float) -> int:
        """The given action, or walk / run by the commanded speed (m/s) when None."""
        if action is None:
            return self._run if speed > RUN_SPEED else self._walk
        if action not in self.vocabulary.actions:
            raise ControlError(f"unknown action {action!r}; known: {', '.join(self.vocabulary.actions)}")
        return self.vocabulary.action_id(action)

    # --- state -----------------------------------------------------------------------

    def reset(self, start: tuple[float, float, float] = (0.0, 0.0, 0.0), frame: np.ndarray | None = None) -> None:
        """Start a take at `start` = (x, z, yaw) (cm, radians) from `frame` (D,) raw features (default: a
        standing frame of the training data)."""
        first = np.array(self.start_frame if frame is None else frame, np.float64)
        first[ROOT_MOTION] = 0.0  # standing still
        self._cur = ((first - self.mean) / self.std).astype(np.float32)[None]  # (1, D) normalised
        self.pos = np.array(start[:2], np.float64)
        self.yaw = float(start[2])
        self.frames: list[np.ndarray] = [first]  # raw features per frame
        self.track: list[np.ndarray] = [np.array([*self.pos, self.yaw])]  # (x, z, yaw) per frame

    @property
    def velocity(self) -> np.ndarray:
        """(2,) current root velocity (x, z), metres per second, world frame."""
        v = self.frames[-1][self.rep.layout.root_vel]
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]]) * self.fps / METRE

    def commanded_trajectory(self, velocity: np.ndarray, facing: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Future root (K, 2) positions (cm) and (K,) yaws at TRAJ_FRAMES for a commanded world velocity
        (m/s): it eases from the current velocity to the commanded one, facing the way it goes."""
        v_des = np.asarray(velocity, np.float64) * METRE / self.fps  # cm per frame
        v_cur = self.velocity * METRE / self.fps
        i = np.arange(HORIZON)
        w = np.exp(-(i + 1) / TURN_TAU)[:, None]
        steps = v_des + (v_cur - v_des) * w  # (H, 2)
        pos = self.pos + np.cumsum(steps, 0)[np.array(TRAJ_FRAMES) - 1]
        if facing is None:
            speed = np.linalg.norm(v_des)
            facing = math.atan2(v_des[0], v_des[1]) if speed > 0.1 else self.yaw
        k = np.array(TRAJ_FRAMES, np.float64)
        yaw = self.yaw + wrap_angle(facing - self.yaw) * (1 - np.exp(-k / TURN_TAU))
        return pos, yaw

    def step(self, velocity=(0.0, 0.0), style: str | None = None, action: str | None = None,
             facing: float | None = None) -> np.ndarray:
        """One frame towards a commanded planar world velocity (m/s); returns its (D,) raw features."""
        fut_pos, fut_yaw = self.commanded_trajectory(velocity, facing)
        speed = float(np.linalg.norm(velocity))
        v_des = np.asarray(velocity, np.float64) * METRE / self.fps
        want_yaw = math.atan2(v_des[0], v_des[1]) if speed > 0.1 and facing is None else facing
        return self.step_trajectory(fut_pos, fut_yaw, self.style_id(style), self.action_id(action, speed),
                                    v_des, want_yaw)

    def step_trajectory(self, fut_pos: np.ndarray, fut_yaw: np.ndarray, style: int = -1, action: int = -1,
                        want_vel: np.ndarray | None = None, want_yaw: float | None = None) -> np.ndarray:
        """One frame given the desired future root (K, 2) cm and (K,) yaws at TRAJ_FRAMES, world frame.

        `want_vel` (2,) cm/frame and `want_yaw`: the velocity and facing that `blend` pulls the root towards
        (default: towards the first trajectory point)."""
        ctrl = control_vector(self.pos, np.float64(self.yaw), fut_pos, fut_yaw).astype(np.float32)[None]
        z = np.zeros((1, self.net.cfg["latent"]), np.float32)
        if self.temperature > 0:
            z = self.rng.standard_normal(z.shape, np.float32) * np.float32(self.temperature)
        nxt = self.net.decode(z, self._cur, ctrl, np.array([style]), np.array([action]))  # (1, D)
        raw = nxt[0].astype(np.float64) * self.std + self.mean
        # Move the root by the velocity of the frame it is in (as decode integrates it).
        v = self.frames[-1]
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        self.pos = self.pos + np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])
        self.yaw = float(wrap_angle(self.yaw + v[2]))
        if self.blend > 0:  # pull the new frame's root velocity and turn rate towards the commanded ones
            k = TRAJ_FRAMES[0]
            d = (fut_pos[0] - self.pos) / k if want_vel is None else want_vel  # cm per frame, world
            face = fut_yaw[0] if want_yaw is None else want_yaw
            c, s = math.cos(self.yaw), math.sin(self.yaw)
            want = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1], wrap_angle(face - self.yaw) / k])
            raw[ROOT_MOTION] += self.blend * (want - raw[ROOT_MOTION])
        raw = self._sanitise(raw)
        self._cur = ((raw - self.mean) / self.std).astype(np.float32)[None]
        self.frames.append(raw)
        self.track.append(np.array([*self.pos, self.yaw]))
        return raw

    def _sanitise(self, raw: np.ndarray) -> np.ndarray:
        """Clamp the features to a band around the training data, so that no input can blow them up, and
        take any turn about the vertical out of the root's rotation: by the representation's definition
        it is relative to the heading, which the explicit track carries (else the pelvis twists away)."""
        lo, hi = self.mean - 6 * self.std, self.mean + 6 * self.std
        raw = np.clip(np.nan_to_num(raw, nan=0.0), lo, hi)
        r6 = self._root6d
        b1 = raw[r6][:3] / max(np.linalg.norm(raw[r6][:3]), 1e-9)  # Gram-Schmidt, as sixd_to_matrix
        a2 = raw[r6][3:]
        b2 = a2 - (b1 @ a2) * b1
        b2 /= max(np.linalg.norm(b2), 1e-9)
        left = np.stack([b1, b2, np.cross(b1, b2)], -1) @ self.rep.across
        h = math.atan2(-left[2], left[0])  # heading of the root rotation: forward = left x up
        raw[r6] = np.concatenate([b1, b2]) @ np.kron(np.eye(2), yaw_matrix(-h).T)  # both columns turned by -h
        return raw

    def settle(self, weight: float) -> None:
        """Take the current frame `weight` of the way to the standing frame the take started from, root at rest
        and feet down (the data's walks and runs never stop: the network alone does not come to rest)."""
        raw = self.frames[-1] + weight * (self.start_frame - self.frames[-1])
        raw[ROOT_MOTION] *= 1.0 - weight
        raw[self.rep.layout.contacts] = 1.0
        raw = self._sanitise(raw)
        self.frames[-1] = raw
        self._cur = ((raw - self.mean) / self.std).astype(np.float32)[None]

    def nudge(self, d_pos: np.ndarray, d_yaw: float = 0.0) -> None:
        """Move the current root by (2,) cm and turn it by radians (explicit corrections, kept in the take)."""
        self.pos = self.pos + np.asarray(d_pos, np.float64)
        self.yaw = float(wrap_angle(self.yaw + d_yaw))
        self.track[-1] = np.array([*self.pos, self.yaw])

    # --- output ----------------------------------------------------------------------

    def take_features(self, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(F, D) raw features of frames `first`.. with the root velocities recomputed from the explicit
        track (corrections included), and the (x, z, yaw) start for decoding them."""
        feats = np.array(self.frames[first:])
        tr = np.array(self.track[first:])
        if len(tr) > 1:
            feats[:, ROOT_MOTION] = track_features(tr)
        return feats, tr[0]

    def pose(self) -> Clip:
        """The current frame as a one-frame clip (for live display)."""
        feats, start = self.take_features(len(self.frames) - 1)
        return self.rep.decode(feats, self.fps, start)

    def take(self, name: str = "take", plant: bool = True) -> Clip:
        """All frames of the take as a clip, cleaned as generated clips are: no 6D rotation column reversed
        between frames (`continuous_rotations`), no joint turning faster than real motion does (`fill_pops`);
        `plant`: feet held still by leg IK during predicted contacts and wherever a foot on the floor moves
        slower than the body (`ground_contacts`), each swing drawn towards its next pin (`pull_swing`)."""
        from ..models.cleanup import continuous_rotations, fill_pops, ground_contacts, plant_feet

        feats, start = self.take_features()
        clip = self.rep.decode(continuous_rotations(feats, self.rep, self.mean), self.fps, start, name)
        if plant and len(feats) > 2:
            contacts = ground_contacts(clip, self.rep, feats[:, self.rep.layout.contacts] > 0.5)
            clip = plant_feet(clip, contacts, self.rep, pull_swing=True)
        clip.rotations = fill_pops(clip.rotations)
        return clip
