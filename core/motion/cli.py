"""`python -m core inspect`: summarise a BVH clip and optionally write it back out."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ..arguments import check_outputs, check_writable
from .bvh import read_bvh, write_bvh
from .clip import Clip


def clip_summary(clip: Clip) -> dict:
    """Plain facts about a clip: size, duration, travel, bone-length consistency."""
    pos = clip.global_positions()  # (F, J, 3)
    skel = clip.skeleton
    moving = np.ptp(clip.translations, axis=0).sum(-1)  # (J,) how much each joint's translation is animated
    child = np.nonzero((skel.parents >= 0) & (moving < 1e-3))[0]  # rigid bones only
    bones = np.linalg.norm(pos[:, child] - pos[:, skel.parents[child]], axis=-1)  # (F, B)
    root = pos[:, int(np.argmax(moving))]
    return {
        "name": clip.name,
        "joints": skel.num_joints,
        "frames": clip.num_frames,
        "fps": round(clip.fps, 4),
        "seconds": round(clip.seconds, 3),
        "root_path_length": round(float(np.linalg.norm(np.diff(root, axis=0), axis=-1).sum()), 3),
        "bounding_box_min": np.round(pos.reshape(-1, 3).min(0), 3).tolist(),
        "bounding_box_max": np.round(pos.reshape(-1, 3).max(0), 3).tolist(),
        "max_bone_length_drift": float(np.ptp(bones, axis=0).max()) if len(child) else 0.0,
    }


def _run(args: argparse.Namespace) -> int:
    if args.out is not None:  # before any work: never over the input, never over a file without --overwrite
        check_outputs([check_writable(args.out, inputs=[args.clip])], args.overwrite)
    bvh = read_bvh(args.clip)
    summary = clip_summary(Clip.from_bvh(bvh))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>22}: {value}")
    if args.out is not None:
        write_bvh(bvh, args.out)
        print(f"wrote {args.out}", file=sys.stderr if args.json else sys.stdout)  # --json: stdout is the JSON alone
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="summarise a BVH clip and optionally write it back out")
    p.add_argument("clip", help="BVH file")
    p.add_argument("--out", help="write the clip back out as BVH here")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_run)
