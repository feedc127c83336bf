"""Filling gaps in an animator's action on their own rig: through GenAnim's skeleton and back.

The rig's motion is retargeted onto GenAnim's skeleton (`rig.to_skeleton`), the model fills the gaps there,
and the result is retargeted back (`rig.to_rig`). The round trip does not return the animator's kept poses
exactly (proportions differ, feet are planted), so the kept frames take the animator's own bases, and the
generated frames are turned by the round trip's error at the kept frames either side of their gap, blended
across it: the fill joins the animator's poses without a jump. Pure numpy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..errors import GenAnimError
from ..motion.clip import Clip
from ..motion.rotations import normalize, quat_conjugate, quat_mul, quat_slerp
from .retarget import RigPose
from .rig import Rig, rig_clip, to_rig, to_skeleton

Gap = tuple[int, int]  # (last kept frame before, first kept frame after); -1 / the clip's length: open


def parse_gaps(text: str) -> list[Gap]:
    """Frame ranges written as "20-50, 80-110" (or "20..50") -> [(20, 50), (80, 110)]; GenAnimError otherwise."""
    pattern = re.compile(r"(-?\d+)\s*(?:-|\.\.)\s*(-?\d+)")
    gaps = [(int(m[1]), int(m[2])) for m in pattern.finditer(text)]
    rest = pattern.sub(" ", text).replace(",", " ").replace(";", " ").split()
    if rest or not gaps:
        bad = f"cannot read {rest[0]!r}" if rest else "no gap given"
        raise GenAnimError(f"{bad}: write each gap as From-To, e.g. 20-50, 80-110")
    return gaps


def frame_gaps(gaps: Sequence[Gap], first: int, last: int) -> tuple[int, int, list[Gap]]:
    """Gaps in scene frames of an action keyed on frames first..last -> (lo, hi, gaps in clip frames), the clip
    spanning scene frames lo..hi. Frames strictly between a gap's From and To are made; a From before the
    action's first frame or a To after its last extends the action to that frame (made, as an open gap)."""
    lo, hi = first, last
    for a, b in gaps:
        if a > last or b < first or a >= b:
            raise GenAnimError(f"gap {a}-{b}: From must come before To, and at least one of them must be a frame "
                               f"of the action ({first}..{last})")
        if a < first and b > last:
            raise GenAnimError(f"gap {a}-{b} covers the whole action ({first}..{last}): nothing would be kept")
        lo, hi = min(lo, a), max(hi, b)
    num_f = hi - lo + 1
    return lo, hi, [(-1 if a < first else a - lo, num_f if b > last else b - lo) for a, b in gaps]


def check_gaps(gaps: Sequence[Gap], num_frames: int) -> list[Gap]:
    """`gaps` sorted, each with a frame to fill and a kept frame on at least one side, none overlapping
    (neighbours may share a kept frame); GenAnimError naming the first bad one otherwise."""
    out = sorted((int(a), int(b)) for a, b in gaps)
    if not out:
        raise GenAnimError("no gap to fill")
    for a, b in out:
        if not -1 <= a < b <= num_frames or b - a < 2 or (a, b) == (-1, num_frames):
            raise GenAnimError(f"gap {a}..{b} needs a frame to fill between its ends and a kept frame on one side "
                               f"inside the clip's {num_frames} frames")
    for (_, b0), (a1, _) in zip(out, out[1:], strict=False):
        if a1 < b0:
            raise GenAnimError(f"gaps overlap: one ends at frame {b0}, the next starts at {a1}")
    return out


def fill_gaps(gen, clip: Clip, gaps: Sequence[Gap], action: str | None = None, style: str | None = None,
              seed: int = 0, progress: Callable[[float], bool] | None = None, **options) -> Clip:
    """`clip` with every gap filled by `gen.inbetween` (`options`: its steps, temperature, samples), in frame
    order, gap i with seed `seed` + i. `progress(fraction)` returning False cancels (GenAnimError)."""
    gaps = check_gaps(gaps, clip.num_frames)
    for i, (a, b) in enumerate(gaps):
        part = None if progress is None else (lambda f, i=i: progress((i + f) / len(gaps)))
        clip = gen.inbetween(clip, a, b, action, style, seed=seed + i, progress=part, **options)
    return clip


def fill_rig_gaps(gen, rig: Rig, bone_map: Mapping[str, str], pose: RigPose, fps: float, gaps: Sequence[Gap],
                  action: str | None = None, style: str | None = None, seed: int = 0,
                  progress: Callable[[float], bool] | None = None, **options) -> RigPose:
    """The mapped bones' bases of `pose` (the animator's motion, every frame) with the gaps filled.

    bone_map: {GenAnim joint: rig bone}; `options` as `fill_gaps`. Kept frames are the animator's bases
    exactly; so are the locations of mapped bones that the retargeter does not move (all but the hips)."""
    gaps = check_gaps(gaps, len(pose.quaternions))
    ours = to_skeleton(rig_clip(rig, pose, fps), gen.skeleton, bone_map)
    back = to_rig(fill_gaps(gen, ours, gaps, action, style, seed, progress, **options), rig, bone_map)
    index = [pose.bones.index(b) for b in back.bones]
    loc0, q0 = pose.locations[:, index], pose.quaternions[:, index]
    loc, quat = loc0.copy(), q0.copy()
    moved = back.moving  # the bones whose location the retarget keys (the hips)
    for a, b in gaps:
        frames = np.arange(a + 1, b)
        ends = [f for f in (a, b) if 0 <= f < len(q0)]
        q_fix = [quat_mul(q0[f], quat_conjugate(back.quaternions[f])) for f in ends]  # (K, 4) per kept end
        l_fix = [loc0[f] - back.locations[f] for f in ends]
        if len(ends) == 2:
            w = ((frames - a) / (b - a))[:, None, None]
            q_fix = quat_slerp(q_fix[0][None], q_fix[1][None], w[..., 0])
            l_fix = (1 - w) * l_fix[0] + w * l_fix[1]
        else:
            q_fix, l_fix = q_fix[0][None], l_fix[0][None]
        quat[frames] = normalize(quat_mul(q_fix, back.quaternions[frames]))
        loc[np.ix_(frames, moved)] = (back.locations[frames] + l_fix)[:, moved]
    dots = np.sum(quat[1:] * quat[:-1], axis=-1)  # sign-continuous, as keys interpolate
    quat[1:] *= np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)[..., None]
    return RigPose(back.bones, loc, quat, back.moving)
