"""Where generated clips are jerkier than real ones: per joint, and by frame position within a token.

    python scripts/jitter_diagnosis.py GENERATED_DIR [--patch 4] [--data bandai-namco]

GENERATED_DIR: clips written by `python -m core generate --like val-takes --out GENERATED_DIR`. The first
table gives, per group of actions (gestures: raises and waves; locomotion: walks and runs), the mean jerk
(cm/s^3, the evaluation's jitter) of each joint in the validation takes and in the generated clips. The
second gives the mean acceleration of the hands at each frame position modulo `patch` (the diffusion
network's frames per token): real motion has no period, so a spread between the positions is the token
borders showing through the network's output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.suite import REFERENCE_SPLIT, ClipSet, load_folder, real_set  # noqa: E402

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("generated")
    ap.add_argument("--patch", type=int, default=4, help="the network's frames per token")
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args()
    real = real_set(load_corpus(args.data), REFERENCE_SPLIT, "real")
    gen = load_folder(args.generated)
    names = real.clips[0].skeleton.names
    for group in GROUPS:
        r, g = joint_jerk(real, group), joint_jerk(gen, group)
        print(f"\n{group}: mean jerk per joint (cm/s^3)\n\n| joint | real | generated | ratio |\n|---|---|---|---|")
        for name, a, b in zip(names, r, g, strict=True):
            print(f"| {name} | {a:.0f} | {b:.0f} | {b / a:.2f}x |" if a > 0 else f"| {name} | 0 | {b:.0f} | - |")
    print(f"\nhands' mean acceleration (cm/s^2) at frame position modulo {args.patch}\n")
    print("| set | group | " + " | ".join(str(i) for i in range(args.patch)) + " | max / min |")
    print("|---|---|" + "---|" * (args.patch + 1))
    for clips in (real, gen):
        for group in GROUPS:
            a = hand_acceleration_by_phase(clips, group, args.patch)
            print(f"| {clips.name} | {group} | " + " | ".join(f"{v:.0f}" for v in a) + f" | {a.max() / a.min():.2f} |")


if __name__ == "__main__":
    main()
