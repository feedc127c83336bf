"""A puppeteer session: keyboard state -> commanded velocity -> controller frames, clocked by real time.

The Blender modal operator forwards each event to `PuppeteerSession.event` and each timer tick to
`advance`; tests drive the same class with a scripted list of events. Nothing here touches bpy.
"""

from __future__ import annotations

import math

import numpy as np

from ..models.cleanup import leg_chains, leg_ik
from ..motion.clip import Clip
from ..motion.representation import PLANE
from .controller import Controller

# Stick directions in the view's ground frame: (right, forward).
DIRECTIONS = {"W": (0, 1), "UP_ARROW": (0, 1), "S": (0, -1), "DOWN_ARROW": (0, -1),
              "A": (-1, 0), "LEFT_ARROW": (-1, 0), "D": (1, 0), "RIGHT_ARROW": (1, 0)}
SHIFT = ("LEFT_SHIFT", "RIGHT_SHIFT")
NUMBERS = ("ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
STYLE_KEYS = ("normal", "active", "feminine", "youthful", "masculine", "exhausted", "elderly", "happy", "sad")
WALK_SPEED, RUN_SPEED = 1.4, 3.5  # m/s
MAX_FRAMES_PER_TICK = 6  # a stalled UI does not make the character catch up in one jump
SETTLE_S = 0.5  # seconds over which a character left alone eases into standing


class LiveFeet:
    """Feet held on the floor in the live pose, frame by frame (the kept take is cleaned as a whole instead).

    While the controller's frame flags a foot joint as standing, its ankle stays where it stood when the
    contact began (its height as generated), by two-bone leg IK of the live pose; when the flag drops, the
    correction fades out over EASE frames so the foot does not jump."""

    EASE = 4

    def __init__(self, ctl: Controller):
        self.legs = leg_chains(ctl.rep)  # (contact column, hip, knee, ankle)
        self.pins: dict[int, np.ndarray] = {}  # ankle -> (3,) position it is held at
        self.fading: dict[int, tuple[np.ndarray, int]] = {}  # ankle -> (last offset, frames left)

    def __call__(self, pose: Clip, contacts: np.ndarray) -> Clip:
        """The one-frame `pose` with the standing feet held; contacts (K,) bool of the rep's foot joints."""
        g = pose.global_positions()[0]
        for k, hip, knee, ankle in self.legs:
            offset = np.zeros(3)
            if contacts[k]:
                pin = self.pins.setdefault(ankle, g[ankle].copy())
                offset[PLANE] = pin[PLANE] - g[ankle, PLANE]
                self.fading[ankle] = (offset, self.EASE)
            else:
                self.pins.pop(ankle, None)
                last, left = self.fading.pop(ankle, (offset, 0))
                if left > 0:
                    offset = last * left / (self.EASE + 1)
                    self.fading[ankle] = (last, left - 1)
            if np.abs(offset).max() > 1e-6:
                leg_ik(pose, hip, knee, ankle, np.array([0]), (g[ankle] + offset)[None])
        return pose


class PuppeteerSession:
    """Live control of one take. `view_yaw`: the data-space yaw (radians, 0 = +Z) that "forward" points to."""

    def __init__(self, ctl: Controller, style: str = "normal", start: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 view_yaw: float = math.pi):
        ctl.style_id(style)
        self.ctl = ctl
        self.style = style
        self.styles = [s for s in STYLE_KEYS if s in ctl.styles]
        self.view_yaw = view_yaw  # default pi: forward = data -Z = Blender +Y (away from the front view)
        self.held: set[str] = set()
        self.run = False
        self._clock = 0.0
        self._rest = 0  # frames since the character came to rest with no key held
        ctl.reset(start)
        self.feet = LiveFeet(ctl)

    # --- input -----------------------------------------------------------------------

    def event(self, kind: str, value: str, shift: bool = False) -> str:
        """One input event (Blender's event.type / event.value names). Returns 'FINISH' (Enter),
        'CANCEL' (Esc), 'HANDLED' (a control key) or 'PASS' (anything else: camera keys stay free)."""
        press = value == 'PRESS'
        if kind in ('RET', 'NUMPAD_ENTER') and press:
            return 'FINISH'
        if kind == 'ESC' and press:
            return 'CANCEL'
        if kind in DIRECTIONS:
            if press:
                self.held.add(kind)
            elif value == 'RELEASE':
                self.held.discard(kind)
            self.run = shift
            return 'HANDLED'
        if kind in SHIFT:
            self.run = press or (value != 'RELEASE' and self.run)
            return 'HANDLED'
        if kind in NUMBERS and press:
            i = NUMBERS.index(kind)
            if i < len(self.styles):
                self.style = self.styles[i]
            return 'HANDLED'
        return 'PASS'

    @property
    def velocity(self) -> np.ndarray:
        """(2,) commanded world velocity (x, z) in m/s from the held keys."""
        right = sum(DIRECTIONS[k][0] for k in self.held)
        fwd = sum(DIRECTIONS[k][1] for k in self.held)
        norm = math.hypot(right, fwd)
        if norm == 0:
            return np.zeros(2)
        speed = RUN_SPEED if self.run else WALK_SPEED
        f = np.array([math.sin(self.view_yaw), math.cos(self.view_yaw)])  # forward on the ground (x, z)
        r = np.array([-f[1], f[0]])  # right of forward seen from above (Y up): forward rotated by -90 deg
        return speed * (right * r + fwd * f) / norm

    # --- time ------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        """Generate the frames that `seconds` of wall time account for; returns how many."""
        self._clock += seconds * self.ctl.fps
        n = min(int(self._clock), MAX_FRAMES_PER_TICK)
        self._clock = min(self._clock - n, 1.0)
        v = self.velocity
        for _ in range(n):
            self.ctl.step(v, self.style)
            # No key held and the character slow: it eases into standing (the network alone shuffles on).
            slow = not v.any() and float(np.linalg.norm(self.ctl.velocity)) < 0.2
            self._rest = self._rest + 1 if slow else 0
            if self._rest:
                self.ctl.settle(min(1.0, self._rest / (SETTLE_S * self.ctl.fps)))
        return n

    def pose(self) -> Clip:
        """The current frame for live display, its standing feet held on the floor (`LiveFeet`)."""
        contacts = self.ctl.frames[-1][self.ctl.rep.layout.contacts] > 0.5
        return self.feet(self.ctl.pose(), contacts)

    def play(self, script: list[tuple[float, str, str, bool]]) -> str:
        """Drive the session from (seconds after the previous event, kind, value, shift) tuples, as the
        operator would; returns the outcome ('FINISH', 'CANCEL' or 'RUNNING')."""
        for dt, kind, value, shift in script:
            while dt > 1e-9:  # timer ticks of at most 0.05 s
                tick = min(dt, 0.05)
                self.advance(tick)
                dt -= tick
            outcome = self.event(kind, value, shift)
            if outcome in ('FINISH', 'CANCEL'):
                return outcome
        return 'RUNNING'

    def status(self) -> str:
        speed = "run" if self.run else "walk"
        keys = " ".join(f"{i + 1}:{s}" for i, s in enumerate(self.styles))
        return (f"GenAnim puppeteer: WASD/arrows steer, Shift runs ({speed}), style {self.style} [{keys}], "
                f"Enter keeps the take, Esc cancels  |  {len(self.ctl.frames)} frames")

    def take(self, name: str = "puppeteer") -> Clip:
        return self.ctl.take(name)
