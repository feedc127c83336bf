"""Sampling speed of the shipped motion models side by side: one 8-second clip on this CPU.

    python bench/bench_models.py [--models diffusion cvae cgan vae gan] [--repeats 7] [--threads 1]

`network`: the sampler alone (latent models: one decoder pass; diffusion: the default few-step DDIM
with guidance), giving raw features; `end to end`: `Generator.generate` (sampling, decoding to joint
rotations, foot cleanup). Medians over the repeats, all models in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.compare import SAMPLE_SECONDS, sample_time  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.timing import median_seconds  # noqa: E402
from core.generation import load_generator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["diffusion", "cvae", "cgan", "vae", "gan"])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    frames = round(SAMPLE_SECONDS * 30)
    rows = []
    for name in args.models:
        gen = load_generator(name, "cpu")
        a, s = gen.actions.index("walk"), gen.styles.index("normal")
        if not gen.conditional:
            a = s = -1
        net = median_seconds(lambda: gen._features(1, frames, a, s, [0], None, None, None, False),  # noqa: B023
                             args.repeats)
        rows.append({"model": gen.name, "family": gen.kind, "parameters": gen.parameters,
                     "network_ms": round(1000 * net, 1), "end_to_end_ms": round(1000 * sample_time(gen, args.repeats),
                                                                                 1)})
    print(f"One {SAMPLE_SECONDS:g}-second clip ({frames} frames) on {os.cpu_count()} CPUs, {args.threads} torch "
          f"thread(s), load {os.getloadavg()[0]:.1f}; medians of {args.repeats}")
    print(table(rows, ("model", "family", "parameters", "network_ms", "end_to_end_ms")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
