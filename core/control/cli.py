"""`python -m core control train|export` and `python -m core follow`."""

from __future__ import annotations

import argparse

MIN_SPEED, MAX_SPEED = 0.3, 6.0  # m/s: from a slow stroll to a sprint
MAX_THREADS = 256


def _train(args: argparse.Namespace) -> int:
    from .train import train

    train(args.config, args.out, args.resume)
    return 0


def _export(args: argparse.Namespace) -> int:
    from .train import export

    print(export(args.run, args.out, half=not args.fp32))
    return 0


def _follow(args: argparse.Namespace) -> int:
    import json
    import sys

    import torch

    from ..arguments import check_outputs, check_range, check_seed, check_writable, output_folder
    from ..motion.clip import save_clip
    from .controller import load_controller
    from .follow import check_take, follow, read_path, score_path

    check_range("speed (m/s)", args.speed, MIN_SPEED, MAX_SPEED)  # a crawl along a long path never ends
    check_range("temperature", args.temperature, 0)
    check_range("threads", args.threads, 1, MAX_THREADS)
    check_seed(args.seed)
    out = check_writable(args.out, inputs=[args.path])
    check_outputs([out], args.overwrite)
    points = check_take(read_path(args.path), args.speed, args.path)  # input errors before loading the model
    torch.set_num_threads(args.threads)
    ctl = load_controller(args.model, args.seed)
    ctl.style_id(args.style)
    ctl.temperature = args.temperature
    clip = follow(ctl, points, args.style, args.speed, args.action, correct=not args.no_correction,
                  report=lambda message: print(f"warning: {args.path}: {message}", file=sys.stderr))
    with output_folder(out.parent):
        save_clip(clip, out)
    score = score_path(clip, points, args.action)
    print(out)
    print(json.dumps({"frames": clip.num_frames, "seconds": round(clip.num_frames / clip.fps, 2),
                      "mean_distance_cm": round(score.distance_cm, 2), "mean_facing_deg": round(score.facing_deg, 2),
                      "foot_skating": round(score.skating, 4), "end_distance_cm": round(score.end_cm, 2)}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("control", help="train and export the interactive controller")
    csub = c.add_subparsers(dest="control_command", required=True, metavar="STEP")
    t = csub.add_parser("train", help="train the controller (checkpoints; --resume continues a killed run)")
    t.add_argument("--config", default="configs/controller.json")
    t.add_argument("--out", default="out/runs/controller")
    t.add_argument("--resume", action="store_true")
    t.set_defaults(func=_train)
    e = csub.add_parser("export", help="write the weights file of a run")
    e.add_argument("run", help="run folder (holds checkpoint.pt)")
    e.add_argument("--out", default="weights/controller.safetensors")
    e.add_argument("--fp32", action="store_true", help="keep float32 tensors (default: float16)")
    e.set_defaults(func=_export)
    f = sub.add_parser("follow", help="walk or run along a ground path (CSV of x,z metres) into a BVH")
    f.add_argument("path", help="CSV file: one x,z point in metres a line (Y up, as in BVH)")
    f.add_argument("--style", default="normal")
    f.add_argument("--speed", type=float, default=1.4,
                   help=f"metres per second, {MIN_SPEED:g} to {MAX_SPEED:g} (above 2.2 it runs)")
    f.add_argument("--action", help="action label (default: walk or run by speed; walk-back walks the path "
                                    "backwards, facing away from it)")
    f.add_argument("--out", required=True, help="output BVH file")
    f.add_argument("--model", help="controller weights (default: weights/controller.safetensors)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--temperature", type=float, default=0.0, help="latent sampling scale (0: the mean motion)")
    f.add_argument("--no-correction", action="store_true", help="no explicit pull of the root onto the path")
    f.add_argument("--overwrite", action="store_true")
    f.add_argument("--threads", type=int, default=1)
    f.set_defaults(func=_follow)
