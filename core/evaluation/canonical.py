"""What the evaluation recognizer sees of a clip: joint positions in a canonical frame.

The judge must not depend on how a program represents motion (rotation formats, which joints carry
translations, a model's own features), so it reads only global joint positions, which every tool
and every real clip has. Per frame t (D = 3J + 3 for the J joints of the body: the root and the
joints below it; joints above the root, such as a `joint_Root` at the world origin, are no part of the
body and would tell where the character stands):

  joints    (3J)  every body joint's position relative to the root in the root's heading frame at t
                  (root at the horizontal origin, facing +Z, Y up), heights above the clip's floor
                  (its lowest joint height over the clip)
  root_vel  (2)   planar velocity of the root from t to t+1 in the heading frame of t, per second
  yaw_rate  (1)   change of heading from t to t+1, radians per second

The heading is taken from the hip joints' positions (the horizontal normal of the line from the
right hip to the left hip), so it needs no rotation data either. Clips at another frame rate are
resampled to `FPS` first.

Normalisation (`FeatureNorm`) subtracts a per-channel mean but divides by one spread per group of
channels (joint coordinates, root velocity, turn rate): a channel that hardly moves in the training
data (a knee's sideways rotation in a rotation representation) must not weigh more than one that
carries the motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import GenAnimError
from ..motion.clip import Clip
from ..motion.representation import UP, representation_for
from ..motion.rotations import wrap_angle, yaw_matrix
from ..motion.skeleton import Skeleton

FPS = 30.0


def resample(positions: np.ndarray, fps: float, target: float = FPS) -> np.ndarray:
    """(F, J, 3) positions at `fps` -> positions at `target` fps, linearly interpolated."""
    if abs(fps - target) < 1e-3 * target or len(positions) < 2:  # BVH frame times are rounded
        return positions
    t = np.arange(0.0, (len(positions) - 1) / fps + 1e-9, 1.0 / target) * fps
    i = np.minimum(np.floor(t).astype(int), len(positions) - 2)
    w = (t - i)[:, None, None]
    return positions[i] * (1 - w) + positions[i + 1] * w


def body_joints(skeleton: Skeleton) -> np.ndarray:
    """Indices of the body's joints: all but those above the root."""
    above = set(representation_for(skeleton).ancestors)
    return np.array([j for j in range(skeleton.num_joints) if j not in above])


def body_mirror(skeleton: Skeleton) -> np.ndarray:
    """Each body joint's left/right counterpart, as an index into `body_joints`."""
    body = body_joints(skeleton)
    where = {int(j): k for k, j in enumerate(body)}
    return np.array([where[int(m)] for m in skeleton.mirror_indices()[body]])


def hip_pair(clip: Clip) -> tuple[int, int, int]:
    """(root, left hip, right hip) joint indices of the clip's skeleton."""
    rep = representation_for(clip.skeleton)
    mirror = clip.skeleton.mirror_indices()
    pair = [c for c in clip.skeleton.children(rep.root) if mirror[c] != c]
    if not pair:
        raise GenAnimError(f"{clip.name or 'clip'}: the skeleton has no left/right hip joints to face by "
                            "(name the pairs in the library's skeleton.json: mirror_pairs)")
    left = float(rep.across @ (clip.skeleton.offsets[pair[0]] - clip.skeleton.offsets[mirror[pair[0]]])) > 0
    first = pair[0] if left else int(mirror[pair[0]])
    return rep.root, first, int(mirror[first])


def canonical_features(clip: Clip) -> np.ndarray:
    """Clip -> (F, 3J + 3) float64 features of the module docstring (F at `FPS`)."""
    root, left, right = hip_pair(clip)
    pos = resample(clip.global_positions(), clip.fps).copy()  # (F, J, 3); the floor moves in place below
    pos[..., UP] -= pos[..., UP].min()
    across = pos[:, left] - pos[:, right]  # (F, 3)
    yaw = np.arctan2(-across[:, 2], across[:, 0])  # forward = across x up, as the representation's heading
    inv = yaw_matrix(-yaw)  # (F, 3, 3)
    root_pos = pos[:, root].copy()
    rel = pos[:, body_joints(clip.skeleton)] - root_pos[:, None] * np.array([1.0, 0.0, 1.0])
    joints = np.einsum("fij,fkj->fki", inv, rel)  # (F, J, 3)
    num_f = len(pos)
    out = np.zeros((num_f, joints.shape[1] * 3 + 3))
    out[:, :-3] = joints.reshape(num_f, -1)
    if num_f > 1:
        step = np.einsum("fij,fj->fi", inv[:-1], root_pos[1:] - root_pos[:-1])  # (F-1, 3)
        out[:-1, -3:-1] = step[:, [0, 2]] * FPS
        out[:-1, -1] = wrap_angle(np.diff(yaw)) * FPS
        out[-1, -3:] = out[-2, -3:]
    return out


def mirror_features(feats: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """The left/right mirror image of (F, 3J + 3) features: x negated, sides swapped (`mirror`: from
    `body_mirror`), turns reversed."""
    num_f, num_j = len(feats), len(mirror)
    joints = feats[:, : 3 * num_j].reshape(num_f, num_j, 3)[:, mirror] * np.array([-1.0, 1.0, 1.0])
    out = feats.copy()
    out[:, : 3 * num_j] = joints.reshape(num_f, -1)
    out[:, -3] *= -1.0
    out[:, -1] *= -1.0
    return out


@dataclass
class FeatureNorm:
    """Per-channel mean, one spread per group of channels (see the module docstring)."""

    mean: np.ndarray  # (D,)
    std: np.ndarray  # (D,), constant within each group

    @classmethod
    def fit(cls, sequences: list[np.ndarray]) -> FeatureNorm:
        allf = np.concatenate(sequences)
        mean, var = allf.mean(0), allf.var(0)
        std = np.empty_like(mean)
        for group in (slice(0, -3), slice(-3, -1), slice(-1, None)):
            std[group] = max(float(np.sqrt(var[group].mean())), 1e-6)
        return cls(mean, std)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        return (feats - self.mean) / self.std
