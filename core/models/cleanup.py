"""Post-processing of generated clips: rotation continuity, temporal smoothing, foot-contact cleanup,
root re-placement.

`continuous_rotations` undoes the half-turn joint twists a sampler makes when it reverses a 6D
rotation column between frames; `smooth_time` then low-passes the features. `fill_pops`, last,
re-draws what still turns a joint faster than real motion does (a low-pass through a fast turn,
two-bone IK at full reach).

`plant_feet` holds the feet, per leg, with analytic two-bone IK (hip and knee): during each predicted
contact (from the frame before its first flag: a flag says the step into its frame was slow) the ankle is
held at one spot on the ground plane (its height stays as generated), easing in and out over a few
frames; then each toe in contact is held the same way by turning its foot about the ankle (a rolling
foot's toes stand while the heel lifts). Inside an in-between gap, `pin_stance_feet` first
shifts the root (and so the whole body) horizontally against the slide of the feet the model marks as in
contact (their mean slide where several are), low-passed so that only drift, not frame-to-frame noise,
moves the root; free generation keeps the model's root path, since there the legs, not the root, are what
falls short (see `Generator._finish`). Both trust the contact flags they are given: a swing foot wrongly
marked as planted is held too.
`ground_contacts` adds the contacts a model missed while its feet slide (the controller's takes; not the
diffusion model's clips, whose runs it spoiled, nor in-between gaps, where it raised the error against the
recorded motion).
"""

from __future__ import annotations

import numpy as np

from ..motion.clip import Clip
from ..motion.hinges import Hinges
from ..motion.ik import runs, swing, two_bone_ik
from ..motion.kinematics import forward_kinematics
from ..motion.representation import PLANE, UP, MotionRepresentation
from ..motion.rotations import matrix_to_quat, quat_angle, quat_slerp, quat_to_matrix, wrap_angle, yaw_matrix

MAX_PIN_SPEED = 1.0  # leg lengths per second: faster "contacts" are mispredictions and are left alone
MAX_AIM = np.radians(25.0)  # a toe pin turns its foot at most this far: a toe held further is a misprediction
ROOT_SMOOTH = 4.0  # frames: sigma of the low-pass on the root correction


def set_root_global(clip: Clip, rep: MotionRepresentation, frames: np.ndarray, rot: np.ndarray, pos: np.ndarray,
                    parent_rot: np.ndarray, parent_pos: np.ndarray) -> None:
    """Write global root rotations (n, 3, 3) and positions (n, 3) at `frames` into `clip` (in place),
    given the global transform of the root's parent at those frames (identity/zero for none)."""
    inv = np.swapaxes(parent_rot, -1, -2)
    clip.rotations[frames, rep.root] = matrix_to_quat(inv @ rot)
    clip.translations[frames, rep.root] = (inv @ (pos - parent_pos)[..., None])[..., 0]


def parent_transform(rep: MotionRepresentation, g_rot: np.ndarray, g_pos: np.ndarray):
    """Global rotation and position of the root's parent per frame (identity and zero at the top)."""
    parent = int(rep.skeleton.parents[rep.root])
    if parent < 0:
        return np.broadcast_to(np.eye(3), g_rot[:, 0].shape).copy(), np.zeros_like(g_pos[:, 0])
    return g_rot[:, parent], g_pos[:, parent]


def pin_stance_feet(clip: Clip, contacts: np.ndarray, rep: MotionRepresentation,
                    span: tuple[int, int] | None = None) -> Clip:
    """Clip whose root moves so that the feet in contact (F, K bool, K = len(rep.feet)) do not slide.

    `span` = (a, b): correct only the frames a+1 .. b-1 (frame a stays where it is, later frames
    move with b-1)."""
    g_rot, g_pos = clip.global_transforms()
    feet = g_pos[:, rep.feet][..., PLANE]  # (F, K, 2)
    step = np.diff(feet, axis=0)  # (F-1, K, 2)
    speed = np.linalg.norm(step, axis=-1) * clip.fps  # (F-1, K)
    held = contacts[1:] & contacts[:-1] & (speed < MAX_PIN_SPEED * rep.leg_length)  # (F-1, K)
    if span is not None:  # span[0] = -1: nothing kept before the span
        held[: max(span[0], 0)] = False
        held[max(span[1] - 1, span[0], 0) :] = False
    count = held.sum(1, keepdims=True)  # (F-1, 1)
    slide = (step * held[..., None]).sum(1) / np.maximum(count, 1)  # (F-1, 2)
    offset = np.zeros((clip.num_frames, 3))
    offset[1:, PLANE] = -np.cumsum(slide, axis=0)
    # Only the slow part (drift) moves the root: frame-to-frame foot noise would become root jitter.
    offset = smooth_time(offset, ROOT_SMOOTH)
    offset -= offset[0 if span is None else max(span[0], 0)]
    p_rot, _ = parent_transform(rep, g_rot, g_pos)
    trans = clip.translations.copy()
    trans[:, rep.root] += (np.swapaxes(p_rot, -1, -2) @ offset[..., None])[..., 0]  # world shift in the parent's frame
    return Clip(clip.skeleton, clip.rotations.copy(), trans, clip.fps, clip.name)


