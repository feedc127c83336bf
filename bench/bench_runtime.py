"""The numpy runtime against torch on the CPU, side by side in one run.

    python bench/bench_runtime.py [--model diffusion] [--seconds 8] [--repeats 5] [--threads 1]

Rows: one clip of `--seconds` with the default sampler (`Generator.generate` end to end: sampling,
decoding, foot cleanup), median of the repeats, the two backends interleaved so that load on the
machine falls on both alike; and the time to the first clip in a fresh Python (imports, weight
loading, one clip), as an animator waits for it after Blender starts. Threads: torch's and the BLAS
library's (numpy) are both set to `--threads`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.openmp import limit_threads  # noqa: E402  (loads neither numpy nor torch)

FIRST_CLIP = """
import sys, time
t = time.perf_counter()
if sys.argv[1] == "numpy":
    sys.modules["torch"] = None  # as in a stock Blender
sys.path.insert(0, sys.argv[3])
from core.generation import load_generator
gen = load_generator(sys.argv[2], "cpu", backend=sys.argv[1])
gen.generate("walk", "normal", float(sys.argv[4]), seed=0)
print(time.perf_counter() - t)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="diffusion", help="weights name in weights/ or a .safetensors path")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    limit_threads(args.threads)
    import statistics

    import torch

    from core.generation import load_generator

    torch.set_num_threads(args.threads)
    gens = {b: load_generator(args.model, "cpu", backend=b) for b in ("torch", "numpy")}
    times: dict[str, list[float]] = {b: [] for b in gens}
    for gen in gens.values():
        gen.generate("walk", "normal", args.seconds, seed=0)  # warm-up
    for _ in range(args.repeats):
        for b, gen in gens.items():
            t = time.perf_counter()
            gen.generate("walk", "normal", args.seconds, seed=0)
            times[b].append(time.perf_counter() - t)
    first = {}
    for b in gens:
        out = subprocess.run([sys.executable, "-c", FIRST_CLIP, b, args.model, str(REPO), str(args.seconds)],
                             capture_output=True, text=True, check=True, env=os.environ)
        first[b] = float(out.stdout.split()[-1])
    med = {b: statistics.median(v) for b, v in times.items()}
    gen = gens["torch"]
    print(f"One {args.seconds:g}-second clip ({round(args.seconds * gen.fps)} frames), model {gen.name} "
          f"({gen.parameters / 1e6:.2f} M parameters), default sampler ({gen.default_steps} DDIM steps, guidance "
          f"{gen.default_guidance:g}); {os.cpu_count()} CPUs, {args.threads} thread(s), load "
          f"{os.getloadavg()[0]:.1f}; median of {args.repeats}")
    print(f"{'backend':<8}  {'clip (s)':>9}  {'vs torch':>8}  {'first clip in a fresh Python (s)':>33}")
    for b in gens:
        print(f"{b:<8}  {med[b]:>9.3f}  {med[b] / med['torch']:>7.2f}x  {first[b]:>33.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
