"""Train the measurement CVAE, evaluate it against the Gaussian baseline, write weights and model card.

    python -m core.bodies.train [--steps 20000] [--seed 0]      (~4 min on 1 CPU thread)
    python -m core.bodies.evaluate                              (re-computes the card's numbers from the weights)
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from .cvae import MeasurementSampler, TrainConfig, train
from .evaluate import report
from .measurements import load_table, to_features

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "weights" / "body_measure_cvae.npz"
CARD = REPO / "weights" / "body_measure_cvae.md"


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(prog="python -m core.bodies.train")
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--beta", type=float, default=TrainConfig.beta, help="weight of the KL term")
    ap.add_argument("--p-uncond", type=float, default=TrainConfig.p_uncond, help="share of rows trained on sex only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = TrainConfig(steps=args.steps, beta=args.beta, p_uncond=args.p_uncond, seed=args.seed)
    table = load_table()
    tr = table.subset(~table.held_out)
    params, info = train(to_features(tr.values), tr.sex, cfg)
    sampler = MeasurementSampler(params)
    sampler.save(WEIGHTS)
    text = report(MeasurementSampler.load(WEIGHTS), table)
    command = (f"python -m core.bodies.train --steps {args.steps} --beta {args.beta} --p-uncond {args.p_uncond} "
               f"--seed {args.seed}")
    CARD.write_text(f"""# Body-measurement CVAE (`{WEIGHTS.name}`)

Conditional VAE of (age, stature, weight, waist, hip, upper-arm length) given sex and any subset of
age, stature, weight, BMI. Code: `core/bodies/cvae.py`; sampling is numpy only.

- Command: `{command}` (then `python -m core.bodies.evaluate` re-prints the numbers below)
- Data: ANSUR II 2012 (US Army, public domain) men and women, and NHANES 2017-March 2020 (CDC, public
  domain), ages 12-80, rows with all six measurements: {len(table.values)} subjects, {int(table.held_out.sum())}
  held out by a hash of survey and subject id (`core/bodies/measurements.py`), {len(tr.values)} for training.
  Survey weights are not used: the model learns the pooled sample (soldiers plus the NHANES sample).
- Training: {info['steps']} steps of batch 512, AdamW, cosine schedule, KL weight {args.beta}, seed {args.seed};
  wall time {info['wall_s']:.0f} s on {platform.processor() or platform.machine()} (1 torch thread, shared 2-core CPU).
- Size: {WEIGHTS.stat().st_size / 1e3:.0f} kB (float32 decoder; only the decoder is shipped).

## Evaluation on held-out subjects (computed by `python -m core.bodies.evaluate`)

```
{text}
```

Against the issue's goals (read off the table): correlation, diversity, memorisation and stature
conditioning pass; BMI conditioning of the raw samples is within a few percent (the character
pipeline then imposes every given condition exactly); KS <= 0.1 fails on age only (the pooled
survey mix makes age bimodal and the latent barely carries it); MMD beats the Gaussian for men but
not for women. The Gaussian's conditioning errors are zero by construction (exact Schur conditioning).
""")
    print(text)
    print(json.dumps({"steps": info["steps"], "wall_s": round(info["wall_s"], 1)}))
    print(f"wrote {WEIGHTS} and {CARD}")


if __name__ == "__main__":
    main()
