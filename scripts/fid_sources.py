"""Where a generated set's FID comes from, on the evaluation's own yardstick (v2: the recognizer's embedding,
the validation takes as reference, the same-size floor of real training draws).

    python scripts/fid_sources.py GENERATED_DIR [--data bandai-namco]

GENERATED_DIR: clips written by `python -m core generate --like val-takes --out GENERATED_DIR`. Three tables:

1. If these clips were real: FID / floor with one action's (or a group's) generated clips replaced by the
   label-matched real training clips the suite's "real train" row draws; a large drop names the action
   that holds the FID up.
2. How much the body moves: per action, the RMS speed of the legs', arms' and trunk's joints relative to the
   root (the recognizer's view: heading frame, `core.evaluation.canonical`), generated over real
   validation takes; the real training draw's row is the yardstick (about 1 where nothing is wrong).
3. What changes the FID, made to the generated clips themselves: each locomotion clip's arm and trunk
   rotations swung further from their own mean by a factor (1.2), its heading change scaled to exactly
   90 degrees (walks with a turn), or its root moving 1.15x as fast. A test of the cause, not a fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation import metrics  # noqa: E402
from core.evaluation.canonical import body_joints, canonical_features  # noqa: E402
from core.evaluation.cli import _recognizer  # noqa: E402
from core.evaluation.report import table  # noqa: E402
from core.evaluation.suite import REFERENCE_SPLIT, ClipSet, evaluator, load_folder  # noqa: E402
from core.motion.clip import Clip  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402
from core.motion.rotations import matrix_to_quat, quat_slerp, quat_to_matrix, yaw_matrix  # noqa: E402

LOCOMOTION = ("walk", "walk-turn-left", "walk-turn-right", "run")
TURNS = ("walk-turn-left", "walk-turn-right")
GESTURES = ("raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand", "wave-both-hands",
            "wave-left-hand", "wave-right-hand")


def body_parts(clip: Clip) -> dict[str, np.ndarray]:
    """Joint indices of the legs (the root's left/right children and below), arms (the other joints with a
    mirror) and trunk (the rest of the body below the root), by the skeleton's shape, not its names."""
    skel, rep = clip.skeleton, representation_for(clip.skeleton)
    mirror = skel.mirror_indices()

    def below(j: int) -> list[int]:
        return [j] + [d for c in skel.children(j) for d in below(c)]

    legs = {d for c in skel.children(rep.root) if mirror[c] != c for d in below(c)}
    body = [int(j) for j in body_joints(skel) if j != rep.root]
    return {"legs": np.array(sorted(legs)),
            "arms": np.array([j for j in body if mirror[j] != j and j not in legs]),
            "trunk": np.array([j for j in body if mirror[j] == j])}


def part_speeds(clip_set: ClipSet, action: str) -> dict[str, float]:
    """Mean over the set's clips of `action` of each part's RMS joint speed (cm/s) in the heading frame."""
    parts = body_parts(clip_set.clips[0])
    where = {int(j): k for k, j in enumerate(body_joints(clip_set.clips[0].skeleton))}
    found: dict[str, list[float]] = {p: [] for p in parts}
    for f, a in zip(clip_set.features, clip_set.actions, strict=True):
        if a != action:
            continue
        pos = f[:, : 3 * len(where)].reshape(len(f), len(where), 3)
        speed = np.sqrt((np.diff(pos, axis=0) ** 2).sum(-1).mean(0)) * 30.0  # (J,) canonical frames are 30 fps
        for p, joints in parts.items():
            found[p].append(float(speed[[where[int(j)] for j in joints]].mean()))
    return {p: float(np.mean(v)) for p, v in found.items() if v}


def swing_further(clip: Clip, joints: np.ndarray, k: float) -> None:
    """Each joint's local rotation turned k times as far from the clip's mean rotation of that joint (slerp
    from the mean, extrapolated past the rotation for k > 1)."""
    for j in joints:
        q = clip.rotations[:, j] * np.sign((clip.rotations[:, j] * clip.rotations[:1, j]).sum(-1, keepdims=True))
        mean = np.broadcast_to(q.mean(0) / np.linalg.norm(q.mean(0)), q.shape)
        clip.rotations[:, j] = quat_slerp(mean, q, k)


def root_joint(clip: Clip) -> int:
    rep = representation_for(clip.skeleton)
    if rep.ancestors and not np.allclose(clip.rotations[:, rep.ancestors], [1.0, 0.0, 0.0, 0.0]):
        raise SystemExit(f"{clip.name}: joints above the root move; the heading tests expect them still")
    return rep.root


