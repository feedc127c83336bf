"""Motion diffusion sampling speed: the default few-step sampler vs MDM's 1000-step DDPM, side by side.

    python bench/bench_diffusion.py [--model diffusion] [--seconds 8] [--repeats 5] [--ddpm-repeats 3]
                                    [--mdm-steps 5] [--threads N] [--gpu-batch 256] [--steps N ...]

Each of the first rows times `Generator.generate` end to end (sampling, decoding to a Clip, foot
cleanup) for one clip on the CPU; medians over the repeats. The MDM-sized row runs the same guided
sampler step with a denoiser of MDM's size (one token per frame, width 512, 8 layers, about 17 M
parameters, random weights: the time does not depend on them) and multiplies the median step by the
1000 steps of MDM's sampler (running all 1000 takes minutes a repeat). The GPU row measures clips per
second at a batch of `--gpu-batch` when PyTorch sees a CUDA device; otherwise it says it was not measured.
`--steps` adds a row per DDIM step count, timed the same way as the default (what more steps would cost).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation.timing import median_seconds  # noqa: E402
from core.generation import load_generator  # noqa: E402
from core.models.diffusion import Denoiser, DenoiserConfig, TorchDenoiser, num_params  # noqa: E402
from core.models.sampler import guided_x0  # noqa: E402

# MDM's denoiser (Tevet et al. 2023): one token per frame, 8 layers of width 512, 4 heads, MLP 1024.
MDM_SIZE = dict(patch=1, width=512, layers=8, heads=4, ff=1024, dropout=0.1)


def mdm_step_seconds(frames: int, dim: int, guidance: float, repeats: int) -> tuple[float, int]:
    """Median seconds of one guided sampler step of an MDM-sized denoiser on one clip, and its parameters."""
    net = Denoiser(DenoiserConfig(dim=dim, max_tokens=frames, **MDM_SIZE))
    den = TorchDenoiser(net)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, frames, dim)).astype(np.float32)
    zero = np.zeros_like(x)
    step = lambda: guided_x0(den, x, 500, np.zeros(1, np.int64), np.zeros(1, np.int64), zero, zero,  # noqa: E731
                             guidance, frames, 0)
    step()  # warm-up
    return median_seconds(step, repeats), num_params(net)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="diffusion", help="weights name in weights/ or a .safetensors path")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ddpm-repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, nargs="*", default=[], help="more DDIM step counts to time")
    ap.add_argument("--mdm-steps", type=int, default=5, help="MDM-sized sampler steps timed (median x 1000)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    ap.add_argument("--gpu-batch", type=int, default=256)
    args = ap.parse_args(argv)
    if min(args.repeats, args.ddpm_repeats, args.mdm_steps) < 1:
        ap.error("--repeats, --ddpm-repeats and --mdm-steps must each be at least 1")
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
    for n in args.steps:
        t = median_seconds(lambda n=n: run(steps=n), args.repeats)
        rows.append((f"CPU, DDIM, {n} steps", f"{t:.3f} s", f"median of {args.repeats}"))
    frames = round(args.seconds * gen.fps)
    mdm_step, mdm_params = mdm_step_seconds(frames, len(gen.mean), gen.default_guidance, args.mdm_steps)
    rows += [
        ("CPU, MDM-sized denoiser (DDPM, 1000 steps)", f"{1000 * mdm_step:.1f} s",
         f"{mdm_params / 1e6:.1f} M parameters; median step of {args.mdm_steps} x 1000"),
        ("ratio MDM-sized / default", f"{1000 * mdm_step / fast:.0f}x", "same clip length, same guidance"),
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
