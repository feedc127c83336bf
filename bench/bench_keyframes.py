"""Writing a clip as keyframes in Blender: GenAnim's bulk writer against a keyframe_insert loop, side by side.

    python bench/bench_keyframes.py [--frames 240] [--repeats 5]

Both write the same keys (a real 22-joint walk clip, one quaternion key per
bone per frame plus the hips' location) into a new action on a GenAnim
armature. bulk:  `write_clip_action` (pose maths + channelbag F-curves filled
with foreach_set), timed whole. loop: the same pose values (computed
beforehand, not timed) set on the pose bones and keyed with keyframe_insert
frame by frame, as scripts usually do. Medians over --repeats; goal: >= 15x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import bpy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blender_addon import compat  # noqa: E402
from blender_addon.armature import build_armature, write_clip_action  # noqa: E402
from blender_addon.core.motion.clip import load_clip  # noqa: E402
from blender_addon.core.retarget.armature_space import animated_joints, clip_to_pose_basis  # noqa: E402

CLIP = Path(__file__).resolve().parents[2] / "shared/data/bandai-namco/samples/dataset-2_walk_normal_001.bvh"


def keyframe_insert_loop(obj, clip, name: str) -> tuple[bpy.types.Action, float]:
    """The same keys with keyframe_insert, one bone and frame at a time; (action, seconds spent keying)."""
    names = clip.skeleton.names
    rest = np.array([np.array(obj.data.bones[n].matrix_local) for n in names])
    loc, quat = clip_to_pose_basis(clip, rest)
    moving = animated_joints(loc)
    action = bpy.data.actions.new(name)
    obj.animation_data_create().action = action
    bones = [obj.pose.bones[n] for n in names]
    start = time.perf_counter()
    for f in range(clip.num_frames):
        for j, pb in enumerate(bones):
            pb.rotation_quaternion = quat[f, j]
            pb.keyframe_insert("rotation_quaternion", frame=1 + f)
            if moving[j]:
                pb.location = loc[f, j]
                pb.keyframe_insert("location", frame=1 + f)
    return action, time.perf_counter() - start


def _keys(action) -> int:
    return sum(len(fc.keyframe_points) for s in action.slots for fc in compat.get_channelbag(action, s).fcurves)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    clip = load_clip(CLIP).slice(0, args.frames)
    obj = build_armature(clip.skeleton, "Bench")
    bulk_times, loop_times = [], []
    for k in range(args.repeats):
        t = time.perf_counter()
        bulk = write_clip_action(obj, clip, f"bulk{k}")
        bulk_times.append(time.perf_counter() - t)
        loop, seconds = keyframe_insert_loop(obj, clip, f"loop{k}")
        loop_times.append(seconds)
    keys = _keys(bulk)
    if _keys(loop) != keys:
        raise SystemExit(f"the two writers made different numbers of keys: {_keys(loop)} vs {keys}")
    # Same values: compare the two actions' curves at a few frames.
    for fc_b in (fc for s in bulk.slots for fc in compat.get_channelbag(bulk, s).fcurves):
        fc_l = next(fc for s in loop.slots for fc in compat.get_channelbag(loop, s).fcurves
                    if fc.data_path == fc_b.data_path and fc.array_index == fc_b.array_index)
        for f in (1, args.frames // 2, args.frames):
            if abs(fc_b.evaluate(f) - fc_l.evaluate(f)) > 1e-5:
                raise SystemExit(f"{fc_b.data_path}[{fc_b.array_index}] differs at frame {f}")

    bulk_s, loop_s = statistics.median(bulk_times), statistics.median(loop_times)
    print(f"Blender {bpy.app.version_string}: {args.frames} frames x {clip.skeleton.num_joints} bones, "
          f"{keys} keys, median of {args.repeats}")
    print(f"{'writer':<34}{'median s':>10}{'keys/s':>12}{'speed-up':>10}")
    print(f"{'keyframe_insert loop':<34}{loop_s:>10.4f}{keys / loop_s:>12.0f}{1.0:>9.1f}x")
    print(f"{'write_clip_action (foreach_set)':<34}{bulk_s:>10.4f}{keys / bulk_s:>12.0f}{loop_s / bulk_s:>9.1f}x")
    print(f"goal >= 15x: {'met' if loop_s / bulk_s >= 15 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
