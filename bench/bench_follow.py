"""Follow Path against its bars: every benchmark path (core.control.evaluate.follow_paths) at every speed in every
style, with the shipped controller. Prints a Markdown table, one row per path and speed (worst style shown).

    python bench/bench_follow.py [--weights weights/controller.safetensors] [--styles normal elderly ...]

Bars (the interactive control v2 issue): speed on straight stretches within 10% of the asked one, end within
30 cm of the path's end, mean distance from the path <= 10 cm, mean facing error <= 10 degrees, foot skating
<= 1.5x real walks (speeds below 2.2 m/s) or runs (the evaluation suite's metric, validation takes). Facing is
shown beside real walks' or runs' own (the same measure on the validation takes of that style). Ends standing:
the last half second has the root and every foot joint slower than 0.1 m/s. A second table shows how corners
sharper than 60 degrees are turned, beside real walks with a turn.
frames/s: whole takes, cleanup included, one CPU thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from core.control import evaluate as ev  # noqa: E402
from core.control.controller import RUN_SPEED, load_controller  # noqa: E402

BARS = {"speed": 0.10, "end_cm": 30.0, "distance_cm": 10.0, "facing_deg": 10.0, "skating": 1.5}


def spread(x: np.ndarray) -> str:
    """Median (10th-90th percentile)."""
    return f"{np.median(x):.2f} ({np.percentile(x, 10):.2f}-{np.percentile(x, 90):.2f})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--styles", nargs="+", help="styles to run (default: all the controller's)")
    p.add_argument("--speeds", nargs="+", type=float, default=[1.0, 1.4, 2.0, 3.0])
    args = p.parse_args()
    ctl = load_controller(args.weights)
    real = {a: ev.real_reference(actions=(a,))["skating"] for a in ("walk", "run")}
    facing = ev.real_facing()
    rows = ev.follow_benchmark(ctl, tuple(args.speeds), args.styles)
    for r in rows:
        gait = "run" if r["speed"] > RUN_SPEED else "walk"
        r["skating_ratio"] = r["skating"] / real[gait]
        r["facing_real"] = facing.get((gait, r["style"]), facing.get((gait, "normal")))
    print(f"{len(rows)} takes ({len(rows) // len(args.speeds)} per speed); real foot skating: walks "
          f"{real['walk']:.3f}, runs {real['run']:.3f}\n")
    print("| path | m/s | speed on straights / asked (min-max) | end cm (max) | path distance cm (max) | "
          "facing deg (max) | real facing of that style and gait, deg | skating / real (max) | frames/s (median) | "
          "ends standing | bars met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    met_all = 0
    for (path, sp) in dict.fromkeys((r["path"], r["speed"]) for r in rows):
        group = [r for r in rows if r["path"] == path and r["speed"] == sp]
        ratios = [r["speed_ratio"] for r in group if r["speed_ratio"] is not None]
        met = sum(
            (r["speed_ratio"] is None or abs(r["speed_ratio"] - 1) <= BARS["speed"]) and r["end_cm"] <= BARS["end_cm"]
            and r["distance_cm"] <= BARS["distance_cm"] and r["facing_deg"] <= BARS["facing_deg"]
            and r["skating_ratio"] <= BARS["skating"] for r in group)
        met_all += met
        speed = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "no straight stretch"
        worst = max(group, key=lambda r: r["facing_deg"])
        print(f"| {path} | {sp:g} | {speed} | {max(r['end_cm'] for r in group):.1f} | "
              f"{max(r['distance_cm'] for r in group):.1f} | {worst['facing_deg']:.1f} ({worst['style']}) | "
              f"{worst['facing_real']:.1f} | "
              f"{max(r['skating_ratio'] for r in group):.2f} | {np.median([r['fps'] for r in group]):.0f} | "
              f"{sum(r['stands'] for r in group)} of {len(group)} | {met} of {len(group)} |")
    print(f"\nAll bars met by {met_all} of {len(rows)} takes.")
    real = np.array(ev.real_turns())
    print("\nCorners sharper than 60 degrees (`corner_turns`), all styles: seconds for the middle 80% of the turn, "
          "and the largest share of it made on one planted foot (a plant-and-turn pivots on one foot), median "
          f"(10-90%). Real walks with a turn (validation takes): {spread(real[:, 0])} s, {spread(real[:, 1])} on "
          "one foot.\n")
    print("| path | m/s | corners | turn s | on one planted foot |")
    print("|---|---|---|---|---|")
    for (path, sp) in dict.fromkeys((r["path"], r["speed"]) for r in rows):
        turns = np.array([t for r in rows if r["path"] == path and r["speed"] == sp for t in r["corners"]])
        if len(turns):
            print(f"| {path} | {sp:g} | {len(turns)} | {spread(turns[:, 0])} | {spread(turns[:, 1])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
