"""Where Fill Gaps on an animator's own rig loses to the model's own fill: for evenly spread validation windows,
L2P over interpolation's of the model's fill on GenAnim's skeleton, of the same fill given kept frames that went
to the Mixamo-proportioned rig and back, of the model's fill taken to the rig and back, of the whole rig path
scored against the recorded motion and against the animator's keys on the rig (`evaluate inbetween`'s "on a
Mixamo rig" row, `rig_truth`), and of the recorded window taken to the rig and back with nothing filled (the
retargets alone).

    python scripts/rig_fill_sources.py [--model diffusion] [--gap 30] [--windows 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.inbetween import benchmark_windows, interpolate, rig_transfer, rig_truth, score_gap  # noqa: E402
from core.generation import load_generator  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="diffusion")
    p.add_argument("--gap", type=int, default=30)
    p.add_argument("--windows", type=int, default=40)
    args = p.parse_args()
    windows, stats = benchmark_windows(args.gap, args.windows)
    gen = load_generator(args.model, "cpu")
    round_trip, on_rig = rig_transfer(None), rig_transfer(gen)
    fills = {
        "the model's fill": lambda c, a, b: gen.inbetween(c, a, b),
        "the fill of kept frames gone to the rig and back": lambda c, a, b: gen.inbetween(round_trip(c, a, b), a, b),
        "the model's fill, to the rig and back": lambda c, a, b: round_trip(gen.inbetween(c, a, b), a, b),
        "the whole rig path (Fill Gaps on a rig)": on_rig,
        "the recorded window, to the rig and back": round_trip,
        "interpolation": interpolate,
    }
    preds = {name: [f(w.clip, w.last_context, w.target) for w in windows] for name, f in fills.items()}
    l2p = {name: score_gap(p, windows, stats)["l2p"] for name, p in preds.items()}
    rig_keys = [rig_truth(w.clip) for w in windows]
    l2p["the whole rig path, against the keys on the rig"] = score_gap(
        preds["the whole rig path (Fill Gaps on a rig)"], windows, stats, rig_keys)["l2p"]
    base = l2p["interpolation"]
    print(f"{len(windows)} validation windows, gap {args.gap}: L2P and its ratio to interpolation's")
    for name, v in l2p.items():
        print(f"  {name:56s} {v:.3f}  {v / base:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
