"""How torch's OpenMP threads wait between operations, and what it costs a training step: `python -m core
train` alone on the machine, and two of them side by side (as a training run beside CI or a second run).

    python bench/bench_thread_wait.py [--config configs/diffusion.json] [--steps 30] [--threads 2]

Rows: the waits `python -m core` and the tests set by default (`core/openmp.py`: spin `GOMP_SPINCOUNT`
`SPIN_COUNT` times, then sleep), sleeping at once (`OMP_WAIT_POLICY=PASSIVE`, its default before), and
libgomp's own default (spin 300,000 times; what a script importing torch gets). Each cell: seconds per step
over the run's own training time (the summary's `wall_seconds`, data loading left out); side by side, the
mean of the two runs, which take half the steps (the slow rows would take minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.evaluation.report import table  # noqa: E402
from core.openmp import SPIN_COUNT  # noqa: E402

WAITS = {
    f"spin {SPIN_COUNT:,}, then sleep (default)": {},
    "sleep at once (OMP_WAIT_POLICY=PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin 300,000 (libgomp's default)": {"GOMP_SPINCOUNT": "300000"},
}


def _runs(config: str, steps: int, threads: int, env: dict, together: int) -> float:
    """Seconds per training step, the mean over `together` runs started at once."""
    env = {**{k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}, **env}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = {**json.loads(Path(config).read_text()), "steps": steps, "threads": threads, "val_every": 10**9,
               "checkpoint_every": 10**9, "checkpoint_seconds": 10**9}
        (Path(tmp) / "config.json").write_text(json.dumps(cfg))
        procs = [subprocess.Popen([sys.executable, "-m", "core", "train", "--config", f"{tmp}/config.json",
                                   "--out", f"{tmp}/run{i}"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True) for i in range(together)]
        outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit(f"a training run failed: {[p.returncode for p in procs]}")
    return sum(json.loads(o[o.index("{"):])["wall_seconds"] for o in outs) / together / steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/diffusion.json")
    ap.add_argument("--steps", type=int, default=30, help="steps of a run alone; side by side, half")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of each run")
    args = ap.parse_args(argv)
    rows = []
    for name, env in WAITS.items():
        alone = _runs(args.config, args.steps, args.threads, env, 1)
        two = _runs(args.config, max(1, args.steps // 2), args.threads, env, 2)
        rows.append({"threads wait": name, "s/step alone": round(alone, 3), "s/step, two side by side": round(two, 3)})
        print(f"{name}: {alone:.3f} / {two:.3f}", file=sys.stderr)
    base = rows[0]
    for r in rows:
        r["alone vs default"] = f"{r['s/step alone'] / base['s/step alone']:.2f}x"
        r["two vs default"] = f"{r['s/step, two side by side'] / base['s/step, two side by side']:.2f}x"
    print(f"{args.config}, {args.threads} threads a run, {os.cpu_count()} CPUs")
    print(table(rows, ("threads wait", "s/step alone", "alone vs default", "s/step, two side by side",
                       "two vs default")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
