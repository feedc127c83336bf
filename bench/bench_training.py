"""Training speed: milliseconds per optimisation step of a config's family, in float32 and with the
denoiser's forward pass in bfloat16 autocast (`cpu_bf16`), side by side on the same batches.

    python bench/bench_training.py [--config configs/diffusion.json] [--steps 12] [--threads 1 2]

Each row times `Family.step` (forward, losses, backward, AdamW, EMA) on real training batches drawn as
training draws them; the variants take turns step by step, so machine noise hits them alike. Medians
after two warm-up steps; the ratio is float32's median over the row's. Training uses bfloat16 on the CPU only
where the CPU computes it natively (AVX-512 BF16 or AMX); the table measures it here either way.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.models.losses import PositionLoss  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402
from core.training.config import TrainConfig  # noqa: E402
from core.training.data import MotionSet  # noqa: E402
from core.training.families import make_family, native_bf16  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/diffusion.json")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    cfg = TrainConfig.load(args.config)
    if cfg.family != "diffusion":
        print(f"{args.config}: bfloat16 autocast is a diffusion setting; this config trains {cfg.family}")
        return 2
    corpus = load_corpus(cfg.data, progress=False)
    data = MotionSet(corpus, "train", cfg.augment, None)
    rep = representation_for(corpus.skeleton)
    position = PositionLoss(rep, data.stats.mean, data.stats.std, data.items)
    voc = corpus.vocabulary
    rng = np.random.default_rng(cfg.seed)
    batches = [data.sample(rng, cfg.batch, cfg.window, cfg.action_balance, cfg.p_random_length, cfg.pair_balance,
                           cfg.p_whole_take, cfg.length_buckets) for _ in range(args.steps)]
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        variants = {}
        for bf16 in (False, True):
            torch.manual_seed(cfg.seed)
            run = TrainConfig.from_dict({**cfg.to_dict(), "cpu_bf16": bf16})
            variants[bf16] = make_family("diffusion", run, data.dim, len(voc.actions), len(voc.styles),
                                         torch.device("cpu"), position)
            variants[bf16].bf16 = bf16  # measured here even where training would fall back to float32
        times = {bf16: [] for bf16 in variants}
        for i, batch in enumerate(batches):
            for bf16, fam in variants.items():
                t0 = time.perf_counter()
                fam.step(batch, np.random.default_rng(i), torch.Generator().manual_seed(i), cfg.lr, i)
                times[bf16].append(time.perf_counter() - t0)
        base = float(np.median(times[False][2:]))
        for bf16, ts in times.items():
            ms = float(np.median(ts[2:]))
            rows.append({"threads": threads, "forward pass": "bfloat16 autocast" if bf16 else "float32",
                         "ms per step": round(1000 * ms), "speed-up": round(base / ms, 2)})
    print(f"{args.config}: batch {cfg.batch}, window {cfg.window}, {args.steps} steps per variant "
          f"({np.mean([b[0].shape[1] for b in batches]):.0f} frames a batch on average); "
          f"{platform.machine()}, torch {torch.__version__}; native bfloat16: {'yes' if native_bf16() else 'no'} "
          f"(without it `cpu_bf16` trains in float32)")
    print(table(rows, ("threads", "forward pass", "ms per step", "speed-up")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
