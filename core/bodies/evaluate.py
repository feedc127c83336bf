"""Evidence for the measurement model against held-out subjects, side by side with the Gaussian baseline.

All numbers are computed here from the data and the weights; `python -m core bodies-eval` prints them.
  distribution  per sex, 1,000 samples given only the sex vs the held-out subjects of that sex:
                max per-measurement KS statistic, max |correlation difference|, MMD (RBF, standardised)
  conditioning  for held-out subjects, sample given (sex, age, stature, BMI): stature error (cm) and
                BMI error (%) of the sampled measurements (both models condition exactly: ~0)
  diversity     at a fixed condition, sample spread of the free measurements / held-out residual spread
  memorisation  median nearest-training-row distance of samples / of held-out rows (>= 1: not copying)
"""

from __future__ import annotations

import numpy as np

from .conditions import SEXES, Condition, cond_features, encode
from .measurements import COLUMNS, Table, from_features, to_features

N_SAMPLES = 1000
EVAL_COLUMNS = (*COLUMNS, "bmi")


def _with_bmi(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values, values[:, 2:3] / (values[:, 1:2] / 100) ** 2], axis=1)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of 1-D samples."""
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def mmd_rbf(x: np.ndarray, y: np.ndarray, scale: np.ndarray) -> float:
    """Unbiased squared MMD with an RBF kernel (median-heuristic bandwidth) on x/scale, y/scale."""
    x, y = x / scale, y / scale
    z = np.concatenate([x, y])
    d2 = ((z[:, None] - z[None]) ** 2).sum(-1)
    k = np.exp(-d2 / np.median(d2[d2 > 0]))
    n, m = len(x), len(y)
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    return float((kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2 * kxy.mean())


def _sample(model, sex: int, cond: Condition, n: int, rng: np.random.Generator) -> np.ndarray:
    c, m = encode(cond, n)
    return model.sample(np.full(n, sex), c, m, rng) if hasattr(model, "p_female") else model.sample(sex, c, m, rng)


def distribution(model, held: Table, rng: np.random.Generator) -> dict:
    out = {}
    for sex, name in ((0, "male"), (1, "female")):
        real = _with_bmi(held.values[held.sex == sex])
        fake = _with_bmi(from_features(_sample(model, sex, Condition(sex=name), N_SAMPLES, rng)))
        ks = [ks_statistic(fake[:, i], real[:, i]) for i in range(real.shape[1])]
        corr = np.abs(np.corrcoef(fake.T) - np.corrcoef(real.T)).max()
        sub = real[rng.choice(len(real), min(len(real), N_SAMPLES), replace=False)]
        out[name] = {"ks_max": max(ks), "ks": dict(zip(EVAL_COLUMNS, ks, strict=True)), "corr_diff_max": float(corr),
                     "mmd": mmd_rbf(to_features(fake[:, :6]), to_features(sub[:, :6]), to_features(real[:, :6]).std(0))}
    return out


def conditioning(model, held: Table, rng: np.random.Generator, n: int = 500) -> dict:
    idx = rng.choice(len(held.values), n, replace=False)
    st_err, bmi_err = [], []
    for i in idx:
        v = held.values[i]
        bmi = v[2] / (v[1] / 100) ** 2
        cond = Condition(sex=("male", "female")[held.sex[i]], age=v[0], stature=v[1], bmi=bmi)
        s = _with_bmi(from_features(_sample(model, int(held.sex[i]), cond, 1, rng)))[0]
        st_err.append(abs(s[1] - v[1]))
        bmi_err.append(abs(s[6] - bmi) / bmi * 100)
    return {"stature_err_cm_median": float(np.median(st_err)), "stature_err_cm_p95": float(np.percentile(st_err, 95)),
            "bmi_err_pct_median": float(np.median(bmi_err)), "bmi_err_pct_p95": float(np.percentile(bmi_err, 95))}


def diversity(model, held: Table, rng: np.random.Generator) -> dict:
    """Female, 40, 165 cm, BMI 31: sampled spread of waist, hip, arm vs held-out residual spread."""
    cond = Condition.make(sex="female", age=40, stature=165, build="heavy")
    fem = held.values[held.sex == 1]
    f = to_features(fem)
    x = np.column_stack([np.ones(len(f)), cond_features(f)[:, [0, 1, 3]]])  # regress on the given conditions
    resid = f[:, 3:] - x @ np.linalg.lstsq(x, f[:, 3:], rcond=None)[0]
    spread = _sample(model, 1, cond, N_SAMPLES, rng)[:, 3:].std(0)
    ratio = spread / resid.std(0)
    return {"spread_ratio_min": float(ratio.min()), "spread_ratio": dict(zip(COLUMNS[3:], ratio.tolist(), strict=True))}


def memorisation(model, train: Table, held: Table, rng: np.random.Generator) -> dict:
    tf = to_features(train.values)
    scale = tf.std(0)
    ref = tf[rng.choice(len(tf), min(len(tf), 4000), replace=False)] / scale

    def nn(q: np.ndarray) -> float:
        return float(np.median(np.sqrt(((q[:, None] / scale - ref[None]) ** 2).sum(-1)).min(1)))

    hf = to_features(held.values)
    hsub = hf[rng.choice(len(hf), N_SAMPLES, replace=False)]
    sexes = held.sex[rng.choice(len(held.sex), N_SAMPLES)]
    fake = np.concatenate([_sample(model, s, Condition(sex=("male", "female")[s]), int((sexes == s).sum()), rng)
                           for s in (0, 1)])
    d_fake, d_held = nn(fake), nn(hsub)
    return {"nn_dist_samples": d_fake, "nn_dist_held_out": d_held, "ratio": d_fake / d_held}


def evaluate(model, train: Table, held: Table, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"distribution": distribution(model, held, rng), "conditioning": conditioning(model, held, rng),
            "diversity": diversity(model, held, rng), "memorisation": memorisation(model, train, held, rng)}


def report(model, table: Table, seed: int = 0) -> str:
    """Both models' evidence as a plain-text table."""
    from .gaussian import ConditionalGaussian

    train, held = table.subset(~table.held_out), table.subset(table.held_out)
    base = ConditionalGaussian.fit(to_features(train.values), train.sex)
    res = {"CVAE": evaluate(model, train, held, seed), "Gaussian": evaluate(base, train, held, seed)}
    rows = [("KS max, male (<= 0.1)", lambda r: r["distribution"]["male"]["ks_max"]),
            ("KS max, female (<= 0.1)", lambda r: r["distribution"]["female"]["ks_max"]),
            ("corr diff max, male (<= 0.15)", lambda r: r["distribution"]["male"]["corr_diff_max"]),
            ("corr diff max, female (<= 0.15)", lambda r: r["distribution"]["female"]["corr_diff_max"]),
            ("MMD^2, male (lower better)", lambda r: r["distribution"]["male"]["mmd"]),
            ("MMD^2, female (lower better)", lambda r: r["distribution"]["female"]["mmd"]),
            ("stature err cm, median", lambda r: r["conditioning"]["stature_err_cm_median"]),
            ("stature err cm, p95", lambda r: r["conditioning"]["stature_err_cm_p95"]),
            ("BMI err %, median", lambda r: r["conditioning"]["bmi_err_pct_median"]),
            ("BMI err %, p95", lambda r: r["conditioning"]["bmi_err_pct_p95"]),
            ("diversity: spread / residual, min (>= 0.5)", lambda r: r["diversity"]["spread_ratio_min"]),
            ("memorisation: NN dist ratio (>= 1)", lambda r: r["memorisation"]["ratio"])]
    lines = [f"{'metric':<46}{'CVAE':>10}{'Gaussian':>10}"]
    lines += [f"{name:<46}{get(res['CVAE']):10.4f}{get(res['Gaussian']):10.4f}" for name, get in rows]
    for sex in ("male", "female"):
        ks = res["CVAE"]["distribution"][sex]["ks"]
        lines.append(f"CVAE KS per measurement, {sex}: " + ", ".join(f"{k} {v:.3f}" for k, v in ks.items()))
    cv, ga = res["CVAE"], res["Gaussian"]
    bars = {"KS <= 0.1": all(cv["distribution"][s]["ks_max"] <= 0.1 for s in SEXES),
            "corr diff <= 0.15": all(cv["distribution"][s]["corr_diff_max"] <= 0.15 for s in SEXES),
            "MMD below the Gaussian's": all(cv["distribution"][s]["mmd"] < ga["distribution"][s]["mmd"] for s in SEXES),
            "diversity >= 0.5": cv["diversity"]["spread_ratio_min"] >= 0.5,
            "memorisation >= 1": cv["memorisation"]["ratio"] >= 1.0}
    lines.append("issue bars, CVAE, both sexes: " + ", ".join(f"{k} {'pass' if ok else 'FAIL'}"
                                                            for k, ok in bars.items()))
    # The same on other draws: how much of the above is the luck of one seed.
    seeds = range(seed + 1, seed + 5)
    more = [(evaluate(model, train, held, s), evaluate(base, train, held, s)) for s in seeds]
    wins = sum(c["distribution"][x]["mmd"] < g["distribution"][x]["mmd"] for c, g in more for x in SEXES)
    ks = max(c["distribution"][x]["ks_max"] for c, _ in more for x in SEXES)
    mem = [c["memorisation"]["ratio"] for c, _ in more]
    lines.append(f"seeds {seeds[0]}-{seeds[-1]}: CVAE MMD below the Gaussian's in {wins}/{2 * len(more)} (sex, seed) "
                 f"pairs; KS max {ks:.3f}; memorisation ratio {min(mem):.3f} to {max(mem):.3f}")
    lines.append(f"held-out subjects: {len(held.values)} ({int((held.sex == 0).sum())} male, "
                 f"{int((held.sex == 1).sum())} female); {N_SAMPLES} samples per sex; seed {seed}")
    return "\n".join(lines)


def main() -> None:
    from .character import SAMPLER
    from .cvae import MeasurementSampler
    from .measurements import load_table

    print(report(MeasurementSampler.load(SAMPLER), load_table()))


if __name__ == "__main__":
    main()
