"""The standing reference pose that retargeting measures motion from, and GenAnim's default skeleton.

The Bandai Namco skeleton's rest pose (all rotations zero) has every bone
along its parent's X axis, not a pose any rig shares, so for that skeleton the
reference is a captured standing frame (`reference_pose.bvh`, one frame, made
by `python -m core.retarget.reference SOURCE.bvh FRAME OUT.bvh` from
dataset-2_raise-up-both-hands_exhausted_001.bvh frame 0 of the Bandai Namco
Research Motiondataset 2, CC BY-NC 4.0). Other skeletons use their rest pose,
which for BVH files is usually a T-pose.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..motion.clip import Clip, load_clip, save_clip
from ..motion.rotations import matrix_to_quat, quat_to_matrix, yaw_matrix
from ..motion.skeleton import Skeleton

REFERENCE_BVH = Path(__file__).with_name("reference_pose.bvh")


@lru_cache(maxsize=1)
def reference_clip() -> Clip:
    """The one-frame standing reference of GenAnim's skeleton (Y up, cm, facing +Z, feet on y = 0)."""
    return load_clip(REFERENCE_BVH)


def default_skeleton() -> Skeleton:
    """GenAnim's skeleton (the dataset's 22 joints), posed like the reference: what "Create armature" builds."""
    return reference_clip().skeleton


def reference_pose(skeleton: Skeleton, clip: Clip | None = None) -> tuple[np.ndarray, np.ndarray]:
    """((J, 3, 3) local rotations, (J, 3) local translations) of `skeleton` standing, feet on y = 0.

    GenAnim's skeleton (same joint names as the reference) takes the captured
    standing frame, keeping its own bone offsets; any other skeleton its rest
    pose, lifted so its lowest joint is as high as the lowest joint of `clip`
    usually is (its 5th percentile over frames: where feet touch the floor;
    joints sit inside the foot, above the floor), or on the floor without a clip.
    """
    ref = reference_clip()
    if set(skeleton.names) == set(ref.skeleton.names):
        order = [ref.skeleton.names.index(n) for n in skeleton.names]
        rot = quat_to_matrix(ref.rotations[0, order])
        trans = skeleton.offsets.copy()
        for j, r in enumerate(order):  # joints the capture moves (the hips) keep its placement
            if not np.allclose(ref.translations[0, r], ref.skeleton.offsets[r], atol=1e-4):
                trans[j] = ref.translations[0, r]
        return rot, trans
    rot = np.broadcast_to(np.eye(3), (skeleton.num_joints, 3, 3)).copy()
    trans = skeleton.offsets.copy()
    rest = Clip(skeleton, np.tile([1.0, 0, 0, 0], (1, skeleton.num_joints, 1)), trans[None], 30.0)
    floor_gap = 0.0 if clip is None else float(np.percentile(clip.global_positions()[..., 1].min(axis=1), 5))
    trans[skeleton.parents < 0, 1] += floor_gap - rest.global_positions()[0, :, 1].min()
    return rot, trans


def make_reference(clip: Clip, frame: int) -> Clip:
    """Frame `frame` of `clip` turned to face +Z with the root above the origin: a reference pose.

    Facing comes from the hips and shoulders (left minus right, across the up axis Y).
    """
    one = clip.slice(frame, frame + 1)
    pos = one.global_positions()[0]
    names = clip.skeleton.names
    left = sum(pos[names.index(a + "_L")] - pos[names.index(a + "_R")] for a in ("UpperLeg", "UpperArm"))
    forward = np.cross(left, [0.0, 1.0, 0.0])
    yaw = np.arctan2(forward[0], forward[2])
    turn = yaw_matrix(np.array(-yaw))
    rot = one.rotation_matrices()
    trans = one.translations.copy()
    for j in np.nonzero(clip.skeleton.parents < 0)[0]:
        rot[0, j] = turn @ rot[0, j]
        trans[0, j] = turn @ trans[0, j]
    out = replace(one, rotations=matrix_to_quat(rot), translations=trans, name="reference_pose")
    hips = out.global_positions()[0, names.index("Hips")]
    for j in np.nonzero(clip.skeleton.parents < 0)[0]:
        out.translations[0, j, [0, 2]] -= hips[[0, 2]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a one-frame standing reference pose from a BVH clip.")
    parser.add_argument("source", help="BVH clip of GenAnim's skeleton")
    parser.add_argument("frame", type=int, help="frame where the actor stands still, arms down")
    parser.add_argument("out", help="BVH to write")
    args = parser.parse_args(argv)
    save_clip(make_reference(load_clip(args.source), args.frame), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
