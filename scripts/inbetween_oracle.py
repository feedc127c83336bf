"""How much of the in-betweening error a better choice among the fills could remove: for evenly spread validation
windows, L2P of each of the K fills the default draws (`Generator.inbetween` keeps the one that best matches the
kept frames), of the fill it keeps, and of the fill nearest the recorded motion (an oracle no method has), each
against interpolation on the same windows.

    python scripts/inbetween_oracle.py [--model diffusion] [--gap 30] [--windows 50]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.inbetween import interpolate, score_gap, validation_windows  # noqa: E402
from core.generation import load_generator  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="diffusion")
    p.add_argument("--gap", type=int, default=30)
    p.add_argument("--windows", type=int, default=50)
    args = p.parse_args()
    windows, stats = validation_windows(args.gap, args.windows)
    gen = load_generator(args.model, "cpu")
    k = gen.inbetween_samples

    def score(clip, w) -> float:  # the benchmark's L2P of one window
        return score_gap([clip], [w], stats)["l2p"]

    fills = np.zeros((len(windows), k))  # (windows, K): fill i is the one seed 0 draws as its i-th
    kept, interp = np.zeros(len(windows)), np.zeros(len(windows))
    for n, w in enumerate(windows):
        fills[n] = [score(gen.inbetween(w.clip, w.last_context, w.target, seed=i, samples=1), w) for i in range(k)]
        kept[n] = score(gen.inbetween(w.clip, w.last_context, w.target), w)
        interp[n] = score(interpolate(w.clip, w.last_context, w.target), w)
    base = interp.mean()
    print(f"{len(windows)} windows, gap {args.gap}, {k} fills each; L2P and its ratio to interpolation's {base:.3f}")
    for name, v in (("one fill (mean over the K)", fills.mean()), ("the fill kept (default)", kept.mean()),
                    ("the best fill (oracle)", fills.min(1).mean())):
        print(f"  {name:28s} {v:.3f}  {v / base:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