def leg_ik(clip: Clip, hip: int, knee: int, ankle: int, frames: np.ndarray, target: np.ndarray,
           hinges: Hinges | None = None) -> None:
    """Turn `hip` and `knee` (in place) so that `ankle` reaches `target` (n, 3) at `frames` (n,), where
    the leg can reach (a knee is never locked straight); a knee among `hinges` bends about its axis."""
    g_rot, g_pos = forward_kinematics(clip.skeleton.parents, quat_to_matrix(clip.rotations[frames]),
                                      clip.translations[frames])  # the touched frames only
    hinge = g_rot[:, hip] @ hinges[knee] if hinges and knee in hinges else None  # (n, 3) in the world
    swing, knee_turn = two_bone_ik(g_pos[:, hip], g_pos[:, knee], g_pos[:, ankle], target, reach=0.999, hinge=hinge)
    hip_new = swing @ g_rot[:, hip]
    knee_new = swing @ knee_turn @ g_rot[:, knee]
    parent = int(clip.skeleton.parents[hip])
    inv = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    clip.rotations[frames, hip] = matrix_to_quat(inv(g_rot[:, parent]) @ hip_new)
    clip.rotations[frames, knee] = matrix_to_quat(inv(hip_new) @ knee_new)


def ground_contacts(clip: Clip, rep: MotionRepresentation, predicted: np.ndarray) -> np.ndarray:
    """(F, K) contacts: the `predicted` ones, and every frame where a foot joint is on the floor (within
    CONTACT_HEIGHT leg lengths of its lowest height) while moving slower than the root. A stance foot
    moves back relative to the body and a swing foot forward, faster than it: a low foot slower than
    the body is one that should stand, even where the model lets it slide (its contact flag then
    fails the training labels' absolute speed rule)."""
    g = clip.global_positions()
    feet = g[:, rep.feet]  # (F, K, 3)
    low = rep.on_floor(feet[..., UP])
    if len(g) < 2:
        return predicted.astype(bool) | low
    foot_speed = np.linalg.norm(np.gradient(feet[..., PLANE], axis=0), axis=-1)  # (F, K) per frame
    root_speed = np.linalg.norm(np.gradient(g[:, rep.root, PLANE], axis=0), axis=-1)  # (F,)
    return predicted.astype(bool) | (low & (foot_speed < root_speed[:, None]))


def leg_chains(rep: MotionRepresentation) -> list[tuple[int, int, int, int]]:
    """(contact column, hip, knee, ankle) of each foot joint of `rep` that ends a leg: toes follow their ankle,
    and a chain without a hip and a knee below the root is not a leg."""
    parents, names = rep.skeleton.parents, rep.skeleton.names
    out = []
    for k, ankle in enumerate(rep.feet):
        knee = int(parents[ankle])
        hip = int(parents[knee]) if knee >= 0 else -1
        if hip > rep.root and "toe" not in names[ankle].lower():
            out.append((k, hip, knee, ankle))
    return out


