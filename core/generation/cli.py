"""The `generate` and `inbetween` subcommands of `python -m core`."""

from __future__ import annotations

import argparse
import json

from ..arguments import check_outputs, check_range, check_seed, check_writable, output_folder
from ..errors import MotionDataError
from .generator import (
    BACKENDS,
    MAX_COUNT,
    MAX_GUIDANCE,
    MAX_SECONDS,
    MAX_STEPS,
    DiffusionGenerator,
    Generator,
    load_generator,
    resolve_backend,
    skeleton_differences,
)


def split_jobs(corpus, split: str, conditional: bool, seed: int = 0) -> list[tuple[str | None, str | None, float, int]]:
    """(action, style, seconds, seed) per segment of a corpus split: its labels (None for an
    unconditional model), its length, seed + index. How models are scored against real clips."""
    jobs = []
    for i, g in enumerate(corpus.segments(split)):
        info = corpus.clips[g.clip]
        labels = (info.action, info.style) if conditional else (None, None)
        jobs.append((*labels, g.num_frames / corpus.fps, seed + i))
    return jobs


def _load(args: argparse.Namespace) -> Generator:
    """The generator a command asks for, with its thread setting."""
    if args.threads and resolve_backend(args.backend) == "torch":
        import torch

        torch.set_num_threads(args.threads)
    return load_generator(args.model, args.device, backend=args.backend)


def progress_bar(desc: str) -> tuple:
    """(tqdm bar in percent, update(fraction) -> True) for the command line's long jobs."""
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", leave=False, disable=None)  # None: no bar in a log, only on a terminal

    def update(frac: float) -> bool:
        bar.n = round(frac * 100)
        bar.refresh()
        return True

    return bar, update


def _settings(args: argparse.Namespace, gen: Generator) -> dict:
    common = {"device": gen.device, "fps": gen.fps, "foot_pins": not args.no_foot_pins}
    if not isinstance(gen, DiffusionGenerator):
        return {"sampler": f"{gen.kind} decoder, one pass", **common}
    guidance = gen.default_guidance if args.guidance is None else args.guidance
    return {"steps": args.steps or gen.default_steps, "guidance": guidance, "backend": gen.backend,
            "sampler": "ddim", "excerpt": args.excerpt, **common}


def _check_args(args: argparse.Namespace) -> None:
    """The settings that need no model, checked before it loads (the rest: `Generator.check`)."""
    check_seed(args.seed)
    check_range("threads", args.threads, 1, 256)
    check_range("guidance", args.guidance, 0, MAX_GUIDANCE)
    check_range("steps", args.steps, 1, MAX_STEPS)


def _generate(args: argparse.Namespace) -> int:
    from ..data.skeleton_notes import SKELETON_NOTES, write_skeleton_notes
    from ..motion.clip import save_clip

    out = check_writable(args.out, folder=True)
    _check_args(args)
    if not args.like:
        check_range("count", args.count, 1, MAX_COUNT)
    gen = _load(args)
    if args.like:  # one clip per segment of a corpus split: its labels, its length, seed = index
        from ..data.corpus import load_corpus

        jobs = split_jobs(load_corpus(args.data), args.like, gen.conditional, args.seed)
        names = [f"{i:04d}_{a or 'any'}_{s or 'any'}_seed{sd}" for i, (a, s, _, sd) in enumerate(jobs)]
    else:
        jobs = [(args.action, args.style, args.seconds, args.seed + i) for i in range(args.count)]
        names = [f"{args.action or 'any'}_{args.style or 'any'}_seed{sd}" for *_, sd in jobs]
    paths = [out / f"{n}.bvh" for n in names]
    notes = [out / SKELETON_NOTES] if gen.skeleton.mirror_pairs or gen.skeleton.foot_joints else []
    check_outputs([q for p in paths for q in (p, p.with_suffix(".json"))] + notes, args.overwrite)
    for a, s, seconds, _ in jobs:  # unknown labels and settings out of range fail before any work
        gen._label_ids(a, s)
        gen.check(seconds, None if args.like else args.count, args.guidance, args.steps)
    bar, update = progress_bar("generate")

    pins = not args.no_foot_pins

    def produce():
        if not args.like:  # a batch at a time, each written before the next is drawn: bounded memory
            yield from gen.iter_generate(args.action, args.style, args.seconds, args.count, args.seed, args.guidance,
                                         args.steps, update, excerpt=args.excerpt, foot_pins=pins)
            return
        for k, (a, s, seconds, sd) in enumerate(jobs):
            update(k / len(jobs))
            yield gen.generate(a, s, seconds, 1, sd, args.guidance, args.steps, excerpt=args.excerpt, foot_pins=pins)[0]

    with output_folder(out):  # a run that fails before writing anything leaves no empty folder behind
        for (a, s, _, sd), path, clip in zip(jobs, paths, produce(), strict=True):
            save_clip(clip, path)
            side = {"action": a, "style": s, "model": gen.name, "seed": sd, "seconds": clip.num_frames / gen.fps,
                    "frames": clip.num_frames, "settings": _settings(args, gen)}
            path.with_suffix(".json").write_text(json.dumps(side, indent=2), encoding="utf-8")
            if not args.like:
                print(path)
        write_skeleton_notes(out, gen.skeleton)  # the library's pairs and feet travel with its clips
    bar.close()
    if args.like:
        print(f"wrote {len(paths)} clips to {out}")
    return 0


