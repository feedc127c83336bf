"""`python -m core evaluate ...`: the evaluation suite on the command line."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import time
from pathlib import Path

from ..errors import GenAnimError


def _recognizer(path: str | None):
    from .recognizer import Recognizer
    from .suite import DEFAULT_RECOGNIZER

    path = Path(path) if path else DEFAULT_RECOGNIZER
    if not path.exists():
        raise GenAnimError(
            f"{path}: recognizer weights not found; train them with `python -m core evaluate train-recognizer`"
        )
    return Recognizer.load(path)


def _print_rows(rows: list[dict], columns: tuple[str, ...]) -> None:
    from .report import table

    print(table(rows, columns))


def _reference(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from .report import SUITE_COLUMNS, write_report
    from .suite import reference

    rec = _recognizer(args.recognizer)
    corpus = load_corpus(args.data, progress=True)
    scored, _ = reference(corpus, rec, seed=args.seed)
    _print_rows([s.row for s in scored], SUITE_COLUMNS)
    if args.report:
        path = write_report(args.report, "GenAnim evaluation: reference rows", scored, vocab=(rec.actions, rec.styles))
        print(f"wrote {path}")
    return 0


def _clips(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from .report import SUITE_COLUMNS, write_report
    from .suite import load_folder, reference, score

    rec = _recognizer(args.recognizer)
    generated = load_folder(args.folder)
    corpus = load_corpus(args.data, progress=True)
    scored, val = reference(corpus, rec, seed=args.seed)
    mine = score(generated, rec, scored[0].embedding, seed=args.seed)
    rows = scored + [mine]
    _print_rows([s.row for s in rows], SUITE_COLUMNS)
    if args.report:
        path = write_report(
            args.report, f"GenAnim evaluation: {generated.name}", rows, subject=mine, vocab=(rec.actions, rec.styles)
        )
        print(f"wrote {path}")
    return 0


def _inbetween(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from .inbetween import BASELINES, benchmark, command_method
    from .report import INBETWEEN_COLUMNS, write_report
    from .suite import real_set

    corpus = load_corpus(args.data, progress=True)
    methods = dict(BASELINES)
    max_windows = args.max_windows
    if args.model:  # our generator in this process: the same code path as `python -m core inbetween`
        from ..generation import load_generator

        gen = load_generator(args.model, args.device)
        methods[gen.name] = lambda clip, start, end: gen.inbetween(clip, start, end, steps=args.steps,
                                                                   temperature=args.temperature, samples=args.samples)
    if args.candidate:
        methods[args.name] = command_method(args.candidate)
        # A command per window is slow; score every method on the same evenly spread subset.
        max_windows = max_windows or 100
    rows = benchmark(
        real_set(corpus, args.split).clips,
        real_set(corpus, "train").clips,
        methods,
        gaps=tuple(args.gaps),
        stride=args.stride,
        max_windows=max_windows,
        progress=True,
    )
    _print_rows(rows, INBETWEEN_COLUMNS)
    if args.report:
        path = write_report(args.report, "GenAnim evaluation: in-betweening", inbetween_rows=rows)
        print(f"wrote {path}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import sys

    import torch

    from ..data.corpus import load_corpus
    from ..generation import load_generator, progress_bar
    from .compare import COLUMNS, compare, fill_card, write_compare_report

    torch.set_num_threads(args.threads)
    gens = [load_generator(m, "cpu") for m in args.models]  # unknown names fail before any work
    rec = _recognizer(args.recognizer)
    corpus = load_corpus(args.data, progress=True)

    def progress(name):
        return progress_bar(f"generate {name}")[1]

    refs, rows = compare(gens, corpus, rec, seed=args.seed, progress=progress)
    print(file=sys.stderr)
    _print_rows([r.row for r in refs + rows], COLUMNS)
    command = "python -m core " + " ".join(shlex.quote(a) for a in args.argv)
    report = None
    if args.report:
        report = write_compare_report(args.report, refs, rows, command)
        print(f"wrote {report}")
    for gen, scored in zip(gens, rows, strict=True):
        card = gen.path.with_suffix(".md")  # the diffusion card has its own, longer evaluation section
        if gen.kind != "diffusion" and card.exists():
            fill_card(card, refs, scored, command, report)
            print(f"updated the evaluation section of {card}")
    return 0


def _train_recognizer(args: argparse.Namespace) -> int:
    import torch

    from ..data.corpus import load_corpus
    from .suite import fit_recognizer

    torch.set_num_threads(args.threads)
    t0 = time.time()
    corpus = load_corpus(args.data, progress=True)
    rec, quality = fit_recognizer(corpus, steps=args.steps, seed=args.seed)
    wall = time.time() - t0
    out = Path(args.out)
    rec.save(out)
    command = "python -m core " + " ".join(shlex.quote(a) for a in args.argv)
    card = out.with_suffix(".md")
    card.write_text(_recognizer_card(rec, quality, command, wall, out), encoding="utf-8")
    print(
        f"validation: action accuracy {quality['val_action_acc']:.4f}, "
        f"style accuracy {quality['val_style_acc']:.4f} on {quality['val_clips']} clips"
    )
    print(f"wrote {out} and {card}")
    return 0


def _recognizer_card(rec, quality: dict, command: str, wall: float, out: Path) -> str:
    import torch

    info, cfg = rec.info, rec.model.cfg
    facts = [
        ("file", f"`{out.name}` ({out.stat().st_size / 1024:.0f} KiB, fp16 weights, safetensors)"),
        (
            "architecture",
            f"temporal convolution: stride-2 input conv, {cfg.blocks} dilated residual blocks, "
            f"width {cfg.width}, mean+max pooling, {cfg.embed}-D embedding, action and style heads",
        ),
        ("parameters", f"{info['parameters']:,}"),
        (
            "data",
            f"Bandai Namco Research Motiondataset 1 + 2, train split ({quality['train_clips']} segments) "
            "plus left/right mirrored copies with swapped labels; CC BY-NC 4.0",
        ),
        ("labels", f"{len(rec.actions)} actions, {len(rec.styles)} styles (union vocabulary)"),
        (
            "training",
            f"{info['steps']} steps, batch {info['batch']}, random windows of 30 to {info['window']} "
            f"frames, AdamW one-cycle lr {info['lr']}, seed {info['seed']}",
        ),
        ("wall time", f"{wall:.0f} s in all ({info['train_seconds']:.0f} s of optimisation)"),
        (
            "hardware",
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
        ),
        ("command", f"`{command}`"),
    ]
    rows = [("all", quality["val_clips"], quality["val_action_acc"], quality["val_style_acc"])]
    rows += [(ds, q["clips"], q["action_acc"], q["style_acc"]) for ds, q in quality["per_dataset"].items()]
    return "\n".join(
        [
            "# Motion recognizer (evaluation network)",
            "",
            "Classifies the action and style of a motion clip from its learning representation; its pooled",
            "embedding is the feature space of FID, diversity and multimodality in `python -m core evaluate`.",
            "This card was written by the training command itself.",
            "",
            "| | |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in facts),
            "",
            f"## Quality on the validation split ({quality['val_clips']} clips)",
            "",
            "| clips | count | action accuracy | style accuracy |",
            "|---|---|---|---|",
            *(f"| {name} | {n} | {a:.4f} | {s:.4f} |" for name, n, a, s in rows),
            "",
            "Clips are scored by the mean softmax over windows of 120 frames (half overlap). Dataset-1 has one",
            "take per action and style, so its validation clips are the last 20% of each take",
            "(`core/data/corpus.py`): often only the return from a bow, a wave or a dash to rest, about a",
            "second long, which is where most of the recognizer's errors are.",
            "Reproduce the reference rows with `python -m core evaluate reference`.",
            "",
        ]
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluation suite: recognizer metrics, reference rows, in-betweening")
    ev = p.add_subparsers(dest="evaluate_command", required=True, metavar="EVALUATE_COMMAND")

    def common(q: argparse.ArgumentParser, recognizer: bool = True) -> None:
        q.add_argument("--data", default="bandai-namco", help="real corpus (default: both shared archives)")
        q.add_argument("--seed", type=int, default=0)
        if recognizer:
            q.add_argument("--recognizer", help="recognizer weights (default: weights/recognizer.safetensors)")
        q.add_argument("--report", metavar="DIR", help="write a Markdown report with plots into DIR")

    q = ev.add_parser("reference", help="reference rows: real train vs validation, static pose, shuffled frames")
    common(q)
    q.set_defaults(func=_reference)

    q = ev.add_parser("clips", help="score a folder of BVH clips (labels from .json sidecars or file names)")
    q.add_argument("folder")
    common(q)
    q.set_defaults(func=_clips)

    q = ev.add_parser("inbetween", help="in-betweening benchmark (L2P, L2Q, NPSS) with baselines")
    q.add_argument(
        "--candidate",
        help="command template with {input} {output} {from} {to}, e.g. "
        "'python -m core inbetween {input} --from {from} --to {to} --out {output}'",
    )
    q.add_argument("--name", default="candidate", help="name of the candidate in the table")
    q.add_argument("--model", help="also score a GenAnim generator in this process (shipped name or .safetensors)")
    q.add_argument("--device", default="auto", help="device of --model: cpu, cuda or auto")
    q.add_argument("--steps", type=int, default=None, help="sampler steps of --model (default: the model's)")
    q.add_argument("--temperature", type=float, default=None,
                   help="start noise std of --model (default: the model's in-betweening setting)")
    q.add_argument("--samples", type=int, default=None,
                   help="fills --model draws per gap, one kept (default: the model's in-betweening setting)")
    q.add_argument("--split", default="val", choices=("val", "train"),
                   help="clips the windows are cut from (train: to choose settings away from the validation split)")
    q.add_argument("--gaps", type=int, nargs="+", default=[5, 15, 30])
    q.add_argument("--stride", type=int, default=40, help="frames between window starts")
    q.add_argument(
        "--max-windows",
        type=int,
        default=None,
        help="at most this many windows per gap (default: all; 100 with --candidate)",
    )
    common(q, recognizer=False)
    q.set_defaults(func=_inbetween)

    q = ev.add_parser("compare", help="score several generators side by side (one clip per validation segment "
                      "each) with parameters, training and sampling time; fills the VAE/GAN cards' evaluation")
    q.add_argument("--models", nargs="+", default=["diffusion", "cvae", "cgan", "vae", "gan"],
                   help="shipped weights names or .safetensors paths")
    q.add_argument("--threads", type=int, default=1, help="torch CPU threads (timings are taken with these)")
    common(q)
    q.set_defaults(func=_compare)

    q = ev.add_parser("train-recognizer", help="train the recognizer and write its weights and model card")
    q.add_argument("--steps", type=int, default=2000)
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--out", default="weights/recognizer.safetensors")
    q.add_argument("--data", default="bandai-namco")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_train_recognizer)
