"""Which foot joints skate: the evaluation's foot skating (`core.evaluation.metrics.foot_skating_rate`) per
foot joint, for the validation takes and for folders of generated clips.

    python scripts/skating_diagnosis.py GENERATED_DIR [GENERATED_DIR ...] [--data bandai-namco]

GENERATED_DIR: clips written by `python -m core generate --like val-takes --out GENERATED_DIR`. Each cell is
the mean over the set's clips of one joint's rate, as the evaluation's column is the mean over clips of all
the foot joints' rate together. A second table gives that column and its difference from the validation
takes', paired take by take (the generated clip i has take i's labels and length), with the standard error
of that mean difference: how far a set's foot skating is from real's beyond what one draw of clips decides.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.metrics import foot_skating_rate  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.suite import REFERENCE_SPLIT, ClipSet, load_folder, real_set  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402


def per_joint(clips: ClipSet) -> dict[str, float]:
    rates: dict[str, list[float]] = {}
    for clip in clips.clips:
        pos = clip.global_positions()
        for j in representation_for(clip.skeleton).feet:
            rates.setdefault(clip.skeleton.names[j], []).append(foot_skating_rate(pos, [j], clip.fps))
    return {name: float(np.mean(r)) for name, r in rates.items()}


def per_clip(clips: ClipSet) -> np.ndarray:
    """(N,) the evaluation's foot skating of each clip (all its foot joints together)."""
    return np.array([foot_skating_rate(c.global_positions(), representation_for(c.skeleton).feet, c.fps)
                     for c in clips.clips])


def paired(real: ClipSet, real_rate: np.ndarray, generated: ClipSet) -> dict[str, str]:
    """Mean foot skating of `generated`, and its difference from `real`'s (`real_rate`: its `per_clip`) take
    by take with the standard error of that mean; the difference is left out unless clip i of both has the
    same labels."""
    rate = per_clip(generated)
    row = {"foot skating": f"{rate.mean():.4f}", "minus real, paired": "-", "standard error": "-"}
    same = len(real.clips) == len(generated.clips) and real.actions == generated.actions and \
        real.styles == generated.styles
    if same:
        diff = rate - real_rate
        row.update({"minus real, paired": f"{diff.mean():+.4f}",
                    "standard error": f"{diff.std(ddof=1) / np.sqrt(len(diff)):.4f}"})
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("generated", nargs="+")
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args(argv)
    sets = {f"real {REFERENCE_SPLIT}": real_set(load_corpus(args.data, progress=False), REFERENCE_SPLIT)}
    sets.update({Path(g).name: load_folder(g) for g in args.generated})
    rows = [{"set": name, **{k: f"{v:.3f}" for k, v in per_joint(clips).items()}} for name, clips in sets.items()]
    print(table(rows, tuple(rows[0])))
    real = next(iter(sets.values()))
    real_rate = per_clip(real)
    rows = [{"set": name, **paired(real, real_rate, clips)} for name, clips in sets.items()]
    print()
    print(table(rows, tuple(rows[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
