"""Motion diffusion sampling speed: the default few-step sampler vs MDM's 1000-step DDPM, side by side.

    python bench/bench_diffusion.py [--model diffusion] [--seconds 8] [--repeats 5] [--ddpm-repeats 3]
                                    [--threads N] [--gpu-batch 256]

Each row times `Generator.generate` end to end (sampling, decoding to a Clip, foot cleanup) for one
clip on the CPU; medians over the repeats. The GPU row measures clips per second at a batch of
`--gpu-batch` when PyTorch sees a CUDA device; otherwise it says it was not measured.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.timing import median_seconds  # noqa: E402
from core.generation import load_generator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="diffusion", help="weights name in weights/ or a .safetensors path")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ddpm-repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    ap.add_argument("--gpu-batch", type=int, default=256)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    gen = load_generator(args.model, device="cpu")
    run = lambda **kw: gen.generate("walk", "normal", args.seconds, seed=0, **kw)  # noqa: E731
    run()  # warm-up (allocator, first-call overheads)
    steps = gen.default_steps
    fast = median_seconds(run, args.repeats)
    slow = median_seconds(lambda: run(ddpm=True), args.ddpm_repeats)
    host = f"{os.cpu_count()} CPUs, {args.threads} torch thread(s), load {os.getloadavg()[0]:.1f}"
    rows = [
        (f"CPU, default sampler (DDIM, {steps} steps)", f"{fast:.3f} s", f"median of {args.repeats}; {host}"),
        ("CPU, MDM-style sampler (DDPM, 1000 steps)", f"{slow:.3f} s", f"median of {args.ddpm_repeats}"),
        ("ratio DDPM / default", f"{slow / fast:.0f}x", "same network, same clip"),
    ]
    if torch.cuda.is_available():
        gpu = load_generator(args.model, device="cuda")
        b = args.gpu_batch
        gpu.generate("walk", "normal", args.seconds, count=b)
        torch.cuda.synchronize()
        t = median_seconds(lambda: (gpu.generate("walk", "normal", args.seconds, count=b), torch.cuda.synchronize()), 3)
        rows.append((f"GPU throughput, batch {b}", f"{b / t:.0f} clips/s", torch.cuda.get_device_name()))
    else:
        rows.append((f"GPU throughput, batch {args.gpu_batch}", "not measured", "no CUDA device in this session"))

    print(f"One {args.seconds:g}-second clip ({round(args.seconds * gen.fps)} frames at {gen.fps:g} fps), "
          f"model {gen.name} ({gen.parameters / 1e6:.2f} M parameters)")
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'':<{w[0]}}  {'time':>{w[1]}}  note")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
