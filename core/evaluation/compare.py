"""Side-by-side comparison of generators (`python -m core evaluate compare`): every model generates one
clip per reference clip (its labels where the model is conditional, its length always, seed = index),
the suite scores each set against the reference with its same-size floor, and the table adds
parameters, training time and the time to sample one 8-second clip on this machine."""

from __future__ import annotations

import re
from pathlib import Path

from .report import LEGEND, SUITE_COLUMNS, plot_projection, table
from .suite import ClipSet, Evaluator, Scored
from .timing import median_seconds

COLUMNS = ("set", "family", "parameters", "train_min", "sample_ms", *SUITE_COLUMNS[2:])
SAMPLE_SECONDS = 8.0
DIVERSITY_BARS = {"diffusion": 0.10, "cvae": 0.15, "cgan": 0.15}  # within this share of real; 25% for the others


def generate_like(gen, reference: ClipSet, seed: int = 0, progress=None, **settings) -> ClipSet:
    """One clip per reference clip from generator `gen`: its labels (if `gen` is conditional), its
    length, seed + index (`settings`: more arguments of `gen.generate`). Length-matched, so that FID
    never measures durations."""
    clips, actions, styles = [], [], []
    for k, clip in enumerate(reference.clips):
        if progress is not None:
            progress(k / len(reference))
        a, s = (reference.actions[k], reference.styles[k]) if gen.conditional else (None, None)
        clips.append(gen.generate(a, s, clip.num_frames / clip.fps, 1, seed + k, **settings)[0])
        actions.append(a)
        styles.append(s)
    return ClipSet(gen.name, clips, actions, styles)


def sample_time(gen, repeats: int = 5) -> float:
    """Median seconds of `generate` (sampling, decoding, foot cleanup) for one 8-second clip."""
    a, s = ("walk", "normal") if gen.conditional else (None, None)
    gen.generate(a, s, SAMPLE_SECONDS, 1, 0)  # warm-up
    return median_seconds(lambda: gen.generate(a, s, SAMPLE_SECONDS, 1, 0), repeats)


def compare(gens: list, judge: Evaluator, progress=None) -> tuple[list[Scored], list[Scored]]:
    """(reference rows, one row per generator), each row with the comparison's extra columns."""
    refs = judge.reference_rows()
    for r in refs:
        r.row["family"] = "real data"
    rows = []
    for gen in gens:
        clip_set = generate_like(gen, judge.reference, judge.seed, None if progress is None else progress(gen.name))
        scored = judge.score(clip_set)
        scored.row.update({
            "family": gen.kind,
            "parameters": gen.parameters,
            "train_min": round(float(gen.meta.get("train_seconds", float("nan"))) / 60, 1),
            "sample_ms": round(1000 * sample_time(gen), 1),
        })
        rows.append(scored)
    return refs, rows


def _check(lines: list[str], name: str, what: str, ok: bool) -> None:
    lines.append(f"- {name}: {what}: {'met' if ok else 'NOT met'}")


def bars(refs: list[Scored], rows: list[Scored]) -> list[str]:
    """The bars of the motion-quality issue, checked on the measured rows: one line each. `refs[0]` is the
    reference (real accuracy, diversity, kinematics), `refs[1]` the label-matched real training draw (real
    precision and recall)."""
    ref, draw = refs[0].row, refs[1].row
    lines: list[str] = []
    for s in rows:
        r, name = s.row, s.row["set"]
        div = r["diversity"] / ref["diversity"] - 1
        bar = DIVERSITY_BARS.get(r["family"], 0.25)
        _check(lines, name, f"diversity {r['diversity']:.4g} is {div:+.0%} of real {ref['diversity']:.4g} "
               f"(bar: within {bar:.0%})", abs(div) <= bar)
        if r["family"] == "diffusion":
            _check(lines, name, f"FID {r['fid']:.4g} is {r['fid_ratio']:.1f}x its same-size floor "
                   f"{r['fid_floor']:.4g} (bar: at most 5x)", r["fid_ratio"] <= 5)
            for key in ("action_acc", "style_acc"):
                frac = r[key] / ref[key]
                _check(lines, name, f"{key.replace('_acc', '')} accuracy {r[key]:.3f} is {frac:.0%} of real "
                       f"{ref[key]:.3f} (bar: at least 95%)", frac >= 0.95)
            for key in ("precision", "recall"):
                frac = r[key] / draw[key]
                _check(lines, name, f"{key} {r[key]:.3f} is {frac:.0%} of real {draw[key]:.3f} "
                       "(bar: at least 80%)", frac >= 0.8)
            _check(lines, name, f"foot skating {r['foot_skating']:.4f} against real {ref['foot_skating']:.4f} "
                   "(bar: at most real)", r["foot_skating"] <= ref["foot_skating"])
            _check(lines, name, f"jitter {r['jitter']:.4g} is {r['jitter'] / ref['jitter']:.2f}x real "
                   "(bar: at most 1.2x)", r["jitter"] <= 1.2 * ref["jitter"])
            _check(lines, name, f"pops {r['pops']:.3f} (bar: none)", r["pops"] == 0)
            for key in ("start_pose", "end_pose"):
                _check(lines, name, f"{key.replace('_', ' ')} {r[key]:.1f} cm from real against real clips' "
                       f"{draw[key]:.1f} (bar: at most 1.1x)", r[key] <= 1.1 * draw[key])
        elif r["family"] in ("cvae", "cgan"):
            frac = r["action_acc"] / ref["action_acc"]
            _check(lines, name, f"action accuracy {r['action_acc']:.3f} is {frac:.0%} of real "
                   f"{ref['action_acc']:.3f} (bar: at least 85%)", frac >= 0.85)
        if r["family"] in ("vae", "gan", "cvae", "cgan"):
            _check(lines, name, f"one 8-second clip in {r['sample_ms']:.1f} ms end to end (goal: under 50 ms)",
                   r["sample_ms"] < 50)
    return lines


def write_compare_report(out: str | Path, refs: list[Scored], rows: list[Scored], command: str) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_projection(refs[:1] + rows, out / "features_pca.png")
    md = [
        "# GenAnim evaluation: the motion models side by side",
        "",
        f"Reproduce with `{command}`.",
        "",
        "Each model generates one clip per reference clip (with its action and style where the model is "
        "conditional, its length always, seed = index). `sample_ms`: median time of `Generator.generate` for "
        "one 8-second clip on this machine's CPU (sampling, decoding and foot cleanup), `train_min`: "
        "optimisation time from the weights' metadata. Accuracies are empty where the model takes no labels.",
        "",
        LEGEND,
        "",
        table([r.row for r in refs + rows], COLUMNS),
        "",
        "## Against the bars",
        "",
        *bars(refs, rows),
        "",
        "![features](features_pca.png)",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path


def fill_card(card: Path, refs: list[Scored], scored: Scored, command: str, report: Path | None) -> None:
    """Replace the '## Evaluation' section of a model card with this model's measured rows."""
    text = card.read_text(encoding="utf-8")
    where = f" (full report: `{report.as_posix()}`)" if report else ""
    section = "\n".join([
        "## Evaluation",
        "",
        f"Measured with the evaluation suite (v2) against the validation takes by `{command}`{where}:",
        "",
        table([r.row for r in refs[:2] + [scored]], COLUMNS),
        "",
        *bars(refs, [scored]),
        "",
        "",
    ])
    new, n = re.subn(r"## Evaluation\n.*?(?=## Licence)", lambda _: section, text, flags=re.S)
    if n:
        card.write_text(new, encoding="utf-8")
