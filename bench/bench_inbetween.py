"""Fill Gap speed: seconds to fill one gap with the default in-betweening settings, on both backends, with
the default span (`DiffusionGenerator.inbetween_span`) and with a full window sampled around the gap (the
default before it), side by side in one run.

    python bench/bench_inbetween.py [--model diffusion] [--gap 30] [--context 30] [--repeats 5] [--threads 1]

The clip is a validation take; the gap has `--context` kept frames on each side. Medians of the repeats,
the variants interleaved so that load on the machine falls on all alike; the ratio is the full window's
median over the row's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.openmp import limit_threads  # noqa: E402  (loads neither numpy nor torch)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="diffusion", help="weights name in weights/ or a .safetensors path")
    ap.add_argument("--gap", type=int, default=30, help="frames to fill")
    ap.add_argument("--context", type=int, default=30, choices=range(1, 31), metavar="1..30",
                    help="kept frames on each side of the gap (the model sees up to 30)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    limit_threads(args.threads)
    import torch

    from core.data.corpus import load_corpus
    from core.evaluation.report import table
    from core.evaluation.suite import real_set
    from core.generation import load_generator

    torch.set_num_threads(args.threads)
    length = 2 * args.context + args.gap
    clip = next(c for c in real_set(load_corpus("bandai-namco", progress=False), "val").clips if c.num_frames >= length)
    clip = clip.slice(0, length)
    start, end = args.context - 1, args.context + args.gap
    gens = {b: load_generator(args.model, "cpu", backend=b) for b in ("torch", "numpy")}
    full = gens["torch"].window / length  # a span this long samples one whole window
    variants = {(b, span): gen for b, gen in gens.items() for span in (None, full)}
    times: dict[tuple, list[float]] = {v: [] for v in variants}
    for (_, span), gen in variants.items():
        gen.inbetween(clip, start, end, span=span)  # warm-up
    for _ in range(args.repeats):
        for (b, span), gen in variants.items():
            t = time.perf_counter()
            gen.inbetween(clip, start, end, span=span)
            times[b, span].append(time.perf_counter() - t)
    rows = []
    for (b, span), ts in times.items():
        med = statistics.median(ts)
        rows.append({"backend": b, "frames sampled": gens[b].inbetween_frames(length, span), "seconds": round(med, 3),
                     "speed-up": round(statistics.median(times[b, full]) / med, 2)})
    g = gens["torch"]
    print(f"{args.model}: a {args.gap}-frame gap with {args.context} kept frames each side, {g.inbetween_samples} "
          f"fills of {g.inbetween_steps} steps; {args.threads} thread(s), median of {args.repeats}")
    print(table(rows, ("backend", "frames sampled", "seconds", "speed-up")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
