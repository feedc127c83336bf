"""Where generated clips are jerkier than real ones: per joint, and by frame position within a token.

    python scripts/jitter_diagnosis.py GENERATED_DIR [--model diffusion] [--data bandai-namco]

GENERATED_DIR: clips written by `python -m core generate --like val-takes --out GENERATED_DIR`. The first
table gives, per group of actions (gestures: raises and waves; locomotion: walks and runs), the mean jerk
(cm/s^3, the evaluation's jitter) of each joint in the validation takes and in the generated clips. The
second gives the mean acceleration of the hands at each frame position modulo the model's frames per
token: real motion has no period, so a spread between the positions is the token borders showing through
the network's output. The third asks where that comes from: the network's one-step estimate of the
validation gesture takes noised to a few low noise levels, whose input still holds nearly all the answer,
against the takes themselves (mean absolute second difference of the normalised features, by frame
position within a token).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.suite import REFERENCE_SPLIT, ClipSet, load_folder, real_set  # noqa: E402
from core.generation import load_generator  # noqa: E402
from core.models.sampler import cosine_alpha_bar, noised  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402

NOISE_LEVELS = (10, 100, 300)
GROUPS = {"gestures": ("raise", "wave"), "locomotion": ("walk", "run")}


def group_of(action: str | None) -> str | None:
    return next((g for g, prefixes in GROUPS.items() if action and action.startswith(prefixes)), None)


def joint_jerk(clips: ClipSet, group: str) -> np.ndarray:
    """(J,) mean jerk magnitude of each joint over the clips of `group`."""
    per = []
    for clip, action in zip(clips.clips, clips.actions, strict=True):
        if group_of(action) == group and clip.num_frames > 3:
            jerk = np.diff(clip.global_positions(), 3, axis=0) * clip.fps**3  # (F-3, J, 3)
            per.append(np.linalg.norm(jerk, axis=-1).mean(0))
    return np.mean(per, 0)


def hand_acceleration_by_phase(clips: ClipSet, group: str, patch: int) -> np.ndarray:
    """(patch,) mean acceleration of the hands at frames f with f % patch == 0 .. patch-1."""
    sums, counts = np.zeros(patch), np.zeros(patch)
    for clip, action in zip(clips.clips, clips.actions, strict=True):
        if group_of(action) != group:
            continue
        hands = [j for j, n in enumerate(clip.skeleton.names) if "hand" in n.lower()]
        acc = np.diff(clip.global_positions()[:, hands], 2, axis=0) * clip.fps**2  # (F-2, H, 3), at frames 1..F-2
        mag = np.linalg.norm(acc, axis=-1).mean(-1)
        phase = (np.arange(len(mag)) + 1) % patch
        np.add.at(sums, phase, mag)
        np.add.at(counts, phase, 1)
    return sums / np.maximum(counts, 1)


def one_step_by_phase(corpus, gen, patch: int) -> dict[str, np.ndarray]:
    """(patch,) mean |second difference| of the features at each frame position within a token: of the
    validation gesture takes ("takes") and of the network's x0 estimate from them noised to each level."""
    ab = cosine_alpha_bar(gen.timesteps)
    rng = np.random.default_rng(0)
    sums, counts = {"takes": np.zeros(patch)} | {f"t={t}": np.zeros(patch) for t in NOISE_LEVELS}, np.zeros(patch)
    for seg in corpus.segments(REFERENCE_SPLIT):
        info = corpus.clips[seg.clip]
        if group_of(info.action) != "gestures" or seg.num_frames > gen.window:
            continue
        clip = corpus.segment_clip(seg)
        x0 = ((representation_for(clip.skeleton).encode(clip) - gen.mean) / gen.std).astype(np.float32)[None]
        a, s = (np.array([i]) for i in gen._label_ids(info.action, info.style))
        zeros, whole = np.zeros_like(x0), np.array([True])
        phase = (np.arange(x0.shape[1] - 2) + 1) % patch
        curve = {"takes": x0[0]}
        for t in NOISE_LEVELS:
            curve[f"t={t}"] = gen.denoise(noised(x0, ab[t], rng), np.array([t]), a, s, zeros, zeros, whole)[0]
        for key, f in curve.items():
            np.add.at(sums[key], phase, np.abs(np.diff(f, 2, axis=0)).mean(-1))
        np.add.at(counts, phase, 1)
    return {k: v / np.maximum(counts, 1) for k, v in sums.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generated")
    ap.add_argument("--model", default="diffusion")
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args()
    corpus = load_corpus(args.data)
    gen = load_generator(args.model, backend="torch")
    patch = int(gen.meta["architecture"]["patch"])
    real = real_set(corpus, REFERENCE_SPLIT, "real")
    clips_made = load_folder(args.generated)
    names = real.clips[0].skeleton.names
    for group in GROUPS:
        r, g = joint_jerk(real, group), joint_jerk(clips_made, group)
        print(f"\n{group}: mean jerk per joint (cm/s^3)\n\n| joint | real | generated | ratio |\n|---|---|---|---|")
        for name, a, b in zip(names, r, g, strict=True):
            print(f"| {name} | {a:.0f} | {b:.0f} | {b / a:.2f}x |" if a > 0 else f"| {name} | 0 | {b:.0f} | - |")
    print(f"\nhands' mean acceleration (cm/s^2) at frame position modulo {patch}\n")
    print("| set | group | " + " | ".join(str(i) for i in range(patch)) + " | max / min |")
    print("|---|---|" + "---|" * (patch + 1))
    for clips in (real, clips_made):
        for group in GROUPS:
            a = hand_acceleration_by_phase(clips, group, patch)
            print(f"| {clips.name} | {group} | " + " | ".join(f"{v:.0f}" for v in a) + f" | {a.max() / a.min():.2f} |")
    print(f"\nfeatures' mean |second difference| (normalised) at frame position modulo {patch}: validation gesture "
          "takes, and the network's one-step estimate from them noised to step t\n")
    print("| input | " + " | ".join(str(i) for i in range(patch)) + " | max / min | mean / takes' |")
    print("|---|" + "---|" * (patch + 2))
    rows = one_step_by_phase(corpus, gen, patch)
    for key, a in rows.items():
        print(f"| {key} | " + " | ".join(f"{v:.4f}" for v in a) + f" | {a.max() / a.min():.2f} | "
              f"{a.mean() / rows['takes'].mean():.2f} |")


if __name__ == "__main__":
    main()
