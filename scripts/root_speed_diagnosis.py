"""Where generated locomotion loses its speed: the diffusion model's clips against the training takes of
their labels, and the model's one-step estimate of the root's speed at each noise level.

    python scripts/root_speed_diagnosis.py GENERATED_DIR [--model diffusion] [--data bandai-namco]

GENERATED_DIR: clips written by `python -m core generate --like val-takes --out GENERATED_DIR`. The first
table gives, per locomotion action and style, the mean root speed of the training takes, the validation
takes and the generated clips; the second how far the walks with a turn turn, first frame to last. The
third noises the validation takes' features to each noise level and compares the root speed of the
network's x0 estimate with the true one: a ratio of 1 says the network is not biased towards slow motion
in one step. The fourth runs the default sampler's chain (DDIM, its guidance) from the validation takes
noised to a step t0 down to clean motion: where the speed is lost, a chain from pure noise (t0 = T-1)
ends slower than chains that start from a little of the take's own signal.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fid_sources import LOCOMOTION, TURNS  # noqa: E402  (scripts/, the running script's folder)

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.metrics import root_speed  # noqa: E402
from core.evaluation.suite import load_folder  # noqa: E402
from core.generation import load_generator  # noqa: E402
from core.models.sampler import cosine_alpha_bar, ddim_step, ddim_timesteps, guided_x0, noised  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402

NOISE_LEVELS = (20, 300, 500, 700, 900)
CHAIN_STARTS = (600, 900, 999)
MIN_FRAMES = 40  # dataset-1's short run segments have no steady speed


def label_speeds(args: argparse.Namespace, corpus, rep) -> None:
    speeds: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for split in ("train", "val-takes"):
        for seg in corpus.segments(split):
            info = corpus.clips[seg.clip]
            if info.action in LOCOMOTION and seg.num_frames >= MIN_FRAMES:
                clip = corpus.segment_clip(seg)
                speeds[info.action, info.style][split].append(root_speed(clip.global_positions(), rep.root, clip.fps))
    gen = load_folder(args.generated)
    for clip, action, style in zip(gen.clips, gen.actions, gen.styles, strict=True):
        if action in LOCOMOTION and clip.num_frames >= MIN_FRAMES:
            speeds[action, style]["generated"].append(root_speed(clip.global_positions(), rep.root, clip.fps))
    print("| action | style | train cm/s | validation cm/s | generated cm/s | generated / train |")
    print("|---|---|---|---|---|---|")
    for (action, style), s in sorted(speeds.items()):
        if s["generated"]:
            tr, va, ge = (np.mean(s[k]) for k in ("train", "val-takes", "generated"))
            print(f"| {action} | {style} | {tr:.1f} | {va:.1f} | {ge:.1f} | {ge / tr:.2f} |")


def turn_angles(args: argparse.Namespace, corpus, rep) -> None:
    """Heading change (degrees, first frame to last) of the walks with a turn: median and 10-90% range."""
    turns: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def turn(clip) -> float:
        heading = np.unwrap(rep.heading(clip.global_transforms()[0][:, rep.root]))
        return float(np.degrees(heading[-1] - heading[0]))

    for split in ("train", "val-takes"):
        for seg in corpus.segments(split):
            action = corpus.clips[seg.clip].action
            if action in TURNS:
                turns[action][split].append(turn(corpus.segment_clip(seg)))
    gen = load_folder(args.generated)
    for clip, action in zip(gen.clips, gen.actions, strict=True):
        if action in TURNS:
            turns[action]["generated"].append(turn(clip))
    spread = lambda v: f"{np.median(v):.0f} ({np.percentile(v, 10):.0f} to {np.percentile(v, 90):.0f})"  # noqa: E731
    print("\n| action | train degrees | validation degrees | generated degrees |")
    print("|---|---|---|---|")
    for action, t in sorted(turns.items()):
        if t["generated"]:
            print(f"| {action} | {spread(t['train'])} | {spread(t['val-takes'])} | {spread(t['generated'])} |")


def network_speeds(args: argparse.Namespace, corpus, rep) -> None:
    gen = load_generator(args.model, backend="torch")
    ab = cosine_alpha_bar(gen.timesteps)
    vel = rep.layout.root_vel
    rng = np.random.default_rng(0)
    speed = lambda f: float(np.linalg.norm(f[..., vel], axis=-1).mean())  # noqa: E731  mean |root step|
    true, est, chain = [], defaultdict(list), defaultdict(list)
    for seg in corpus.segments("val-takes"):
        info = corpus.clips[seg.clip]
        if info.action not in LOCOMOTION or not MIN_FRAMES <= seg.num_frames <= gen.window:
            continue
        feats = rep.encode(corpus.segment_clip(seg))  # (F, D) raw
        x0 = ((feats - gen.mean) / gen.std).astype(np.float32)[None]  # (1, F, D) normalised
        a, s = (np.array([i]) for i in gen._label_ids(info.action, info.style))
        zeros, whole = np.zeros_like(x0), np.array([True])
        true.append(speed(feats))
        for t in NOISE_LEVELS:
            pred = gen.denoise(noised(x0, ab[t], rng), np.array([t]), a, s, zeros, zeros, whole)  # (1, F, D)
            est[t].append(speed(pred * gen.std + gen.mean))
        for t0 in CHAIN_STARTS:  # the default sampler's DDIM steps over t0 .. 0
            x, ts = noised(x0, ab[t0], rng), ddim_timesteps(t0 + 1, gen.default_steps)
            for t, prev in zip(ts, ts[1:] + [-1], strict=True):
                p = guided_x0(gen.denoise, x, t, a, s, zeros, zeros, gen.default_guidance, gen.window,
                              gen.window // 4, True, whole)
                x = p if prev < 0 else ddim_step(x, p, ab[t], ab[prev]).astype(np.float32)
            chain[t0].append(speed(x * gen.std + gen.mean))
    tr = np.mean(true)
    print("\n| noise step t | signal fraction | one-step estimate / true root speed |")
    print("|---|---|---|")
    for t in NOISE_LEVELS:
        print(f"| {t} | {ab[t]:.3f} | {np.mean(est[t]) / tr:.3f} |")
    print(f"\n| chain from step t0 ({gen.default_steps} DDIM steps, guidance {gen.default_guidance:g}) | signal "
          "fraction at t0 | sampled / true root speed |")
    print("|---|---|---|")
    for t0 in CHAIN_STARTS:
        print(f"| {t0} | {ab[t0]:.3f} | {np.mean(chain[t0]) / tr:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("generated", help="folder of clips from `generate --like val-takes`")
    ap.add_argument("--model", default="diffusion")
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args()
    corpus = load_corpus(args.data, progress=True)
    rep = representation_for(corpus.skeleton)
    label_speeds(args, corpus, rep)
    turn_angles(args, corpus, rep)
    network_speeds(args, corpus, rep)


if __name__ == "__main__":
    main()
