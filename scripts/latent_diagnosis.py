"""Where a VAE/CVAE's clips lose to real ones: the decoder or the prior. Scores on the validation takes
(`python -m core evaluate`'s yardstick) one clip per take

- sampled as the model ships (latents from its prior), and
- decoded from the encoder's own posterior means of that take (no prior: what the decoder can make),

each at the weights' guidance and at guidance 1, with the waves' hand speed beside them:

    python scripts/latent_diagnosis.py RUN WEIGHTS

RUN: the training run folder (its checkpoint holds the encoder, which exported weights leave out); WEIGHTS:
the run's export (`python -m core export RUN --config CFG --out WEIGHTS`). `wave_hand_speed` is the mean over
the wave takes of the faster hand's speed relative to the hips (cm per frame), as a share of the real takes':
a decoder that blurs a swing scores low there, and the recognizer then takes the wave for a raise.
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
from core.evaluation.suite import DEFAULT_RECOGNIZER, ClipSet, evaluator  # noqa: E402
from core.generation import load_generator  # noqa: E402
from core.training.families import ema_vae  # noqa: E402
from core.training.train import CHECKPOINT, load_checkpoint  # noqa: E402

COLUMNS = ("set", "action_acc", "style_acc", "fid_ratio", "precision", "recall", "diversity", "wave_hand_speed",
           "weakest_actions")


def wave_hand_speed(clips: ClipSet) -> float:
    """Mean over the wave clips of the faster hand's speed relative to the hips, cm per frame."""
    speeds = []
    for clip, action in zip(clips.clips, clips.actions, strict=True):
        if action.startswith("wave"):
            names = list(clip.skeleton.names)
            p = clip.global_positions()
            rel = p[:, [names.index("Hand_L"), names.index("Hand_R")]] - p[:, [names.index("Hips")]]
            speeds.append(np.linalg.norm(np.diff(rel, axis=0), axis=-1).max(-1).mean())
    return float(np.mean(speeds))


def weakest_actions(scored, actions: list[str], count: int = 3) -> str:
    """The `count` actions the recognizer finds least often in a scored set, with how often it does."""
    found = np.array(actions)[scored.action_probs.argmax(1)] == np.array(scored.clip_set.actions)
    rates = {a: found[np.array(scored.clip_set.actions) == a].mean() for a in set(scored.clip_set.actions)}
    return ", ".join(f"{a} {r:.2f}" for a, r in sorted(rates.items(), key=lambda kv: (kv[1], kv[0]))[:count])


def posterior_decodes(gen, encoder, reference: ClipSet, vocabulary, guidance: float) -> ClipSet:
    """Each reference clip decoded from its encoder's posterior means, finished as generated clips are."""
    clips = []
    for k, clip in enumerate(reference.clips):
        x = ((gen.rep.encode(clip) - gen.mean) / gen.std).astype(np.float32)  # (F, D)
        frames = np.array([len(x)])
        x = np.pad(x, ((0, -len(x) % gen.rate), (0, 0)))[None]  # whole latent steps
        a = np.array([vocabulary.action_id(reference.actions[k]) if gen.conditional else -1])
        s = np.array([vocabulary.style_id(reference.styles[k]) if gen.conditional else -1])
        with torch.no_grad():
            mu = encoder(torch.from_numpy(x), torch.from_numpy(a), torch.from_numpy(s), torch.from_numpy(frames))
        z = mu.chunk(2, dim=1)[0].numpy()  # (1, latent, T)
        out = gen.decode_guided(z, a, s, frames, guidance)
        feats = gen._clean(out[:, : frames[0]].astype(np.float64))[0]
        clips.append(gen._finish(feats, clip.name))
    return ClipSet(f"posterior means, guidance {guidance:g}", clips, list(reference.actions), list(reference.styles))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="training run folder of a VAE/CVAE (its checkpoint.pt)")
    ap.add_argument("weights", help="that run's exported .safetensors")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    vae = ema_vae(load_checkpoint(Path(args.run) / CHECKPOINT))
    gen = load_generator(args.weights, "cpu")
    corpus = load_corpus("bandai-namco")
    judge = evaluator(corpus, Recognizer.load(DEFAULT_RECOGNIZER))
    ref = judge.reference
    rows = [{**judge.score(ref, is_reference=True).row, "wave_hand_speed": 1.0}]
    real_speed = wave_hand_speed(ref)
    for g in sorted({gen.default_guidance, 1.0}, reverse=True):  # an unconditional VAE: 1 only
        sampled = generate_like(gen, ref, 0, guidance=g if gen.conditional else None)
        sampled.name = f"prior samples, guidance {g:g}"
        for clip_set in (sampled, posterior_decodes(gen, vae.encoder, ref, corpus.vocabulary, g)):
            scored = judge.score(clip_set)
            rows.append({**scored.row, "wave_hand_speed": wave_hand_speed(clip_set) / real_speed,
                         "weakest_actions": weakest_actions(scored, judge.recognizer.actions)})
    print(f"{gen.name}: {len(ref)} validation takes, one clip each; wave_hand_speed as a share of real's "
          f"({real_speed:.2f} cm per frame)")
    print(table(rows, COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