def turn_to(clip: Clip, degrees: float) -> None:
    """The root's heading change over the clip scaled to `degrees` (sign kept), its path turned with it."""
    r, rep = root_joint(clip), representation_for(clip.skeleton)
    heading = np.unwrap(rep.heading(clip.global_transforms()[0][:, r]))
    extra = (np.radians(degrees) / max(abs(heading[-1] - heading[0]), 1e-6) - 1.0) * (heading - heading[0])
    turn = yaw_matrix(extra)  # (F, 3, 3)
    clip.rotations[:, r] = matrix_to_quat(turn @ quat_to_matrix(clip.rotations[:, r]))
    path = clip.translations[:, r]
    steps = np.einsum("fij,fj->fi", turn[1:], np.diff(path, axis=0))
    steps[:, 1] = np.diff(path[:, 1])
    path[1:] = path[0] + np.cumsum(steps, 0)


def faster(clip: Clip, k: float) -> None:
    r = root_joint(clip)
    path = clip.translations[:, r]
    path[:, [0, 2]] = path[0, [0, 2]] + k * (path[:, [0, 2]] - path[0, [0, 2]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("generated")
    ap.add_argument("--data", default="bandai-namco")
    args = ap.parse_args(argv)
    judge = evaluator(load_corpus(args.data, progress=False), _recognizer(None))
    gen = load_folder(args.generated)
    ref, floor = judge.ref_out["embedding"], judge.floor(gen)
    emb = judge.recognizer.predict(gen.features)["embedding"]
    draw = judge.draw(gen, judge.seed + 1000)  # the suite's "real train" row
    real_train, real = judge.pool.subset(draw, "real train"), judge.pool_out["embedding"][draw]
    actions = np.array([a or "" for a in gen.actions])

    def ratio(e: np.ndarray) -> str:
        return f"{metrics.fid(e, ref) / floor:.2f}x"

    rows = [{"clips": "all generated", "n": len(gen), "FID / floor": ratio(emb)}]
    groups = {a: [a] for a in sorted(set(actions))}
    groups.update({"walks with a turn": TURNS, "locomotion (walks, turns, runs)": LOCOMOTION,
                   "gestures (raises, waves)": GESTURES})
    for name, group in groups.items():
        swap = np.isin(actions, group)
        if swap.any():
            e = emb.copy()
            e[swap] = real[swap]
            rows.append({"clips": f"{name} real", "n": int(swap.sum()), "FID / floor": ratio(e)})
    rows.append({"clips": "all real (training draw)", "n": len(gen), "FID / floor": ratio(real)})
    print("If these clips were real\n" + table(rows, tuple(rows[0])))

    rows = []
    theirs_by_action = {a: part_speeds(judge.reference, a) for a in sorted(set(actions))}
    for name, clip_set in ((f"real train / {REFERENCE_SPLIT}", real_train), (f"{gen.name} / {REFERENCE_SPLIT}", gen)):
        for a, theirs in theirs_by_action.items():
            mine = part_speeds(clip_set, a)
            if mine and theirs:
                rows.append({"set": name, "action": a, **{f"{p} speed": f"{mine[p] / theirs[p]:.2f}" for p in mine}})
    print("\nHow much the body moves (RMS joint speed relative to the root, over real's)")
    print(table(rows, tuple(rows[0])))

    def changed(edit, which) -> str:
        edited = load_folder(args.generated)
        for clip, a in zip(edited.clips, edited.actions, strict=True):
            if a in which:
                edit(clip)
        edited.features = [canonical_features(c) for c in edited.clips]
        return ratio(judge.recognizer.predict(edited.features)["embedding"])

    parts = body_parts(gen.clips[0])
    upper = np.concatenate([parts["arms"], parts["trunk"]])
    rows = [{"change": "none", "FID / floor": ratio(emb)},
            {"change": "locomotion: arms and trunk swing 1.2x as far",
             "FID / floor": changed(lambda c: swing_further(c, upper, 1.2), LOCOMOTION)},
            {"change": "walks with a turn: turn exactly 90 degrees",
             "FID / floor": changed(lambda c: turn_to(c, 90.0), TURNS)},
            {"change": "locomotion: root 1.15x as fast", "FID / floor": changed(lambda c: faster(c, 1.15), LOCOMOTION)}]
    print("\nWhat changes the FID (the generated clips edited)\n" + table(rows, tuple(rows[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
