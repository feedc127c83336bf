"""How much of the in-betweening error the choice among the fills decides: for evenly spread windows, L2P of
one of the K fills the default draws, of the fill it keeps (`Generator.inbetween` keeps the one whose estimate
of the kept frames within `inbetween_join` frames of the gap misses them least), of the fill that misses all
the kept frames least (the rule before), and of the fill nearest the recorded motion (an oracle no method
has), each against interpolation on the same windows.

    python scripts/inbetween_oracle.py [--model diffusion] [--gap 30] [--windows 50] [--split val]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.inbetween import benchmark_windows, interpolate, score_gap  # noqa: E402
from core.generation import load_generator  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="diffusion")
    p.add_argument("--gap", type=int, default=30)
    p.add_argument("--windows", type=int, default=50)
    p.add_argument("--split", choices=("train", "val"), default="val")
    args = p.parse_args()
    windows, stats = benchmark_windows(args.gap, args.windows, args.split)
    gen = load_generator(args.model, "cpu")
    k, sample = gen.inbetween_samples, gen.sample_features
    misses = []  # per fill drawn: (miss of all kept frames, of the kept frames within inbetween_join of the gap)

    def spy(n, frames, a, s, seeds, guidance, steps, known, mask, *rest, **kwargs):
        feats = sample(n, frames, a, s, seeds, guidance, steps, known, mask, *rest, **kwargs)
        kept = mask[0].any(-1)  # (frames,)
        first = int(np.argmin(kept)) - 1  # the last kept frame before the gap
        last = first + 1 + int(np.argmax(kept[first + 1 :]))  # the first kept frame after it
        miss = (((known - feats) / gen.std) ** 2) * mask  # (n, frames, D)
        misses.append((miss.sum(), miss[:, first - gen.inbetween_join : last + gen.inbetween_join + 1].sum()))
        return feats

    gen.sample_features = spy

    def score(clip, w) -> float:  # the benchmark's L2P of one window
        return score_gap([clip], [w], stats)["l2p"]

    fills = np.zeros((len(windows), k))  # (windows, K): fill i is the one seed 0 draws as its i-th
    by_all, by_join = np.zeros(len(windows)), np.zeros(len(windows))
    kept, interp = np.zeros(len(windows)), np.zeros(len(windows))
    for n, w in enumerate(windows):
        misses.clear()
        fills[n] = [score(gen.inbetween(w.clip, w.last_context, w.target, seed=i, samples=1), w) for i in range(k)]
        all_kept, join = np.array(misses).T  # (K,) each
        by_all[n], by_join[n] = fills[n, all_kept.argmin()], fills[n, join.argmin()]
        kept[n] = score(gen.inbetween(w.clip, w.last_context, w.target), w)
        interp[n] = score(interpolate(w.clip, w.last_context, w.target), w)
    base = interp.mean()
    print(f"{len(windows)} {args.split} windows, gap {args.gap}, {k} fills each; L2P and its ratio to "
          f"interpolation's {base:.3f}")
    for name, v in (("one fill (mean over the K)", fills.mean()), ("the fill kept (default)", kept.mean()),
                    ("  the same, drawn alone", by_join.mean()), ("best meeting all kept frames", by_all.mean()),
                    ("the best fill (oracle)", fills.min(1).mean())):
        print(f"  {name:28s} {v:.3f}  {v / base:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
