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


def _command(args: argparse.Namespace) -> str:
    return "python -m core " + " ".join(shlex.quote(a) for a in args.argv)


def _reproduce(args: argparse.Namespace) -> str:
    return f"Reproduce with `{_command(args)}`."


def _write_json(path: str | None, rows: list[dict]) -> None:
    """`--json FILE`: the rows in the evaluation v2 shape, strict JSON (no NaN: None instead)."""
    if not path:
        return
    import json
    import math

    import numpy as np

    from .report import json_rows

    def clean(v):
        if isinstance(v, np.floating | float):
            return float(v) if math.isfinite(v) else None
        return int(v) if isinstance(v, np.integer) else v

    data = json_rows(rows)
    data["rows"] = [{k: clean(v) for k, v in r.items()} for r in data["rows"]]
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    except OSError as e:
        raise GenAnimError(f"{out}: cannot write the JSON file ({e.strerror or e})") from None
    print(f"wrote {out}")


def _judge(args: argparse.Namespace):
    """The evaluator of a command: recognizer, reference (the validation takes or --reference DIR), floors."""
    from ..data.corpus import load_corpus
    from .suite import evaluator, load_folder

    rec = _recognizer(args.recognizer)
    reference = None
    if args.reference:
        reference = load_folder(args.reference)
        reference.name = f"{reference.name} (reference)"
    corpus = load_corpus(args.data, progress=True)
    return evaluator(corpus, rec, reference, seed=args.seed)


def _reference(args: argparse.Namespace) -> int:
    from .report import SUITE_COLUMNS, write_report

    judge = _judge(args)
    scored = judge.reference_rows()
    _print_rows([s.row for s in scored], SUITE_COLUMNS)
    _write_json(args.json, [s.row for s in scored])
    if args.report:
        rec = judge.recognizer
        path = write_report(args.report, "GenAnim evaluation: reference rows", scored, vocab=(rec.actions, rec.styles),
                            notes=_reproduce(args))
        print(f"wrote {path}")
    return 0


def _clips(args: argparse.Namespace) -> int:
    from .report import ACTION_COLUMNS, SUITE_COLUMNS, write_report
    from .suite import load_folder, per_action

    evaluated = load_folder(args.folder)  # a bad folder fails before any work
    judge = _judge(args)
    mine = judge.score(evaluated)
    rows = judge.reference_rows(like=evaluated) + [mine]
    _print_rows([s.row for s in rows], SUITE_COLUMNS)
    actions = per_action(judge, mine)
    if actions:
        print()
        _print_rows(actions, ACTION_COLUMNS)
    _write_json(args.json, [s.row for s in rows])
    if args.report:
        rec = judge.recognizer
        path = write_report(args.report, f"GenAnim evaluation: {evaluated.name}", rows, subject=mine,
                            vocab=(rec.actions, rec.styles), action_rows=actions, notes=_reproduce(args))
        print(f"wrote {path}")
    return 0


