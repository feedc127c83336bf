"""The learning representation of a clip: one feature vector per frame.

Per frame t, in this order (D = 4 + 6J + K for J joints and K foot joints):

  root_vel   (2)   planar velocity of the root (pelvis) from t to t+1, in the
                   heading frame of t (so the features do not depend on where
                   the character stands or faces)
  yaw_rate   (1)   change of heading from t to t+1, radians, wrapped to [-pi, pi)
  root_height (1)  height of the root above the ground plane
  rot6d      (6J)  local joint rotations in 6D; the root's is its global
                   rotation relative to the heading, joints above the root are
                   folded into it (identity here)
  contacts   (K)   foot contact flags (0/1) for the foot and toe joints

The last frame's root_vel and yaw_rate repeat the previous frame's; decoding
ignores them. Decoding integrates velocities from a start (x, z, yaw), so
encode -> decode gives back global joint positions to float64 round-off (no
drift over long clips). Axes: the up axis is Y, as in BVH; units are those of
the skeleton (centimetres for the Bandai Namco data).

The heading is the direction the pelvis faces: the horizontal vector
perpendicular to the line from the right hip to the left hip, taken from the
skeleton's rest offsets and carried by the root's global rotation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .clip import Clip
from .kinematics import forward_kinematics
from .rotations import cross, matrix_to_6d, matrix_to_quat, normalize, sixd_to_matrix, wrap_angle, yaw_matrix
from .skeleton import Skeleton

UP = 1  # Y up
PLANE = [a for a in range(3) if a != UP]  # the horizontal axes
_FOOT = re.compile(r"foot|toe|ankle", re.IGNORECASE)
# Contact thresholds as fractions of the leg length (about 90 cm on the dataset skeleton).
CONTACT_HEIGHT = 0.05  # above the joint's lowest height in the clip
CONTACT_SPEED = 0.5  # per second, horizontal
# The root's columns lead every skeleton's features (the layout below).
ROOT_MOTION = slice(0, 3)  # root_vel, yaw_rate: the velocities decoding integrates into the path
ROOT_TRAJECTORY = slice(0, 4)  # root_vel, yaw_rate, root_height: the root's whole trajectory


@dataclass(frozen=True)
class Layout:
    root_vel: slice
    yaw_rate: slice
    root_height: slice
    rot6d: slice
    contacts: slice
    dim: int


class MotionRepresentation:
    """Encoder/decoder between clips of one skeleton and (F, D) feature arrays."""

    def __init__(self, skeleton: Skeleton):
        self.skeleton = skeleton
        parents = skeleton.parents
        children = [skeleton.children(j) for j in range(skeleton.num_joints)]
        # The root is the pelvis: the first joint where the body branches (hips and spine).
        branching = [j for j in range(skeleton.num_joints) if len(children[j]) >= 2]
        self.root = branching[0] if branching else 0
        self.ancestors = []
        j = int(parents[self.root])
        while j >= 0:
            self.ancestors.insert(0, j)
            j = int(parents[j])
        mirror = skeleton.mirror_indices()
        pair = [c for c in children[self.root] if mirror[c] != c]
        if len(pair) >= 2:
            left = [c for c in pair if skeleton.is_left(c)]
            first = left[0] if left else pair[0]
            across = skeleton.offsets[first] - skeleton.offsets[mirror[first]]
        else:
            across = np.array([1.0, 0.0, 0.0])
        self.across = normalize(across)  # root-local left direction
        self.feet = ([skeleton.index(n) for n in skeleton.foot_joints] if skeleton.foot_joints
                     else [j for j in range(skeleton.num_joints) if _FOOT.search(skeleton.names[j])])
        self.leg_length = self._leg_length()
        num_j, num_k = skeleton.num_joints, len(self.feet)
        self.layout = Layout(
            root_vel=slice(ROOT_MOTION.start, ROOT_MOTION.stop - 1),
            yaw_rate=slice(ROOT_MOTION.stop - 1, ROOT_MOTION.stop),
            root_height=slice(ROOT_MOTION.stop, ROOT_TRAJECTORY.stop),
            rot6d=slice(4, 4 + 6 * num_j),
            contacts=slice(4 + 6 * num_j, 4 + 6 * num_j + num_k),
            dim=4 + 6 * num_j + num_k,
        )

    @property
    def dim(self) -> int:
        return self.layout.dim

    def _leg_length(self) -> float:
        """Rest length of the chain from the root to the first foot joint (a scale for thresholds)."""
        if not self.feet:
            return float(np.linalg.norm(self.skeleton.offsets, axis=-1).sum() / 4 or 1.0)
        length, j = 0.0, self.feet[0]
        while j > self.root:
            length += float(np.linalg.norm(self.skeleton.offsets[j]))
            j = int(self.skeleton.parents[j])
        return length or 1.0

    # --- heading -----------------------------------------------------------------

    def heading(self, root_rot: np.ndarray) -> np.ndarray:
        """(…, 3, 3) global root rotations -> (…,) yaw in radians (0 = facing +Z)."""
        left = root_rot @ self.across
        up = np.zeros_like(left)
        up[..., UP] = 1.0
        fwd = cross(left, up)
        return np.arctan2(fwd[..., 0], fwd[..., 2])

    def _root_global(self, clip: Clip) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Global rotations (F, J, 3, 3), positions (F, J, 3), root rotation and position."""
        g_rot, g_pos = clip.global_transforms()
        return g_rot, g_pos, g_rot[:, self.root], g_pos[:, self.root]

    def start_of(self, clip: Clip) -> np.ndarray:
        """(x, z, yaw) of the root at the first frame: where decode should start to rebuild `clip`."""
        _, _, rot, pos = self._root_global(clip.slice(0, 1))
        return np.array([pos[0, 0], pos[0, 2], self.heading(rot[0])])

    # --- encode / decode ---------------------------------------------------------

    def encode(self, clip: Clip) -> np.ndarray:
        """Clip -> (F, D) float64 features."""
        lay = self.layout
        num_f = clip.num_frames
        g_rot, g_pos, rot, pos = self._root_global(clip)
        yaw = self.heading(rot)  # (F,)
        inv_heading = yaw_matrix(-yaw)  # (F, 3, 3)
        feats = np.zeros((num_f, lay.dim))
        if num_f > 1:
            delta = (inv_heading[:-1] @ (pos[1:] - pos[:-1])[..., None])[..., 0]  # (F-1, 3)
            feats[:-1, lay.root_vel] = delta[:, [0, 2]]
            feats[:-1, lay.yaw_rate] = wrap_angle(np.diff(yaw))[:, None]
            feats[-1, lay.root_vel] = feats[-2, lay.root_vel]
            feats[-1, lay.yaw_rate] = feats[-2, lay.yaw_rate]
        feats[:, lay.root_height] = pos[:, UP : UP + 1]
        local = clip.rotation_matrices().copy()  # (F, J, 3, 3)
        local[:, self.root] = inv_heading @ rot
        local[:, self.ancestors] = np.eye(3)
        feats[:, lay.rot6d] = matrix_to_6d(local).reshape(num_f, -1)
        feats[:, lay.contacts] = self.foot_contacts(g_pos, clip.fps)
        return feats

    def foot_contacts(self, positions: np.ndarray, fps: float) -> np.ndarray:
        """(F, J, 3) global positions -> (F, K) 0/1 contact flags of the foot joints.

        A foot joint is in contact when it is near its lowest height in the clip
        and moves slowly horizontally.
        """
        feet = positions[:, self.feet]  # (F, K, 3)
        height = feet[..., UP]
        plane = [a for a in range(3) if a != UP]
        vel = np.zeros(height.shape)
        if len(feet) > 1:
            step = np.linalg.norm(np.diff(feet[..., plane], axis=0), axis=-1) * fps
            vel[1:] = step
            vel[0] = step[0]
        slow = vel < CONTACT_SPEED * self.leg_length
        return (self.on_floor(height) & slow).astype(np.float64)

    def on_floor(self, height: np.ndarray) -> np.ndarray:
        """(F, K) heights of the foot joints -> (F, K) bool: near the joint's lowest height in the clip."""
        return height - np.percentile(height, 2, axis=0) < CONTACT_HEIGHT * self.leg_length

    def decode(self, feats: np.ndarray, fps: float, start: np.ndarray | None = None, name: str = "") -> Clip:
        """(F, D) features -> Clip, the root starting at `start` = (x, z, yaw) (default: origin, facing +Z)."""
        lay = self.layout
        feats = np.asarray(feats, dtype=np.float64)
        num_f = feats.shape[0]
        x0, z0, yaw0 = (0.0, 0.0, 0.0) if start is None else (float(v) for v in start)
        yaw = yaw0 + np.concatenate([[0.0], np.cumsum(feats[:-1, lay.yaw_rate.start])])  # (F,)
        heading = yaw_matrix(yaw)
        step = np.zeros((num_f, 3))
        step[:, 0] = feats[:, lay.root_vel.start]
        step[:, 2] = feats[:, lay.root_vel.start + 1]
        step = (heading @ step[..., None])[..., 0]
        pos = np.zeros((num_f, 3))
        pos[:, 0] = x0 + np.concatenate([[0.0], np.cumsum(step[:-1, 0])])
        pos[:, 2] = z0 + np.concatenate([[0.0], np.cumsum(step[:-1, 2])])
        pos[:, UP] = feats[:, lay.root_height.start]

        skel = self.skeleton
        local = sixd_to_matrix(feats[:, lay.rot6d].reshape(num_f, skel.num_joints, 6))  # (F, J, 3, 3)
        root_rot = heading @ local[:, self.root]
        translations = np.broadcast_to(skel.offsets, (num_f, skel.num_joints, 3)).copy()
        # Joints above the root rest at their offsets; express the root in their frame.
        local[:, self.ancestors] = np.eye(3)
        anc_rot, anc_pos = np.eye(3), np.zeros(3)
        if self.ancestors:
            rest_rot, rest_pos = forward_kinematics(
                skel.parents[: self.root], np.broadcast_to(np.eye(3), (self.root, 3, 3)), skel.offsets[: self.root]
            )
            parent = int(skel.parents[self.root])
            anc_rot, anc_pos = rest_rot[parent], rest_pos[parent]
        local[:, self.root] = anc_rot.T @ root_rot
        translations[:, self.root] = (pos - anc_pos) @ anc_rot  # anc_rot.T @ (p - a), row-vector form
        return Clip(skel, matrix_to_quat(local), translations, fps, name)


_CACHE: dict[int, MotionRepresentation] = {}


def representation_for(skeleton: Skeleton) -> MotionRepresentation:
    """The (cached) representation of a skeleton."""
    rep = _CACHE.get(id(skeleton))
    if rep is None or rep.skeleton is not skeleton:
        rep = _CACHE[id(skeleton)] = MotionRepresentation(skeleton)
    return rep


def encode(clip: Clip) -> np.ndarray:
    """Clip -> (F, D) features (see the module docstring)."""
    return representation_for(clip.skeleton).encode(clip)


def decode(feats: np.ndarray, skeleton: Skeleton, fps: float, start: np.ndarray | None = None) -> Clip:
    """(F, D) features -> Clip starting at `start` = (x, z, yaw)."""
    return representation_for(skeleton).decode(feats, fps, start)
