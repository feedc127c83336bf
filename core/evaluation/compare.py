"""Side-by-side comparison of generators (`python -m core evaluate compare`): every model generates one
clip per validation segment (its labels where the model is conditional, its length always, seed =
index), the suite scores each set against the real validation clips, and the table adds parameters,
training time and the time to sample one 8-second clip on this machine."""

from __future__ import annotations

import re
from pathlib import Path

from ..data.corpus import Corpus
from .recognizer import Recognizer
from .report import plot_projection, table
from .suite import ClipSet, Scored, reference, score
from .timing import median_seconds

COLUMNS = ("set", "family", "parameters", "train_min", "sample_ms", "action_acc", "style_acc", "fid", "diversity",
           "multimodality", "foot_skating", "jitter", "bone_error", "pops", "root_speed")
SAMPLE_SECONDS = 8.0


def generate_like(gen, corpus: Corpus, split: str = "val", progress=None) -> ClipSet:
    """One clip per segment of `split` from generator `gen` (see `core.generation.split_jobs`)."""
    from ..generation import split_jobs

    jobs = split_jobs(corpus, split, gen.conditional)
    clips = []
    for k, (a, s, seconds, seed) in enumerate(jobs):
        if progress is not None:
            progress(k / len(jobs))
        clips.append(gen.generate(a, s, seconds, 1, seed)[0])
    return ClipSet(gen.name, clips, [j[0] for j in jobs], [j[1] for j in jobs])


def sample_time(gen, repeats: int = 5) -> float:
    """Median seconds of `generate` (sampling, decoding, foot cleanup) for one 8-second clip."""
    a, s = ("walk", "normal") if gen.conditional else (None, None)
    gen.generate(a, s, SAMPLE_SECONDS, 1, 0)  # warm-up
    return median_seconds(lambda: gen.generate(a, s, SAMPLE_SECONDS, 1, 0), repeats)


def compare(gens: list, corpus: Corpus, recognizer: Recognizer, seed: int = 0,
            progress=None) -> tuple[list[Scored], list[Scored]]:
    """(reference rows, one row per generator), each row with the comparison's extra columns."""
    refs, _ = reference(corpus, recognizer, seed=seed)
    real_emb = refs[0].embedding
    for r in refs:
        r.row["family"] = "real data"
    rows = []
    for gen in gens:
        clip_set = generate_like(gen, corpus, "val", None if progress is None else progress(gen.name))
        scored = score(clip_set, recognizer, real_emb, seed=seed)
        scored.row.update({
            "family": gen.kind,
            "parameters": gen.parameters,
            "train_min": round(float(gen.meta.get("train_seconds", float("nan"))) / 60, 1),
            "sample_ms": round(1000 * sample_time(gen), 1),
        })
        rows.append(scored)
    return refs[:2], rows


def bars(refs: list[Scored], rows: list[Scored]) -> list[str]:
    """The issue's bars, checked on the measured rows: one line each."""
    real = refs[0].row
    lines = []
    for s in rows:
        r = s.row
        div = r["diversity"] / real["diversity"] - 1
        lines.append(f"- {r['set']}: diversity {r['diversity']:.4g} is {div:+.0%} of real {real['diversity']:.4g} "
                     f"(bar: within 25%): {'met' if abs(div) <= 0.25 else 'NOT met'}")
        if r["family"] in ("cvae", "cgan"):
            frac = r["action_acc"] / real["action_acc"]
            lines.append(f"- {r['set']}: action accuracy {r['action_acc']:.3f} is {frac:.0%} of real "
                         f"{real['action_acc']:.3f} (bar: at least 75%): {'met' if frac >= 0.75 else 'NOT met'}")
        if r["family"] in ("vae", "gan", "cvae", "cgan"):
            ok = r["sample_ms"] < 50
            lines.append(f"- {r['set']}: one 8-second clip in {r['sample_ms']:.1f} ms end to end (goal: under 50 ms): "
                         f"{'met' if ok else 'NOT met'}")
    return lines


def write_compare_report(out: str | Path, refs: list[Scored], rows: list[Scored], command: str) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_projection(refs[:1] + rows, out / "features_pca.png")
    md = [
        "# GenAnim evaluation: the five motion models side by side",
        "",
        f"Reproduce with `{command}`.",
        "",
        "Each model generates one clip per validation segment (with the segment's action and style where the "
        "model is conditional, its length always, seed = index); unconditional models' FID is against the "
        "whole validation set like every other row. `sample_ms`: median time of `Generator.generate` for one "
        "8-second clip on this machine's CPU (sampling, decoding and foot cleanup), `train_min`: optimisation "
        "time from the weights' metadata. Accuracies are empty where the model takes no labels.",
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
        f"Measured with the evaluation suite on the validation split by `{command}`{where}:",
        "",
        table([r.row for r in refs + [scored]], COLUMNS),
        "",
        *bars(refs, [scored]),
        "",
        "",
    ])
    new, n = re.subn(r"## Evaluation\n.*?(?=## Licence)", lambda _: section, text, flags=re.S)
    if n:
        card.write_text(new, encoding="utf-8")
