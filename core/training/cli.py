"""`python -m core train` and `python -m core export`: train a generator, write shipped weights."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..errors import GenAnimError

# Settings `train` takes from its command line over the config file's (the card's command repeats them).
TRAIN_OVERRIDES = ("data", "steps")


def _train(args: argparse.Namespace) -> int:
    from .config import TrainConfig
    from .families import FAMILIES
    from .train import train

    cfg = TrainConfig.load(args.config) if args.config else TrainConfig()
    if args.model:
        if args.model not in FAMILIES:
            raise GenAnimError(f"unknown model {args.model!r}; trainable models: {', '.join(FAMILIES)}")
        if args.config and cfg.family != args.model:
            raise GenAnimError(f"{args.config} is a config for the {cfg.family} model, not {args.model}")
        cfg.family = args.model
    if args.data:
        cfg.data = args.data
    if args.steps:
        cfg.steps = args.steps
    out = Path(args.out or f"out/runs/{cfg.family}")
    summary = train(cfg, out, resume=args.resume, device=args.device, stop_at=args.stop_at)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    from .card import model_card
    from .config import TrainConfig
    from .train import CHECKPOINT, SAMPLING, checkpoint_config, config_differences, export_weights, load_checkpoint

    ck = Path(args.run)
    ck = ck / CHECKPOINT if ck.is_dir() else ck
    if not ck.is_file():
        raise GenAnimError(f"{ck}: no checkpoint (train first: python -m core train --model MODEL --config FILE)")
    if ck.suffix == ".safetensors":
        raise GenAnimError(f"{ck}: already exported weights; export takes a run folder or its checkpoint file")
    checkpoint = load_checkpoint(ck)
    sampling, overrides = None, {}
    if args.config:  # the card names this file in its training command: it must be the run's config
        cfg = TrainConfig.load(args.config).to_dict()
        trained = checkpoint_config(checkpoint)  # with what `train --data/--steps` set over the file
        overrides = {k: trained[k] for k in TRAIN_OVERRIDES if trained[k] != cfg[k]}
        changed = config_differences({**cfg, **overrides}, checkpoint)
        if changed:
            raise GenAnimError(f"{args.config} is not the config of {ck} (differs in {', '.join(changed)})")
        sampling = {k: cfg[k] for k in SAMPLING}
        checkpoint["config"].update(sampling)
    out = Path(args.out or f"weights/{checkpoint['config']['family']}.safetensors")
    meta = export_weights(ck, out, fp16=not args.fp32, sampling=sampling)
    card = out.with_suffix(".md")
    note = _fp16_effect(ck)
    card.write_text(model_card(checkpoint, out, meta, str(ck.parent), args.config, note, overrides), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, step {meta['trained_steps']}) and {card}")
    return 0


def _fp16_effect(checkpoint: Path) -> str:
    """How far clips of fp16 weights move from those of fp32 weights (same seeds): a measured sentence."""
    import tempfile

    import numpy as np

    from ..generation import load_generator
    from .train import export_weights

    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / "fp32.safetensors", Path(tmp) / "fp16.safetensors"]
        for f, half in zip(files, (False, True), strict=True):
            export_weights(checkpoint, f, fp16=half)
        gens = [load_generator(str(f), "cpu") for f in files]
        actions = gens[0].actions
        action = ("walk" if "walk" in actions else actions[0]) if gens[0].conditional else None
        clips = [g.generate(action, None, 4.0, count=4, seed=0) for g in gens]
    diff = np.stack([np.abs(a.global_positions() - b.global_positions()).max(axis=-1)
                     for a, b in zip(*clips, strict=True)])  # (clips, F, J)
    return (f"fp16 weights instead of fp32 move the joint positions of 4 clips of 4 s (same seeds) by "
            f"{diff.mean():.3f} cm on average, {diff.max():.3f} cm at most (measured by `python -m core export`)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a generator (runs under torchrun for data-parallel training)")
    p.add_argument("--model", help="model family: diffusion, vae, cvae, gan or cgan (default: the config's, "
                   "else diffusion)")
    p.add_argument("--config", help="JSON training config (see configs/); default settings without one")
    p.add_argument("--data", help="corpus: folder of labelled BVH clips of one skeleton, an archive, or 'bandai-namco'")
    p.add_argument("--out", help="run folder for checkpoints and logs (default out/runs/<model>)")
    p.add_argument("--steps", type=int, help="total training steps (overrides the config)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument("--stop-at", type=int, metavar="STEP", help="stop once the run has made STEP steps, its "
                   "checkpoint saved (to export and score it there; --resume then goes on to the config's steps)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.set_defaults(func=_train)
    e = sub.add_parser("export", help="write a run's EMA weights (.safetensors) and model card (.md)")
    e.add_argument("run", help="run folder (or checkpoint file)")
    e.add_argument("--out", help="weights file (default weights/<family>.safetensors)")
    e.add_argument("--fp32", action="store_true", help="keep float32 weights (default float16; the card reports "
                   "how far fp16 moves generated clips)")
    e.add_argument("--config", help="the run's training config file, named in the model card's training command "
                   "(its sample_steps, guidance and temperature become the exported defaults)")
    e.set_defaults(func=_export)
