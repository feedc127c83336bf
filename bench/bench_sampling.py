"""Sampling settings of a shipped motion model, scored on training segments (never the validation split,
which the model comparison reports): how the model cards' sampling defaults were chosen.

    python bench/bench_sampling.py cvae --setting 1,1.0 --setting 1,0.8 [--segments 120] [--threads 1]
                                   [--steps N] [--smooth SIGMA]

A setting is GUIDANCE,TEMPERATURE[,normal|,independent|,stationary|,per-action]: TEMPERATURE is the std of a
VAE/GAN's latents or of the diffusion model's start noise; `normal` samples a VAE/GAN's latents from
N(0, T^2 I) even when its weights hold a fitted prior; `independent` keeps the fitted prior's means and
per-channel spreads but drops the correlations between channels; `per-action` leaves out the Gaussians of
action and style pairs (a pair sampled from its action's, shifted by its style's offset); `stationary` drops
the means' course through a whole take (the same means from a take's start to its end). Every setting scores
one clip per segment of `--segments` training segments spread evenly over the half of the training takes that the
recognizer never saw (their labels and lengths, seed = index), scored by the evaluation suite against
those real segments, the FID floor drawn from the rest of that half. `--steps` (diffusion sampler steps) and `--smooth`
(temporal low-pass sigma in frames) replace the weights' defaults for every setting. Prints a Markdown
table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.compare import generate_like  # noqa: E402
from core.evaluation.recognizer import Recognizer  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.suite import DEFAULT_RECOGNIZER, Evaluator, judge_halves, segment_set  # noqa: E402
from core.generation import load_generator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="shipped model name or .safetensors path")
    ap.add_argument("--setting", action="append", required=True,
                    help="GUIDANCE,TEMPERATURE[,PRIOR]")
    ap.add_argument("--segments", type=int, default=120)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, help="diffusion sampler steps (default: the weights')")
    ap.add_argument("--smooth", type=float, help="temporal low-pass sigma in frames (default: the weights')")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    gen = load_generator(args.model, "cpu")
    if args.smooth is not None:
        gen.smooth = args.smooth
    corpus = load_corpus("bandai-namco")
    train = segment_set(corpus, judge_halves(corpus)[1], "real train")  # the takes the recognizer never saw
    pick = np.linspace(0, len(train) - 1, args.segments).round().astype(int)
    judge = Evaluator(Recognizer.load(DEFAULT_RECOGNIZER), train.subset(pick, "real train (these segments)"), train)
    rows = [s.row for s in judge.reference_rows()[:2]]
    fitted = getattr(gen, "prior", None)
    independent = None
    if fitted is not None:  # the same spreads, channels uncorrelated
        spread = np.sqrt((fitted.scale**2).sum(-1))  # (A + 1, C)
        independent = replace(fitted, scale=spread[..., None] * np.eye(spread.shape[-1], dtype=spread.dtype))
    stationary = None if fitted is None else replace(fitted, phase_shift=None)  # the same means all through a take
    per_action = None if fitted is None else replace(fitted, pairs=None, pair_shift=None)  # no pair's own Gaussian
    priors = {"": fitted, "normal": None, "independent": independent, "stationary": stationary,
              "per-action": per_action}
    for setting in args.setting:
        guidance, temperature, *rest = setting.split(",")
        gen.temperature = float(temperature)  # a VAE/GAN's latents or the diffusion model's start noise
        kind = rest[0] if rest else ""
        if kind not in priors:
            ap.error(f"unknown prior in setting {setting!r}: normal, independent, stationary or per-action")
        if hasattr(gen, "prior"):  # a VAE/GAN
            gen.prior = priors[kind]
        g = float(guidance) if gen.conditional else None
        clip_set = generate_like(gen, judge.reference, guidance=g, steps=args.steps)
        clip_set.name = f"{gen.name} {setting}"
        rows.append(judge.score(clip_set).row)
    print(f"{gen.name}: {args.segments} training segments per setting, 1 clip each, smooth {gen.smooth:g}"
          + (f", {args.steps} sampler steps" if args.steps else ""))
    print(table(rows, ("set", "n", "action_acc", "style_acc", "fid", "fid_floor", "fid_ratio", "precision", "recall",
                       "diversity", "foot_skating", "jitter")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