def _inbetween(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from .inbetween import BASELINES, benchmark, command_method, rig_transfer, rig_truth
    from .report import INBETWEEN_COLUMNS, write_report
    from .suite import real_set

    corpus = load_corpus(args.data, progress=True)
    methods, truths = dict(BASELINES), {}
    max_windows = args.max_windows
    if args.model:  # our generator in this process: the same code path as `python -m core inbetween`
        from ..generation import load_generator

        gen = load_generator(args.model, args.device)
        options = {"steps": args.steps, "temperature": args.temperature, "samples": args.samples, "span": args.span}
        methods[gen.name] = lambda clip, start, end: gen.inbetween(clip, start, end, **options)
        if args.rig_transfer:
            methods[f"{gen.name} on a Mixamo rig"] = rig_transfer(gen, **options)
            truths[f"{gen.name} on a Mixamo rig"] = rig_truth  # scored against the animator's keys on the rig
            methods["recorded, to the Mixamo rig and back"] = rig_transfer(None)  # what the retargets alone cost
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
        truths=truths,
    )
    _print_rows(rows, INBETWEEN_COLUMNS)
    if args.report:
        path = write_report(args.report, "GenAnim evaluation: in-betweening", inbetween_rows=rows)
        print(f"wrote {path}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import sys

    import torch

    from ..generation import load_generator
    from ..generation.cli import progress_bar
    from .compare import COLUMNS, compare, fill_card, write_compare_report

    torch.set_num_threads(args.threads)
    gens = [load_generator(m, "cpu") for m in args.models]  # unknown names fail before any work
    judge = _judge(args)

    def progress(name):
        return progress_bar(f"generate {name}")[1]

    refs, rows = compare(gens, judge, progress=progress)
    print(file=sys.stderr)
    _print_rows([r.row for r in refs + rows], COLUMNS)
    _write_json(args.json, [r.row for r in refs + rows])
    command = _command(args)
    report = None
    if args.report:
        report = write_compare_report(args.report, refs, rows, command)
        print(f"wrote {report}")
    if args.fill_cards:
        for gen, scored in zip(gens, rows, strict=True):
            card = gen.path.with_suffix(".md")
            if card.exists():
                fill_card(card, refs, scored, command, report)
                print(f"updated the evaluation section of {card}")
    return 0


def _train_recognizer(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from .suite import RECOGNIZER_THREADS, fit_recognizer

    threads = args.threads or RECOGNIZER_THREADS
    t0 = time.time()
    corpus = load_corpus(args.data, progress=True)
    rec, quality = fit_recognizer(corpus, steps=args.steps, seed=args.seed, threads=threads)
    wall = time.time() - t0
    out = Path(args.out)
    rec.save(out)
    command = _command(args)
    card = out.with_suffix(".md")
    card.write_text(_recognizer_card(rec, quality, command, wall, out, threads), encoding="utf-8")
    for name, q in quality["groups"].items():
        print(f"validation {name}: action accuracy {q['action_acc']:.4f}, style accuracy {q['style_acc']:.4f} "
              f"on {q['clips']} clips")
    print(f"wrote {out} and {card}")
    return 0


def _recognizer_card(rec, quality: dict, command: str, wall: float, out: Path, threads: int) -> str:
    import torch

    info, cfg = rec.info, rec.model.cfg
    facts = [
        ("file", f"`{out.name}` ({out.stat().st_size / 1024:.0f} KiB, fp16 weights, safetensors)"),
        ("input", "joint positions in a canonical frame (root at the horizontal origin, facing +Z, floor at 0), "
                  "root velocity and turn rate (`core/evaluation/canonical.py`): no rotations, no model's own "
                  "features; one spread per group of channels"),
        (
            "architecture",
            f"temporal convolution: stride-2 input conv, {cfg.blocks} dilated residual blocks, width {cfg.width}, "
            f"masked mean+max pooling over the whole clip, {cfg.embed}-D embedding, action and style heads",
        ),
        ("parameters", f"{info['parameters']:,}"),
        (
            "data",
            f"Bandai Namco Research Motiondataset 1 + 2: the recognizer's half of the train split "
            f"({quality['train_clips']} segments: every other take of each action and style, dataset-1's single "
            "takes whole; the other half sets the FID floors, `core/evaluation/suite.py` judge_halves) plus "
            "left/right mirrored copies with swapped labels; CC BY-NC 4.0",
        ),
        ("labels", f"{len(rec.actions)} actions, {len(rec.styles)} styles (union vocabulary)"),
        (
            "training",
            f"{info['steps']} steps, batch {info['batch']} (half whole clips up to {info['max_frames']} frames, "
            f"half random crops of 1 s or more), body size scaled 0.9-1.1, AdamW one-cycle lr {info['lr']}, "
            f"seed {info['seed']}",
        ),
        ("wall time", f"{wall:.0f} s in all ({info['train_seconds']:.0f} s of optimisation)"),
        (
            "hardware",
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"{threads} torch threads (the weights differ with their number)",
        ),
        ("command", f"`{command}`"),
    ]
    rows = [(name, q["clips"], q["action_acc"], q["style_acc"]) for name, q in quality["groups"].items()]
    return "\n".join(
        [
            "# Motion recognizer (evaluation network, v2)",
            "",
            "Classifies the action and style of a motion clip from its joint positions; its pooled embedding is",
            "the feature space of FID, precision/recall, diversity and multimodality in `python -m core evaluate`.",
            "This card was written by the training command itself.",
            "",
            "| | |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in facts),
            "",
            "## Quality on the validation split",
            "",
            "| clips | count | action accuracy | style accuracy |",
            "|---|---|---|---|",
            *(f"| {name} | {n} | {a:.4f} | {s:.4f} |" for name, n, a, s in rows),
            "",
            "Each clip is scored whole. `val takes` are the validation split's whole takes (dataset-2: the last",
            "tenth of each action and style's takes): the reference every generated set is judged against.",
            "`val excerpts` are dataset-1's validation pieces: that dataset has one take per action and style, so",
            "its validation clips are the last 20% of each take (`core/data/corpus.py`), often only the return",
            "from a bow, a wave or a dash to rest, as short as a few frames; they are what the recognizer gets",
            "wrong. Reproduce the reference rows with `python -m core evaluate reference`.",
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
            q.add_argument("--reference", metavar="DIR", help="real BVH clips to judge against (labels from .json "
                           "sidecars or dataset-style names; default: the corpus's validation takes)")
            q.add_argument("--json", metavar="FILE", help="also write the rows as JSON: {\"rows\": [...]}")
        q.add_argument("--report", metavar="DIR", help="write a Markdown report with plots into DIR")

    q = ev.add_parser("reference", help="reference rows: a label-matched draw of real training clips and garbage "
                      "(static pose, shuffled frames, rotation noise, wrong labels) against the reference")
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
    q.add_argument("--span", type=float, default=None,
                   help="frames --model samples around a gap, as a multiple of the kept frames and the gap it sees "
                   "(default: the model's in-betweening setting)")
    q.add_argument("--split", default="val", choices=("val", "train"),
                   help="clips the windows are cut from (train: to choose settings away from the validation split)")
    q.add_argument("--no-rig-transfer", dest="rig_transfer", action="store_false",
                   help="skip the rows of --model filling gaps on a Mixamo-proportioned rig (through two retargets) "
                   "and of the recorded motion taken to that rig and back (what the retargets alone cost)")
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

    q = ev.add_parser("compare", help="score several generators side by side (one clip per reference clip each, "
                      "its labels and length) with parameters, training and sampling time")
    q.add_argument("--models", nargs="+", default=["diffusion", "cvae", "cgan", "vae", "gan"],
                   help="shipped weights names or .safetensors paths")
    q.add_argument("--threads", type=int, default=1, help="torch CPU threads (timings are taken with these)")
    q.add_argument("--fill-cards", action="store_true", help="write each model's rows into its card's Evaluation")
    common(q)
    q.set_defaults(func=_compare)

    q = ev.add_parser("train-recognizer", help="train the recognizer and write its weights and model card")
    q.add_argument("--steps", type=int, default=3000)
    q.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default 2, as the shipped judge: the weights differ with them)")
    q.add_argument("--out", default="weights/recognizer.safetensors")
    q.add_argument("--data", default="bandai-namco")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_train_recognizer)
