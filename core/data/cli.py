"""`python -m core data ...`: corpus statistics."""

from __future__ import annotations

import argparse
import json
from collections import Counter

MAX_LISTED = 20  # unlabelled clips named one a line; a longer list ends with a count


def _table(title: str, counts: Counter, frames: Counter, fps: float) -> list[str]:
    width = max([len(title)] + [len(k) for k in counts])
    lines = [f"{title:<{width}}  {'clips':>6}  {'frames':>8}  {'minutes':>8}"]
    for name in sorted(counts, key=lambda k: (-counts[k], k)):
        lines.append(f"{name:<{width}}  {counts[name]:>6}  {frames[name]:>8}  {frames[name] / fps / 60:>8.2f}")
    return lines


def corpus_stats(path: str, progress: bool = False) -> dict:
    """Clip, frame and label counts of a corpus source (folder, archive or `bandai-namco`)."""
    from ..motion.representation import representation_for
    from .corpus import load_corpus

    corpus = load_corpus(path, progress=progress, warn_unlabelled=False)  # listed below instead
    skel = corpus.skeleton
    mirror = skel.mirror_indices()
    frames: dict[str, Counter] = {k: Counter() for k in ("action", "style", "dataset")}
    for c in corpus.clips:
        for key, counter in frames.items():
            counter[getattr(c, key)] += c.num_frames
    return {
        "source": path,
        "clips": len(corpus),
        "frames": corpus.num_frames,
        "fps": round(corpus.fps, 3),
        "hours": round(corpus.hours, 4),
        "joints": skel.num_joints,
        # What mirroring and contacts will use: given in the folder's skeleton.json, else found from the names.
        "mirror_pairs": [[skel.names[j], skel.names[m]] for j, m in enumerate(mirror) if j < m],
        "mirror_pairs_from": "skeleton.json" if skel.mirror_pairs else "joint names",
        "foot_joints": [skel.names[j] for j in representation_for(skel).feet],
        "foot_joints_from": "skeleton.json" if skel.foot_joints else "joint names",
        "train_frames": sum(s.num_frames for s in corpus.segments("train")),
        "val_frames": sum(s.num_frames for s in corpus.segments("val")),
        **{f"clips_per_{k}": dict(sorted(corpus.counts(k).items())) for k in frames},
        **{f"frames_per_{k}": dict(sorted(v.items())) for k, v in frames.items()},
        "unlabelled": [{"file": f, "why": why} for f, why in corpus.unlabelled],
    }


def _stats(args: argparse.Namespace) -> int:
    s = corpus_stats(args.path, progress=True)
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"source: {s['source']}")
    print(f"clips: {s['clips']}  frames: {s['frames']}  hours: {s['hours']:.3f}  fps: {s['fps']:g}", end="")
    print(f"  joints: {s['joints']}")
    print(f"split: {s['train_frames']} train frames, {s['val_frames']} validation frames")
    pairs = ", ".join("/".join(p) for p in s["mirror_pairs"]) or "none: no mirroring (name them in skeleton.json)"
    print(f"left/right pairs ({s['mirror_pairs_from']}): {pairs}")
    feet = ", ".join(s["foot_joints"]) or "none: no foot contacts (name them in skeleton.json)"
    print(f"foot joints ({s['foot_joints_from']}): {feet}")
    for key in ("dataset", "action", "style"):
        print()
        print("\n".join(_table(key, Counter(s[f"clips_per_{key}"]), Counter(s[f"frames_per_{key}"]), s["fps"])))
    if s["unlabelled"]:
        print()
        print(f"left out, no labels: {len(s['unlabelled'])} clip(s)")
        for u in s["unlabelled"][:MAX_LISTED]:
            print(f"  {u['file']}: {u['why']}")
        if len(s["unlabelled"]) > MAX_LISTED:
            print(f"  and {len(s['unlabelled']) - MAX_LISTED} more (--json lists all)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="motion data: corpus statistics")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    st = data_sub.add_parser("stats", help="clip, frame and label counts of a corpus")
    st.add_argument("path", help="folder of labelled BVH files, a .tar.xz dataset archive, or 'bandai-namco'")
    st.add_argument("--json", action="store_true", help="print the statistics as JSON")
    st.set_defaults(func=_stats)
