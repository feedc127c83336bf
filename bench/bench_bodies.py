"""Character generation timings against the issue's goals, side by side in one table.

    python bench/bench_bodies.py [--repeats 20]

load:       CharacterGenerator.load() in a fresh process (imports + three weight files), goal < 1 s
one:        one character after loading (sample measurements, predict shape, build mesh, measure), goal < 100 ms
stages:     the parts of `one`
Medians of --repeats runs; ratio = median / goal (< 1 meets it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.bodies.character import CharacterGenerator  # noqa: E402
from core.bodies.conditions import Condition, encode  # noqa: E402
from core.evaluation.timing import median_seconds  # noqa: E402

_LOAD = ("import time; t = time.perf_counter(); from core.bodies.character import CharacterGenerator; "
         "CharacterGenerator.load(); print(time.perf_counter() - t)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    loads = [float(subprocess.run([sys.executable, "-c", _LOAD], cwd=REPO, capture_output=True, text=True,
                                  check=True).stdout) for _ in range(max(3, args.repeats // 4))]
    gen = CharacterGenerator.load()
    cond = Condition.make(sex="female", age=40, stature=165, build="heavy")
    rng = np.random.default_rng(0)
    one = median_seconds(lambda: gen.generate(cond, 1, seed=int(rng.integers(1 << 30))), args.repeats)
    sex, vals = gen.measurements(cond, 1, rng)
    c, m = encode(cond, 1)
    sample = median_seconds(lambda: gen.sampler.sample(sex, c, m, rng), args.repeats)
    theta = gen.predictor(sex, vals)
    predict = median_seconds(lambda: gen.predictor(sex, vals), args.repeats)
    shape = median_seconds(lambda: gen.body.mesh(theta[0]), args.repeats)
    mesh = gen.body.mesh(theta[0])
    measure = median_seconds(lambda: gen.body.measure(mesh.vertices, mesh.joints), args.repeats)
    rows = [("load (fresh process)", statistics.median(loads), 1.0),
            ("one character", one, 0.1),
            ("  sample measurements", sample, None), ("  predict shape", predict, None),
            ("  build mesh", shape, None), ("  measure mesh", measure, None)]
    print(f"{'what':<26}{'median':>12}{'goal':>10}{'ratio':>8}   ({os.cpu_count()} CPUs, n={args.repeats})")
    for name, t, goal in rows:
        g, r = (f"{1000 * goal:.0f} ms", f"{t / goal:.2f}") if goal else ("", "")
        print(f"{name:<26}{1000 * t:>9.1f} ms{g:>10}{r:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
