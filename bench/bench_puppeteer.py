"""The Puppeteer's live viewport update in real Blender (the bpy module): frames per second of one controller
step plus the live pose (standing feet held, retargeted for other rigs) written to the armature, on GenAnim's
armature and a Mixamo-named rig, under a scripted input run. Prints a Markdown table.

    python bench/bench_puppeteer.py [--seconds 10] [--repeats 3]

Median over --repeats of a --seconds scripted take (walk, turn, run, stop), each timer tick one frame.
Bar (the interactive control v2 issue): >= 60 frames/s on this CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "blender")]
os.environ.setdefault("OMP_NUM_THREADS", "1")

import bpy  # noqa: E402
from rigs import build_mixamo_rig  # noqa: E402

import blender_addon  # noqa: E402
from blender_addon.control import PuppeteerRun  # noqa: E402


def take(make, seconds: float) -> float:
    """Frames per second of ticks that each generate and show one frame."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = make()
    bpy.context.view_layer.objects.active = obj
    run = PuppeteerRun(bpy.context)
    frames = int(seconds * 30)
    keys = {0: ("W", "PRESS", False), frames // 4: ("D", "PRESS", False), frames // 2: ("LEFT_SHIFT", "PRESS", True),
            3 * frames // 4: ("W", "RELEASE", False)}
    shown, t = 0, time.perf_counter()
    for i in range(frames):
        if i in keys:
            run.handle(*keys[i])
        shown += run.tick(1 / 30)
    elapsed = time.perf_counter() - t
    run.restore()
    return shown / elapsed


def genanim_armature():
    bpy.ops.genanim.create_armature()
    return bpy.context.active_object


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    blender_addon.register()
    print(f"Blender {bpy.app.version_string}, {os.cpu_count()} CPU cores visible, one frame per tick\n")
    print(f"| armature | live frames/s (median of {args.repeats}) | bar |")
    print("|---|---|---|")
    for name, make in (("GenAnim armature", genanim_armature), ("Mixamo-named rig (retargeted)", build_mixamo_rig)):
        fps = statistics.median(take(make, args.seconds) for _ in range(args.repeats))
        print(f"| {name} | {fps:.0f} | >= 60 |")
    blender_addon.unregister()
    return 0


if __name__ == "__main__":
    sys.exit(main())
