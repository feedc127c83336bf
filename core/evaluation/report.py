"""Markdown reports with tables and PNG plots for the evaluation suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .suite import Scored

SUITE_COLUMNS = ("set", "n", "action_acc", "style_acc", "fid", "fid_floor", "fid_ratio", "precision", "recall",
                 "diversity", "multimodality", "inception_score", "inception_score_joint", "foot_skating", "jitter",
                 "bone_error", "pops", "root_speed", "start_pose", "end_pose")
# What `--json` writes of each row (the evaluation v2 shape), in this order.
JSON_KEYS = ("set", "n", "action_acc", "style_acc", "fid", "fid_floor", "precision", "recall", "diversity",
             "multimodality", "inception_score", "foot_skating", "jitter")
INBETWEEN_COLUMNS = ("method", "gap", "windows", "l2p", "l2q", "npss", "l2p_vs_interp")
ACTION_COLUMNS = ("action", "n", "action_acc", "mean_dist", "real_mean_dist", "dist_ratio")


LEGEND = (
    "Every row is scored against the first row, the reference (real clips never trained on), in the "
    "embedding of the recognizer (`weights/recognizer.md`), which reads joint positions only. "
    "`fid_floor`: the mean FID of five same-size draws of real training takes with the row's labels "
    "(the reference's label mix where the row has none), recorded nearest the reference's takes, from the "
    "half of the training takes the recognizer never saw; `fid_ratio` = fid / fid_floor, about 1 for real "
    "motion. Precision and recall: share of the row inside the reference's k-nearest-neighbour manifold "
    "and of the reference inside the row's (k = 3). Diversity and multimodality as in Action2Motion/ACTOR; "
    "`inception_score` over actions, `inception_score_joint` over action x style. Foot skating: share of "
    "ground-contact frames where a foot slides; jitter: mean jerk (cm/s^3); bone error: relative std of "
    "bone lengths; pops: share of clips where a joint turns by more than 90 degrees within a frame (at 30 "
    "fps); root speed: mean horizontal speed of the root (cm/s); start_pose / end_pose: mean joint distance (cm, "
    "root-relative, facing +Z) of each clip's first / last pose from the reference clips' first / last poses of "
    "its action (real takes start and end at rest). The garbage rows (static pose, shuffled "
    "frames, rotation noise, wrong labels) are made from the `real train` row's clips."
)


def json_rows(rows: list[dict]) -> dict:
    """The machine-readable form of suite rows: `{"rows": [{key: value, ...}, ...]}` (JSON_KEYS first)."""
    return {"rows": [{**{k: r.get(k) for k in JSON_KEYS}, **r} for r in rows]}


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_label_accuracy(scored: Scored, vocab: list[str], key: str, path: Path) -> None:
    names = scored.clip_set.actions if key == "action" else scored.clip_set.styles
    probs = scored.action_probs if key == "action" else scored.style_probs
    labels = sorted({n for n in names if n in vocab})
    acc = [
        float(np.mean([probs[i].argmax() == vocab.index(n) for i, n in enumerate(names) if n == lab])) for lab in labels
    ]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels)), 3.5))
    ax.bar(range(len(labels)), acc, color="#4c72b0")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"{key} accuracy")
    ax.set_title(f"{scored.clip_set.name}: {key} accuracy per label")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_projection(sets: list[Scored], path: Path) -> None:
    """2-D PCA of recognizer embeddings, fitted on the first set (the reference)."""
    base = sets[0].embedding
    mean = base.mean(0)
    _, _, vt = np.linalg.svd(base - mean, full_matrices=False)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for s in sets:
        xy = (s.embedding - mean) @ vt[:2].T
        ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.6, label=s.clip_set.name)
    ax.set_title("recognizer features (PCA of real)")
    ax.legend(fontsize=8, markerscale=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_feet(scored: Scored, path: Path) -> None:
    """Foot joint heights and contact flags of the clip of a set whose feet move most."""
    from ..motion.representation import UP, representation_for

    def foot_range(c):
        return float(np.ptp(c.global_positions()[:, representation_for(c.skeleton).feet, UP]))

    clip = max(scored.clip_set.clips, key=foot_range)
    rep = representation_for(clip.skeleton)
    pos = clip.global_positions()
    contacts = rep.foot_contacts(pos, clip.fps)
    t = np.arange(clip.num_frames) / clip.fps
    names = [clip.skeleton.names[j] for j in rep.feet]
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(7, 4), sharex=True)
    for k, j in enumerate(rep.feet):
        axes[0].plot(t, pos[:, j, UP], label=names[k], lw=1)
        axes[1].plot(t, contacts[:, k] * 0.8 + k, lw=1)
    axes[0].set_ylabel("height")
    axes[0].legend(fontsize=7, ncol=4)
    axes[1].set_yticks(np.arange(len(names)) + 0.4, names, fontsize=7)
    axes[1].set_xlabel("seconds")
    axes[1].set_title("contact (high = on the ground)", fontsize=8)
    axes[0].set_title(f"{scored.clip_set.name}: feet of {clip.name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_inbetween(rows: list[dict], path: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    for ax, metric in zip(axes, ("l2p", "l2q", "npss"), strict=True):
        for method in dict.fromkeys(r["method"] for r in rows):
            rs = [r for r in rows if r["method"] == method]
            ax.plot([r["gap"] for r in rs], [r[metric] for r in rs], marker="o", label=method)
        ax.set_xlabel("gap (frames)")
        ax.set_title(metric.upper())
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    out: str | Path,
    title: str,
    suite: list[Scored] | None = None,
    subject: Scored | None = None,
    inbetween_rows: list[dict] | None = None,
    vocab: tuple[list[str], list[str]] | None = None,
    notes: str = "",
    action_rows: list[dict] | None = None,
) -> Path:
    """Write `report.md` and its plots into folder `out`; returns the Markdown path.

    `suite` rows start with the reference set (the projection is fitted on it);
    `subject` is the set whose per-label accuracy and feet are plotted (default: the first).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# {title}", ""]
    if notes:
        md += [notes, ""]
    if suite:
        md += ["## Generation metrics", "", table([s.row for s in suite], SUITE_COLUMNS), ""]
        md += [LEGEND, ""]
        plot_projection(suite, out / "features_pca.png")
        md += ["![features](features_pca.png)", ""]
        subject = subject or suite[0]
        if vocab:
            for key, names in (("action", vocab[0]), ("style", vocab[1])):
                plot_label_accuracy(subject, names, key, out / f"{key}_accuracy.png")
                md += [f"![{key} accuracy]({key}_accuracy.png)", ""]
        plot_feet(subject, out / "feet.png")
        md += ["![feet](feet.png)", ""]
    if action_rows:
        md += [f"## Per action: {subject.clip_set.name}", "", table(action_rows, ACTION_COLUMNS), "",
               "`mean_dist`: squared distance between the mean embedding of the set's clips of the action and the "
               "reference's; `real_mean_dist`: the same for the label-matched draw of real training takes; "
               "`dist_ratio` = mean_dist / real_mean_dist.", ""]
    if inbetween_rows:
        md += ["## In-betweening", "", table(inbetween_rows, INBETWEEN_COLUMNS), ""]
        plot_inbetween(inbetween_rows, out / "inbetween.png")
        md += ["![in-betweening](inbetween.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path