def _pin_shift(pos: np.ndarray, flags: np.ndarray, ease: int, pull_swing: bool) -> np.ndarray:
    """(F, 3) floor-plane shift that holds a joint at positions `pos` (F, 3) still during each run of `flags` (F,)
    and the frame before it (runs at most 2 frames apart joined, 1-frame flicker dropped): at the run's middle
    frame's spot, the shift at the run's first (last) frame fading out over `ease` frames
    (or, with `pull_swing`, each eased frame drawn towards the spot), low-passed so that pins start and end
    without kinks."""
    num_f = len(pos)
    offset = np.zeros((num_f, 3))
    weight = np.zeros(num_f)
    for s0, e0 in runs(flags, bridge=2, shortest=2):
        s0 = max(s0 - 1, 0)  # a flag says the step into its frame was slow: the foot stands from the frame before
        spot = pos[(s0 + e0 - 1) // 2, PLANE]
        for f in range(max(0, s0 - ease), min(num_f, e0 + ease)):
            w = 1.0 if s0 <= f < e0 else 1.0 - (s0 - f if f < s0 else f - e0 + 1) / (ease + 1)
            if w > weight[f]:
                weight[f] = w
                offset[f] = 0.0
                offset[f, PLANE] = spot - pos[f if pull_swing else min(max(f, s0), e0 - 1), PLANE]
    return smooth_time(weight[:, None] * offset, 1.0)


def plant_feet(clip: Clip, contacts: np.ndarray, rep: MotionRepresentation, span: tuple[int, int] | None = None,
               ease: int = 8, hinges: Hinges | None = None, pull_swing: bool = False) -> Clip:
    """Clip whose ankles, then toes, stay put during their predicted contacts (F, K bool).

    A flag at frame t means what the training labels mean (`MotionRepresentation.foot_contacts`): the foot is
    near the floor and its step from t-1 to t is slow, so each run of flags is held from the frame before its
    first (held from the first, the step into every contact kept the network's speed: foot skating above real's,
    weights/diffusion.md). Each run holds the joint at its planar position in the run's middle frame. Over
    `ease` frames either side, the shift the pin makes at the run's first (last) frame fades out: the swing
    keeps its own shape, only offset. (Blending each swing frame towards the pin instead dragged the swing foot
    to its landing spot a third of a running stride early: runs scored 16x their real distance, not 5x,
    weights/diffusion.md.) `pull_swing` does just that, for the controllers, whose feet slide into and out of
    their contacts: the pull is what keeps their foot skating under the Follow Path bar (without it, some
    `bench/bench_follow.py` takes failed that bar). Ankles are held by two-bone leg IK (knees among `hinges`
    bend about their own axis only); toes, after, by turning the ankle towards their spot, which keeps a rolling
    foot's toes planted while its heel lifts. `span` = (a, b): touch frames a+1 .. b-1 only."""
    out = Clip(clip.skeleton, clip.rotations.copy(), clip.translations.copy(), clip.fps, clip.name)
    lo, hi = (0, clip.num_frames) if span is None else (span[0] + 1, span[1])

    def touched(shift: np.ndarray) -> np.ndarray:
        frames = np.nonzero(np.abs(shift).max(-1) > 1e-3)[0]
        return frames[(frames >= lo) & (frames < hi)]

    feet = out.global_positions()  # (F, J, 3); each leg's IK leaves the other feet where they are
    chains = leg_chains(rep)
    for k, hip, knee, ankle in chains:
        shift = _pin_shift(feet[:, ankle], contacts[:, k], ease, pull_swing)
        frames = touched(shift)
        if len(frames):
            leg_ik(out, hip, knee, ankle, frames, feet[frames, ankle] + shift[frames], hinges)
    ankles = {ankle for _, _, _, ankle in chains}
    g_rot, g_pos = out.global_transforms()
    for k, toe in enumerate(rep.feet):
        ankle = int(rep.skeleton.parents[toe])
        if ankle not in ankles:
            continue
        shift = _pin_shift(g_pos[:, toe], contacts[:, k], ease, pull_swing)
        frames = touched(shift)
        if len(frames):
            aim_joint(out, ankle, toe, frames, g_pos[frames, toe] + shift[frames], g_rot[frames], g_pos[frames])
    return out


def aim_joint(clip: Clip, joint: int, child: int, frames: np.ndarray, target: np.ndarray, g_rot: np.ndarray,
              g_pos: np.ndarray) -> None:
    """Turn `joint` (in place) by the least rotation, at most MAX_AIM, that points its bone to `child` at `target`
    (n, 3), at `frames` (n,) whose global transforms are `g_rot` (n, J, 3, 3) and `g_pos` (n, J, 3)."""
    new = swing(g_pos[:, child] - g_pos[:, joint], target - g_pos[:, joint], MAX_AIM) @ g_rot[:, joint]
    parent = int(clip.skeleton.parents[joint])
    clip.rotations[frames, joint] = matrix_to_quat(np.swapaxes(g_rot[:, parent], -1, -2) @ new)


def match_end(clip: Clip, rep: MotionRepresentation, start: int, end: int, gen_end: tuple[np.ndarray, float],
              target: tuple[np.ndarray, float], parent_rot: np.ndarray, parent_pos: np.ndarray) -> Clip:
    """Spread the root's placement error at frame `end` over the generated frames start+1 .. end-1 (in place).

    `gen_end` is where the generated motion would put the root at `end` (position, heading),
    `target` where the kept frame `end` has it. The generated frames' root is turned about the
    vertical through the root at `start` by a growing share of the heading error, then shifted
    by a growing share of the position error, so that the motion joins frame `end` without a jump.
    """
    g_rot, g_pos = clip.global_transforms()
    root_rot, root_pos = g_rot[:, rep.root], g_pos[:, rep.root]
    d_yaw = float(wrap_angle(target[1] - gen_end[1]))
    pivot = root_pos[start]
    d_pos = target[0] - (pivot + yaw_matrix(d_yaw) @ (gen_end[0] - pivot))
    d_pos[UP] = 0.0  # heights are generated per frame, not integrated: nothing to spread
    frames = np.arange(start + 1, end)
    w = (frames - start) / (end - start)  # (n,)
    turn = yaw_matrix(w * d_yaw)  # (n, 3, 3)
    rot = turn @ root_rot[frames]
    pos = pivot + (turn @ (root_pos[frames] - pivot)[..., None])[..., 0] + w[:, None] * d_pos
    set_root_global(clip, rep, frames, rot, pos, parent_rot, parent_pos)
    return clip


def continuous_rotations(feats: np.ndarray, rep: MotionRepresentation, reference: np.ndarray) -> np.ndarray:
    """(F, D) features whose 6D joint rotations never reverse a column from one frame to the next.

    Reversing one or both of the two columns of a 6D rotation turns it by half a turn. A sampler
    unsure between two poses sometimes passes a column through zero and lands on its reverse for
    a stretch of frames (a knee or shoulder twisted 180 degrees within a frame or two; a column of
    real motion never turns by a right angle between frames). Each column's sign is made
    continuous through time, then, where it reversed, set for the whole clip to the one nearer
    `reference` (D,), the data's mean features.
    """
    num_f = len(feats)
    cols = feats[:, rep.layout.rot6d].reshape(num_f, -1, 3)  # (F, 2J, 3)
    turn = np.where(np.sum(cols[1:] * cols[:-1], -1) < 0, -1.0, 1.0)  # (F-1, 2J): -1 where a column reverses
    sign = np.cumprod(np.concatenate([np.ones((1, cols.shape[1])), turn]), axis=0)  # (F, 2J)
    ref = reference[rep.layout.rot6d].reshape(-1, 3)  # (2J, 3)
    nearer = np.where(np.sum(sign[..., None] * cols * ref, axis=(0, 2)) < 0, -1.0, 1.0)  # (2J,) whole clip
    sign *= np.where((turn < 0).any(0), nearer, 1.0)  # columns that never reverse stay as sampled
    out = feats.copy()
    out[:, rep.layout.rot6d] = (cols * sign[..., None]).reshape(num_f, -1)
    return out


def fill_pops(rotations: np.ndarray, max_turn: float = np.pi / 2, span: int = 15, ease: int = 4) -> np.ndarray:
    """(F, J, 4) local rotations in which no joint turns by more than `max_turn` (radians) between two
    frames, as real motion never does at 30 fps (a low-pass through a fast turn, or two-bone IK
    at full reach, can make such a pop).

    A joint's frames fall into stretches between pops. Stretches of at most `span` frames, other than
    the joint's longest, are re-drawn by slerp between the frames around them (held at a clip's ends);
    a pop still left between two long stretches is spread by slerp over `ease` frames each side.
    """
    q = rotations.copy()
    num_f = len(q)
    for j in range(q.shape[1]):
        pops = np.nonzero(quat_angle(q[1:, j], q[:-1, j]) > max_turn)[0] + 1  # first frame after each pop
        if not len(pops):
            continue
        bounds = np.concatenate([[0], pops, [num_f]])
        lengths = np.diff(bounds)
        keep = (lengths > span) | (np.arange(len(lengths)) == lengths.argmax())  # (S,) stretches kept
        for first, last in runs(~keep):  # each run of dropped stretches: frames bounds[first] .. bounds[last]-1
            _bridge(q[:, j], bounds[first] - 1, bounds[last])
        for p in np.nonzero(quat_angle(q[1:, j], q[:-1, j]) > max_turn)[0] + 1:  # left between long stretches
            _bridge(q[:, j], max(p - 1 - ease, 0), min(p + ease, num_f - 1))
    return q


def _bridge(q: np.ndarray, a: int, b: int) -> None:
    """Re-draw q[a+1 .. b-1] (F, 4) in place by slerp from q[a] to q[b]; a = -1 or b = F holds the other end."""
    if a < 0:
        q[:b] = q[b]
    elif b >= len(q):
        q[a + 1 :] = q[a]
    else:
        t = np.arange(1, b - a) / (b - a)
        q[a + 1 : b] = quat_slerp(np.broadcast_to(q[a], (len(t), 4)), np.broadcast_to(q[b], (len(t), 4)), t)


def smooth_time(x: np.ndarray, sigma: float) -> np.ndarray:
    """(F, D) features low-passed along time by a Gaussian of `sigma` frames (edges padded by repetition)."""
    if sigma <= 0 or len(x) < 2:
        return x
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(x, ((r, r), (0, 0)), mode="edge")  # (F + 2r, D)
    return sum(k[i] * pad[i : i + len(x)] for i in range(2 * r + 1))
