"""`Clip`: the core type for a piece of motion, and its conversion from and to BVH."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import MotionDataError
from .bvh import BVH, read_bvh, write_bvh
from .kinematics import forward_kinematics
from .rotations import euler_to_matrix, matrix_to_euler, matrix_to_quat, quat_to_matrix
from .skeleton import Skeleton

ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")


@dataclass
class Clip:
    """Motion of one skeleton: local rotations and translations per frame.

    A joint's translation is its rest offset unless the source animated it
    (BVH position channels replace the offset, as the format specifies).
    """

    skeleton: Skeleton
    rotations: np.ndarray  # (F, J, 4) local quaternions (w, x, y, z)
    translations: np.ndarray  # (F, J, 3) local translations, source units
    fps: float
    name: str = ""

    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps

    def rotation_matrices(self) -> np.ndarray:
        """(F, J, 3, 3) local rotation matrices."""
        return quat_to_matrix(self.rotations)

    def global_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """(F, J, 3, 3) global rotations and (F, J, 3) global positions."""
        return forward_kinematics(self.skeleton.parents, self.rotation_matrices(), self.translations)

    def global_positions(self) -> np.ndarray:
        """(F, J, 3) global joint positions."""
        return self.global_transforms()[1]

    def slice(self, start: int, stop: int) -> Clip:
        return replace(self, rotations=self.rotations[start:stop], translations=self.translations[start:stop])

    # --- BVH -----------------------------------------------------------------

    @classmethod
    def from_bvh(cls, bvh: BVH) -> Clip:
        if bvh.num_frames == 0:
            raise MotionDataError("the file has no frames", bvh.path)
        skel = Skeleton(tuple(bvh.names), bvh.parents, bvh.offsets, dict(bvh.end_sites), tuple(bvh.channels))
        num_f, num_j = bvh.num_frames, len(bvh.names)
        translations = np.broadcast_to(skel.offsets, (num_f, num_j, 3)).copy()
        mats = np.broadcast_to(np.eye(3), (num_f, num_j, 3, 3)).copy()
        for j, (chans, cols) in enumerate(zip(bvh.channels, bvh.channel_slices(), strict=True)):
            values = bvh.motion[:, cols]
            for k, c in enumerate(chans):
                if c.endswith("position"):
                    translations[:, j, "XYZ".index(c[0])] = values[:, k]
            rot_idx = [k for k, c in enumerate(chans) if c.endswith("rotation")]
            if rot_idx:
                order = "".join(chans[k][0] for k in rot_idx)
                mats[:, j] = euler_to_matrix(np.radians(values[:, rot_idx]), order)
        name = Path(bvh.path).stem if bvh.path else ""
        return cls(skel, matrix_to_quat(mats), translations, 1.0 / bvh.frame_time, name)

    def to_bvh(self, precision: int | None = 6) -> BVH:
        """BVH with the skeleton's channel layout (the dataset layout if it has none)."""
        skel = self.skeleton
        layout = skel.channels or tuple(ROOT_CHANNELS if p < 0 else JOINT_CHANNELS for p in skel.parents)
        mats = self.rotation_matrices()
        columns = []
        for j, chans in enumerate(layout):
            rot = [c for c in chans if c.endswith("rotation")]
            angles = {}
            if rot:
                order = "".join(c[0] for c in rot)
                if len(order) == 3:
                    eul = np.degrees(matrix_to_euler(mats[:, j], order))
                else:  # 1-2 rotation channels can only hold rotations about those axes
                    eul = np.degrees(matrix_to_euler(mats[:, j], _complete_order(order)))[:, : len(order)]
                angles = {c: eul[:, k] for k, c in enumerate(rot)}
            for c in chans:
                if c.endswith("position"):
                    columns.append(self.translations[:, j, "XYZ".index(c[0])])
                else:
                    columns.append(angles[c])
        motion = np.stack(columns, axis=1) if columns else np.zeros((self.num_frames, 0))
        return BVH(
            names=list(skel.names),
            parents=skel.parents.copy(),
            offsets=skel.offsets.copy(),
            channels=[tuple(c) for c in layout],
            end_sites=dict(skel.end_sites),
            frame_time=1.0 / self.fps,
            motion=motion,
            precision=precision,
        )


def _complete_order(order: str) -> str:
    """Extend a 1-2 axis order to a 3-axis Tait-Bryan order starting with it."""
    rest = [a for a in "XYZ" if a not in order]
    return order + "".join(rest[: 3 - len(order)])


def load_clip(path: str | Path) -> Clip:
    """Read a BVH file as a Clip."""
    return Clip.from_bvh(read_bvh(path))


def save_clip(clip: Clip, path: str | Path, precision: int | None = 6) -> None:
    """Write a Clip as BVH."""
    write_bvh(clip.to_bvh(precision), path)
