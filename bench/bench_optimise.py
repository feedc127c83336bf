"""Inference optimisations of the diffusion model (the slowest sampler, so the one that gains most),
side by side in one run: structured MLP pruning, dynamic int8 quantisation, both.

    python bench/bench_optimise.py [--clips 120] [--repeats 5] [--threads 1]

For each variant: parameters, size of its saved weights, median time of `Generator.generate` for one
8-second clip on this CPU (the variants timed in turn, round after round), and the evaluation suite:
one clip per reference clip for `--clips` validation takes spread evenly over them (the same labels,
lengths and seeds for every variant), scored against all validation takes with same-size floors.
bf16 inference on a GPU is measured only when PyTorch sees one.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.compare import generate_like, sample_time  # noqa: E402
from core.evaluation.recognizer import Recognizer  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.suite import DEFAULT_RECOGNIZER, evaluator  # noqa: E402
from core.generation import load_generator  # noqa: E402
from core.models.optimise import prune_mlp, quantize_int8  # noqa: E402


def saved_bytes(model: torch.nn.Module) -> int:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="diffusion")
    ap.add_argument("--clips", type=int, default=120, help="validation takes generated per variant")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", type=float, default=0.5, help="fraction of MLP units kept by pruning")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    gen = load_generator(args.model, "cpu")
    corpus = load_corpus("bandai-namco")
    judge = evaluator(corpus, Recognizer.load(DEFAULT_RECOGNIZER))
    pick = np.linspace(0, len(judge.reference) - 1, args.clips).round().astype(int)
    like = judge.reference.subset(pick)
    rows = [{**judge.score(judge.real_draw(like)).row, "variant": "real data (label-matched training takes)"}]

    base = gen.denoise.model
    pruned = prune_mlp(base, args.keep)
    shipped = f"fp32 (shipped file: {gen.path.stat().st_size / 1e6:.2f} MB, {'fp16' if gen.meta['fp16'] else 'fp32'})"
    variants = [(shipped, base, True), (f"MLP pruned to {args.keep:.0%}", pruned, True),
                ("int8 dynamic", quantize_int8(base), False), (f"pruned {args.keep:.0%} + int8", quantize_int8(pruned),
                                                              False)]

    def use(net: torch.nn.Module, fastpath: bool) -> None:
        torch.backends.mha.set_fastpath_enabled(fastpath)  # the fused path takes no quantised weights
        gen.denoise.model = net

    # Timings interleaved (one generation of each variant per round), so that load on the machine
    # falls on every variant alike.
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(args.repeats):
        for name, net, fastpath in variants:
            use(net, fastpath)
            times[name].append(sample_time(gen, 1))
    for name, net, fastpath in variants:
        use(net, fastpath)
        params = sum(p.numel() for p in (pruned if "pruned" in name else base).parameters())
        seconds = float(np.median(times[name]))
        row = judge.score(generate_like(gen, like)).row
        rows.append({**row, "variant": name, "parameters": params, "size_mb": round(saved_bytes(net) / 1e6, 2),
                     "sample_s": round(seconds, 3)})
    torch.backends.mha.set_fastpath_enabled(True)
    gen.denoise.model = base
    if torch.cuda.is_available():
        gpu = load_generator(args.model, "cuda")  # autocast bf16 is the default on CUDA
        rows.append({"variant": "GPU bf16 autocast", "sample_s": round(sample_time(gpu, args.repeats), 4)})
    else:
        rows.append({"variant": "GPU bf16 autocast: not measured (no CUDA device in this run)"})
    cols = ("variant", "parameters", "size_mb", "sample_s", "action_acc", "style_acc", "fid", "fid_floor", "fid_ratio",
            "precision", "recall", "diversity", "foot_skating", "jitter")
    print(f"Diffusion model {gen.name}, {args.clips} validation takes per variant, {args.threads} torch "
          f"thread(s); sample_s = median of {args.repeats} generations of one 8-second clip")
    print(table(rows, cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
