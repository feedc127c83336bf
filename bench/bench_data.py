"""Corpus and FK timings on the shared Bandai Namco data, side by side in one table.

    python bench/bench_data.py [--repeats 5] [--cold-repeats 1] [--batch 64] [--length 120]

cold:  extraction + parse of both shared archives (~2,800 clips) into an empty temporary cache
warm:  load of the packed cache written by the cold run
FK:    `core.motion.kinematics.forward_kinematics` on batches of training windows (numpy, torch)
Medians where repeated.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.timing import median_seconds  # noqa: E402
from core.motion.kinematics import forward_kinematics  # noqa: E402
from core.motion.rotations import quat_to_matrix  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cold-repeats", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64, help="windows per FK batch")
    ap.add_argument("--length", type=int, default=120, help="frames per window")
    args = ap.parse_args(argv)
    rows = []

    cold_times = []
    with tempfile.TemporaryDirectory(prefix="genanim-bench-") as tmp:
        for k in range(args.cold_repeats):
            cache = Path(tmp) / f"cold{k}"
            t = time.perf_counter()
            corpus = load_corpus("bandai-namco", cache=cache)
            cold_times.append(time.perf_counter() - t)
        cold = statistics.median(cold_times)
        note = f"{len(corpus)} clips, {corpus.num_frames} frames, {corpus.num_frames / cold:,.0f} frames/s"
        note += f", {os.cpu_count()} CPUs, n={args.cold_repeats}"
        rows.append(("cold load (extract + parse)", f"{cold:.2f} s", note))
        warm = median_seconds(lambda: load_corpus("bandai-namco", cache=cache), args.repeats)
        corpus = load_corpus("bandai-namco", cache=cache)
        note = f"index + memory-mapped arrays, n={args.repeats}"
        rows.append(("warm load (packed cache)", f"{warm * 1e3:.1f} ms", note))
        touch = median_seconds(lambda: [corpus.clip(i) for i in range(len(corpus))], args.repeats)
        rows.append(("all clips as Clip (warm)", f"{touch:.2f} s", f"float64 copies of every clip, n={args.repeats}"))

        win = corpus.windows("train", args.length, args.length)
        n = min(args.batch, len(win))
        rot = quat_to_matrix(win.rotations[:n].astype(np.float32))  # (B, L, J, 3, 3)
        trans = win.translations[:n]
        frames = n * args.length
        parents = corpus.skeleton.parents.tolist()
        t_np = median_seconds(lambda: forward_kinematics(parents, rot, trans), args.repeats)
        rows.append(("FK numpy float32", f"{frames / t_np:,.0f} frames/s", f"batch {n}x{args.length} frames, "
                     f"{t_np * 1e3:.1f} ms, n={args.repeats}"))
        try:
            import torch

            rot_t, trans_t = torch.from_numpy(rot), torch.from_numpy(trans)
            forward_kinematics(parents, rot_t, trans_t)  # warm-up
            t_t = median_seconds(lambda: forward_kinematics(parents, rot_t, trans_t), args.repeats)
            rows.append(("FK torch float32 (CPU)", f"{frames / t_t:,.0f} frames/s", f"batch {n}x{args.length} frames, "
                         f"{t_t * 1e3:.1f} ms, {torch.get_num_threads()} threads, n={args.repeats}"))
        except ImportError:
            rows.append(("FK torch", "n/a", "torch not installed"))

    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"| {'measure':<{w0}} | {'result':>{w1}} | notes")
    print(f"|{'-' * (w0 + 2)}|{'-' * (w1 + 2)}|------")
    for name, value, note in rows:
        print(f"| {name:<{w0}} | {value:>{w1}} | {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
