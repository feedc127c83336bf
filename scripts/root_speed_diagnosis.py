"""Where generated locomotion loses its speed: the diffusion model's clips against the training takes of
their labels, and the model's one-step estimate of the root's speed at each noise level.

    python scripts/root_speed_diagnosis.py GENERATED_DIR [--model diffusion] [--data bandai-namco]

GENERATED_DIR: clips written by `python -m core generate --like val-takes --out GENERATED_DIR`. The first
table gives, per locomotion action and style, the mean root speed of the training takes, the validation
takes and the generated clips. The second noises the validation takes' features to each noise level and
compares the root speed of the network's x0 estimate with the true one: a ratio of 1 says the network is
not biased towards slow motion in one step, so a slow sample is slowed by the sampling chain.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.metrics import root_speed  # noqa: E402
from core.evaluation.suite import load_folder  # noqa: E402
from core.generation import load_generator  # noqa: E402
from core.models.sampler import cosine_alpha_bar  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402

ACTIONS = ("walk", "walk-turn-left", "walk-turn-right", "run")
NOISE_LEVELS = (20, 300, 500, 700, 900)
MIN_FRAMES = 40  # dataset-1's short run segments have no steady speed


def label_speeds(args: argparse.Namespace, corpus, rep) -> None:
    speeds: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for split in ("train", "val-takes"):
        for seg in corpus.segments(split):
            info = corpus.clips[seg.clip]
            if info.action in ACTIONS and seg.num_frames >= MIN_FRAMES:
                clip = corpus.segment_clip(seg)
                speeds[info.action, info.style][split].append(root_speed(clip.global_positions(), rep.root, clip.fps))
    gen = load_folder(args.generated)
    for clip, action, style in zip(gen.clips, gen.actions, gen.styles, strict=True):
        if action in ACTIONS and clip.num_frames >= MIN_FRAMES:
            speeds[action, style]["generated"].append(root_speed(clip.global_positions(), rep.root, clip.fps))
    print("| action | style | train cm/s | validation cm/s | generated cm/s | generated / train |")
    print("|---|---|---|---|---|---|")
    for (action, style), s in sorted(speeds.items()):
        if s["generated"]:
            tr, va, ge = (np.mean(s[k]) for k in ("train", "val-takes", "generated"))
            print(f"| {action} | {style} | {tr:.1f} | {va:.1f} | {ge:.1f} | {ge / tr:.2f} |")


def one_step_bias(args: argparse.Namespace, corpus, rep) -> None:
    gen = load_generator(args.model, backend="torch")
    ab = cosine_alpha_bar(gen.timesteps)
    vel = rep.layout.root_vel
    rng = np.random.default_rng(0)
    true, est = defaultdict(list), defaultdict(list)
    for seg in corpus.segments("val-takes"):
        info = corpus.clips[seg.clip]
        if info.action not in ACTIONS or not MIN_FRAMES <= seg.num_frames <= gen.window:
            continue
        feats = rep.encode(corpus.segment_clip(seg))  # (F, D) raw
        x0 = ((feats - gen.mean) / gen.std).astype(np.float32)[None]  # (1, F, D)
        a, s = gen._label_ids(info.action, info.style)
        for t in NOISE_LEVELS:
            x_t = math.sqrt(ab[t]) * x0 + math.sqrt(1 - ab[t]) * rng.standard_normal(x0.shape, np.float32)
            zeros = np.zeros_like(x_t)
            pred = gen.denoise(x_t.astype(np.float32), np.array([t]), np.array([a]), np.array([s]), zeros, zeros,
                               np.array([True])) * gen.std + gen.mean  # (1, F, D) raw
            true[t].append(np.linalg.norm(feats[:, vel], axis=-1).mean())
            est[t].append(np.linalg.norm(pred[0, :, vel], axis=-1).mean())
    print("\n| noise step t | signal fraction | true root speed | one-step estimate | ratio |")
    print("|---|---|---|---|---|")
    for t in NOISE_LEVELS:
        tr, es = np.mean(true[t]), np.mean(est[t])
        print(f"| {t} | {ab[t]:.3f} | {tr:.3f} | {es:.3f} | {es / tr:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("generated", help="folder of clips from `generate --like val-takes`")
    ap.add_argument("--model", default="diffusion")
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args()
    corpus = load_corpus(args.data, progress=True)
    rep = representation_for(corpus.skeleton)
    label_speeds(args, corpus, rep)
    one_step_bias(args, corpus, rep)


if __name__ == "__main__":
    main()
