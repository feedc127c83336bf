"""How much of a diffusion model's distance to real motion comes from its clips not being whole takes.

    python bench/bench_whole_takes.py [--model diffusion] [--threads 2]

Real takes start at rest, perform and return to rest; a model trained on windows cropped anywhere in
a take generates excerpts. Both rows generate one clip per validation take (its labels, its length,
seed = index) and are scored by the evaluation suite (v2) against the validation takes: as the model
generates by default, and with the pose (joint rotations and root height) of its first and last frame
given, taken from the first and last frame of a real training take of the same labels (from the half
of the training takes the recognizer learned from, never the floors' half). A diagnosis, not a product
setting: the cause is in the training data, and that is where it is to be fixed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.compare import generate_like  # noqa: E402
from core.evaluation.recognizer import Recognizer  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.suite import DEFAULT_RECOGNIZER, ClipSet, evaluator, judge_halves  # noqa: E402
from core.generation import load_generator  # noqa: E402

COLUMNS = ("set", "n", "action_acc", "style_acc", "fid", "fid_floor", "fid_ratio", "precision", "recall",
           "diversity", "jitter", "start_pose", "end_pose")


def with_real_ends(gen, reference: ClipSet, takes: dict[tuple, list[np.ndarray]], seed: int = 0) -> ClipSet:
    """One clip per reference clip, its first and last poses those of a real take of its labels."""
    rng = np.random.default_rng(seed)
    lay = gen.rep.layout
    pose = np.zeros(lay.dim)
    pose[lay.rot6d] = pose[lay.root_height] = 1.0
    clips = []
    for k, (clip, a, s) in enumerate(zip(reference.clips, reference.actions, reference.styles, strict=True)):
        real = takes[(a, s)][rng.integers(len(takes[(a, s)]))]  # (F, D) features
        frames = clip.num_frames
        full = gen.sample_length(frames)  # as `generate` samples it
        known, mask = np.zeros((full, lay.dim)), np.zeros((full, lay.dim))
        known[[0, frames - 1]] = real[[0, -1]]
        mask[[0, frames - 1]] = pose
        a_id, s_id = gen._label_ids(a, s)
        feats = gen.sample_features(1, full, a_id, s_id, [seed + k], None, None, known[None], mask[None], None,
                                    whole=gen.whole_take(frames))
        clips.append(gen._finish(feats[0, :frames], f"{a}_{s}_{k}"))
    return ClipSet(f"{gen.name}, first and last poses of real takes", clips, reference.actions, reference.styles)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="diffusion")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    gen = load_generator(args.model, "cpu")
    corpus = load_corpus("bandai-namco")
    judge = evaluator(corpus, Recognizer.load(DEFAULT_RECOGNIZER))
    takes: dict[tuple, list[np.ndarray]] = {}
    for seg in judge_halves(corpus)[0]:
        info = corpus.clips[seg.clip]
        takes.setdefault((info.action, info.style), []).append(gen.rep.encode(corpus.segment_clip(seg)))
    plain = generate_like(gen, judge.reference)
    plain.name = f"{gen.name}, as generated"
    rows = judge.reference_rows()[:2] + [judge.score(plain), judge.score(with_real_ends(gen, judge.reference, takes))]
    print(f"{gen.name}: one clip per validation take ({len(judge.reference)}), default sampler settings")
    print(table([r.row for r in rows], COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
