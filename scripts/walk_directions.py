"""Which way the corpus's walks go relative to where the walker faces, and how fast, and how much its walks
with a turn slow down in the turn: what Follow Path's walking backwards (`--action walk-back`), its lack of
side-stepping and its slowing into corners (`core.control.follow.speed_profile`) rest on.

    python scripts/walk_directions.py [--data bandai-namco]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.control.evaluate import fastest_turn  # noqa: E402
from core.data.corpus import load_corpus  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402
from core.motion.rotations import wrap_angle  # noqa: E402

MOVING = 20.0  # cm/s: frames slower than this have no direction of travel
TURN = 16  # frames (about half a second at 30 fps): the span of a turn, and of the walk before it


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args()
    corpus = load_corpus(args.data, progress=True)
    rep = representation_for(corpus.skeleton)
    print("| action | takes | angle between travel and facing, median (10-90%) | speed median (90%) m/s |")
    print("|---|---|---|---|")
    for action in ("walk", "walk-back", "walk-left", "walk-right"):
        offsets, speeds = [], []
        for i, info in enumerate(corpus.clips):
            if info.action != action:
                continue
            g_rot, g_pos = corpus.clip(i).global_transforms()
            step = np.diff(g_pos[:, rep.root][:, [0, 2]], axis=0) * corpus.fps  # (F-1, 2) cm/s
            speed = np.linalg.norm(step, axis=-1)
            travel = np.arctan2(step[:, 0], step[:, 1])
            off = np.degrees(np.abs(wrap_angle(travel - rep.heading(g_rot[1:, rep.root]))))
            offsets.append(off[speed > MOVING])
            speeds.append(speed[speed > MOVING] / 100.0)
        if not offsets:
            continue
        o, s = np.concatenate(offsets), np.concatenate(speeds)
        p10, p50, p90 = np.percentile(o, [10, 50, 90])
        print(f"| {action} | {len(offsets)} | {p50:.0f} ({p10:.0f} to {p90:.0f}) deg | "
              f"{np.median(s):.2f} ({np.percentile(s, 90):.2f}) |")
    print("\n| walk with a turn | takes | turned, median | speed in the turn / before it, median (10-90%) |")
    print("|---|---|---|---|")
    for action in ("walk-turn-left", "walk-turn-right"):
        turned, ratios = [], []
        for i, info in enumerate(corpus.clips):
            if info.action != action:
                continue
            clip = corpus.clip(i)
            g_rot, g_pos = clip.global_transforms()
            heading = np.unwrap(rep.heading(g_rot[:, rep.root]))
            speed = np.linalg.norm(np.diff(g_pos[:, rep.root][:, [0, 2]], axis=0), axis=-1) * corpus.fps
            k = fastest_turn(clip, TURN)
            if k < 2 * TURN:
                continue  # no walk before the turn to compare with
            turned.append(abs(np.degrees(heading[-1] - heading[0])))
            ratios.append(speed[k - TURN // 2:k + TURN // 2].mean() / speed[k - 2 * TURN:k - TURN].mean())
        if ratios:
            p10, p50, p90 = np.percentile(ratios, [10, 50, 90])
            print(f"| {action} | {len(ratios)} | {np.median(turned):.0f} deg | {p50:.2f} ({p10:.2f} to {p90:.2f}) |")


if __name__ == "__main__":
    main()