def _inbetween(args: argparse.Namespace) -> int:
    from ..motion.clip import load_clip, save_clip

    out = check_writable(args.out, inputs=[args.input])  # never over the clip it reads
    check_outputs([out], args.overwrite)
    _check_args(args)
    check_range("temperature", args.temperature, 0)
    check_range("samples", args.samples, 1, MAX_SAMPLES)
    clip = load_clip(args.input)
    gen = _load(args)
    if not gen._same_skeleton(clip.skeleton):
        differences = "; ".join(skeleton_differences(gen, clip.skeleton)) or "other bones"
        raise MotionDataError(f"the clip's skeleton is not the model's ({differences}); retarget the clip to the "
                              "model's skeleton first", args.input)
    if abs(clip.fps / gen.fps - 1) > 0.01:  # the model's motion has its frame rate: a gap of other frames is not it
        raise MotionDataError(f"the clip is {clip.fps:.4g} fps, the model works at {gen.fps:.4g} fps; resample the "
                              f"clip to {gen.fps:.4g} fps first (--from and --to count its frames)", args.input)
    check_range("the gap (frames from --from to --to)", args.end - args.start, None, MAX_SECONDS * gen.fps)
    bar, update = progress_bar("inbetween")
    result = gen.inbetween(clip, args.start, args.end, args.action, args.style, args.seed, args.steps, update,
                           args.guidance, args.temperature, args.samples)
    bar.close()
    save_clip(result, out)
    print(out)
    return 0


MAX_SAMPLES = 64  # fills `inbetween --samples` draws for one gap


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="diffusion", help="shipped weights name in weights/ or a .safetensors path")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="torch, or the numpy runtime that needs no "
                   "PyTorch (default: torch where it is installed)")
    p.add_argument("--steps", type=int, help="sampler steps (default: the model's few-step DDIM setting; 20 for "
                   "in-betweening)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (1 = none; default: the model's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--action", help="action label (default: any)")
    p.add_argument("--style", help="style label (default: any)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's; 1 is best on a busy machine)")


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("generate", help="generate clips of an action in a style (BVH + .json per sample)")
    _common(g)
    g.add_argument("--seconds", type=float, default=4.0)
    g.add_argument("--count", type=int, default=1)
    g.add_argument("--excerpt", action="store_true", help="a piece from the middle of a performance (a cycle to "
                   "loop) instead of a whole take from rest back to rest (models trained on whole takes)")
    g.add_argument("--no-foot-pins", action="store_true", help="leave the feet as the network made them instead "
                   "of holding those it flags in contact (for your own foot locking, or to see what the pins do)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--like", choices=("train", "val", "val-takes"),
                   help="instead: one clip per segment of this corpus split, with its labels and length "
                   "(seed + index), e.g. for `python -m core evaluate clips`")
    g.add_argument("--data", default="bandai-namco", help="corpus for --like")
    g.set_defaults(func=_generate)
    b = sub.add_parser("inbetween", help="fill the frames between two kept poses of a BVH clip")
    _common(b)
    b.add_argument("input", help="BVH clip on the model's skeleton")
    b.add_argument("--from", dest="start", type=int, required=True, help="last kept frame before the gap")
    b.add_argument("--to", dest="end", type=int, required=True, help="first kept frame after the gap")
    b.add_argument("--out", required=True, help="output BVH file")
    b.add_argument("--temperature", type=float, help="std of the sampler's start noise (default: the model's "
                   "in-betweening setting; lower keeps nearer the most likely fill, 1 = the training noise)")
    b.add_argument("--samples", type=int, help=f"fills to draw, 1 to {MAX_SAMPLES}; the one that agrees best with "
                   "the kept poses is written (default: the model's in-betweening setting)")
    b.set_defaults(func=_inbetween)
