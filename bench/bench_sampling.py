"""Sampling settings of a shipped motion model, scored on training segments (never the validation split,
which the model comparison reports): how the model cards' sampling defaults were chosen.

    python bench/bench_sampling.py cvae --setting 1,1.0 --setting 1,0.8 [--segments 120] [--threads 1]
                                   [--steps N] [--smooth SIGMA]

A setting is GUIDANCE,TEMPERATURE[,normal|,independent]: TEMPERATURE is the std of a VAE/GAN's
latents or of the diffusion model's start noise; `normal` samples a VAE/GAN's latents from
N(0, T^2 I) even when its weights hold a fitted prior; `independent` keeps the fitted prior's means and
per-channel spreads but drops the correlations between channels. Every setting scores one clip per
segment of `--segments` training segments spread evenly over the split (their labels and lengths,
seed = index); FID is against those real segments. `--steps` (diffusion sampler steps) and `--smooth`
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
from core.evaluation.recognizer import Recognizer  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.suite import DEFAULT_RECOGNIZER, ClipSet, real_set, score  # noqa: E402
from core.generation import load_generator, split_jobs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="shipped model name or .safetensors path")
    ap.add_argument("--setting", action="append", required=True,
                    help="GUIDANCE,TEMPERATURE[,normal|,independent]")
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
    jobs = split_jobs(corpus, "train", gen.conditional)
    pick = np.linspace(0, len(jobs) - 1, args.segments).round().astype(int)
    jobs = [jobs[i] for i in pick]
    real = real_set(corpus, "train")
    real = ClipSet("real train (same segments)", [real.clips[i] for i in pick], [real.actions[i] for i in pick],
                   [real.styles[i] for i in pick])
    rec = Recognizer.load(DEFAULT_RECOGNIZER)
    real_emb = rec.predict(real.features)["embedding"].astype(np.float64)
    rows = [score(real, rec, real_emb).row]
    fitted = getattr(gen, "prior", None)
    independent = None
    if fitted is not None:  # the same spreads, channels uncorrelated
        independent = replace(fitted, scale=torch.diag_embed((fitted.scale**2).sum(-1).sqrt()))
    priors = {"": fitted, "normal": None, "independent": independent}
    for setting in args.setting:
        guidance, temperature, *rest = setting.split(",")
        gen.temperature = float(temperature)  # a VAE/GAN's latents or the diffusion model's start noise
        kind = rest[0] if rest else ""
        if kind not in priors:
            ap.error(f"unknown prior in setting {setting!r}: normal or independent")
        if hasattr(gen, "prior"):  # a VAE/GAN
            gen.prior = priors[kind]
        g = float(guidance) if gen.conditional else None
        clips = [gen.generate(a, s, sec, 1, seed, guidance=g, steps=args.steps)[0] for a, s, sec, seed in jobs]
        name = f"{gen.name} {setting}"
        rows.append(score(ClipSet(name, clips, [j[0] for j in jobs], [j[1] for j in jobs]), rec, real_emb).row)
    print(f"{gen.name}: {args.segments} training segments per setting, 1 clip each, smooth {gen.smooth:g}"
          + (f", {args.steps} sampler steps" if args.steps else ""))
    print(table(rows, ("set", "clips", "action_acc", "style_acc", "fid", "diversity", "foot_skating", "jitter")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
