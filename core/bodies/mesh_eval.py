"""Mesh evidence: characters built for held-out subjects' measurements, checked against them.

    python -m core.bodies.mesh_eval [--subjects 300] [--seed 0]

For each held-out subject, the character pipeline builds a body from its sex, age, stature,
weight, waist and hip (as the sampler would hand them over); the mesh is measured and checked.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .character import CharacterGenerator, check
from .conditions import Condition
from .measurements import load_table


def mesh_report(gen: CharacterGenerator, subjects: int, seed: int) -> str:
    table = load_table()
    held = table.subset(table.held_out)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(held.values), subjects, replace=False)
    rows, t0 = [], time.perf_counter()
    for i in idx:
        ch = gen.build(int(held.sex[i]), held.values[i])
        c = check(ch)
        rows.append((c["stature_err_cm"], c["mass_err_pct"], c["min_bone_cm"], c["weight_sum_err"], c["finite"],
                     100 * abs(ch.measured["waist"] - held.values[i, 3]) / held.values[i, 3],
                     100 * abs(ch.measured["hip"] - held.values[i, 4]) / held.values[i, 4]))
    per = (time.perf_counter() - t0) / subjects
    r = np.array(rows, dtype=np.float64)
    lines = [f"{subjects} held-out subjects (seed {seed}), {1000 * per:.1f} ms per character",
             f"{'check':<34}{'median':>9}{'p95':>9}{'max':>9}"]
    for name, col in (("stature error cm (<= 1)", 0), ("mass error % (<= 5)", 1), ("waist error %", 5),
                      ("hip error %", 6)):
        lines.append(f"{name:<34}{np.median(r[:, col]):9.3f}{np.percentile(r[:, col], 95):9.3f}{r[:, col].max():9.3f}")
    lines.append(f"mass within 5%: {100 * (r[:, 1] <= 5).mean():.1f}% of subjects; stature within 1 cm: "
                 f"{100 * (r[:, 0] <= 1).mean():.1f}%")
    lines.append(f"all finite: {bool(r[:, 4].all())}; max |skin weight sum - 1|: {r[:, 3].max():.2e}; "
                 f"shortest mapped bone: {r[:, 2].min():.2f} cm")
    cond = Condition.make(sex="female", age=40, stature=165, build="heavy")
    c = [check(ch) for ch in gen.generate(cond, 100, seed=seed)]
    lines.append(f"female, 40, 165 cm, heavy (100 samples): stature error max "
                 f"{max(x['stature_err_cm'] for x in c):.3f} cm, "
                 f"mass error median {np.median([x['mass_err_pct'] for x in c]):.2f}% max "
                 f"{max(x['mass_err_pct'] for x in c):.2f}%")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m core.bodies.mesh_eval")
    ap.add_argument("--subjects", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(mesh_report(CharacterGenerator.load(), args.subjects, args.seed))


if __name__ == "__main__":
    main()
