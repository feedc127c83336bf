"""Evaluation suite: recognizer, clip sets, in-betweening benchmark, report, CLI errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.cli import main
from core.evaluation import inbetween as ib
from core.evaluation import metrics
from core.evaluation.canonical import FeatureNorm, body_mirror, canonical_features, mirror_features
from core.evaluation.recognizer import Recognizer, train_recognizer
from core.evaluation.report import write_report
from core.evaluation.suite import (
    POP_SPEED,
    ClipSet,
    Evaluator,
    load_folder,
    noisy_set,
    shuffled_set,
    static_set,
    wrong_labels_set,
)
from core.motion.augment import mirror
from core.motion.clip import Clip, load_clip
from core.motion.representation import representation_for
from core.motion.rotations import quat_mul, yaw_matrix
from core.motion.skeleton import Skeleton


@pytest.fixture(scope="module")
def sample_set(sample_paths) -> ClipSet:
    clips = [load_clip(p) for p in sample_paths]
    names = [p.stem.split("_") for p in sample_paths]
    return ClipSet("samples", clips, [n[1] for n in names], [n[2] for n in names])


@pytest.fixture(scope="module")
def tiny_recognizer(sample_set) -> Recognizer:
    actions = sorted(set(sample_set.actions))
    styles = sorted(set(sample_set.styles))
    return train_recognizer(
        sample_set.features,
        np.array([actions.index(a) for a in sample_set.actions]),
        np.array([styles.index(s) for s in sample_set.styles]),
        actions, styles, steps=60, batch=16, progress=False,
    )


def test_recognizer_learns_the_samples_and_round_trips(tiny_recognizer, sample_set, tmp_path):
    out = tiny_recognizer.predict(sample_set.clips)
    assert out["action"].shape == (len(sample_set), len(tiny_recognizer.actions))
    acc = (out["action"].argmax(-1) == [tiny_recognizer.actions.index(a) for a in sample_set.actions]).mean()
    assert acc >= 0.75  # 8 clips, 60 steps: it fits the training clips
    path = tmp_path / "rec.safetensors"
    tiny_recognizer.save(path)
    back = Recognizer.load(path)
    again = back.predict(sample_set.features)
    # fp16 storage: predictions agree closely, labels exactly
    np.testing.assert_allclose(again["action"], out["action"], atol=2e-2)
    assert (again["action"].argmax(-1) == out["action"].argmax(-1)).all()


def test_a_clip_of_another_skeleton_is_named_in_plain_words(tiny_recognizer, sample_set):
    clip = sample_set.clips[0]
    skel = clip.skeleton
    keep = [j for j in range(skel.num_joints) if not skel.names[j].startswith("Toes")]
    parents = [keep.index(skel.parents[j]) if skel.parents[j] >= 0 else -1 for j in keep]
    other = Skeleton(tuple(skel.names[j] for j in keep), np.array(parents), skel.offsets[keep])
    short = Clip(other, clip.rotations[:, keep], clip.translations[:, keep], clip.fps, "toeless")
    with pytest.raises(Exception, match="toeless: 19 body joints, but the recognizer reads clips of 21"):
        tiny_recognizer.predict([short])


def test_padding_does_not_change_what_a_clip_scores(tiny_recognizer, sample_set):
    alone = [tiny_recognizer.predict([f])["embedding"][0] for f in sample_set.features[:3]]
    together = tiny_recognizer.predict(sample_set.features[:3], batch=3)["embedding"]  # padded to the longest
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-4)


def test_canonical_features_ignore_where_the_clip_stands_and_faces(sample_set):
    clip = sample_set.clips[0]
    feats = canonical_features(clip)
    assert feats.shape == (clip.num_frames, 3 * (clip.skeleton.num_joints - 1) + 3)  # joint_Root is no body joint
    moved = clip.translations.copy()
    root = representation_for(clip.skeleton).root
    turn = yaw_matrix(np.array(1.0))
    moved[:, root] = moved[:, root] @ turn.T + [300.0, 0.0, -120.0]
    q = np.array([np.cos(0.5), 0.0, np.sin(0.5), 0.0])  # the same 1 rad yaw as a quaternion
    rotations = clip.rotations.copy()
    rotations[:, root] = quat_mul(q, rotations[:, root])
    turned = Clip(clip.skeleton, rotations, moved, clip.fps)
    np.testing.assert_allclose(canonical_features(turned), feats, atol=1e-6)


def test_canonical_features_mirror_like_the_clip(sample_set):
    clip = sample_set.clips[0]
    np.testing.assert_allclose(mirror_features(canonical_features(clip), body_mirror(clip.skeleton)),
                               canonical_features(mirror(clip)), atol=0.1)  # cm: the rig is not exactly symmetric


def test_a_near_constant_channel_cannot_dominate_the_normalisation():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(0, 10.0, (50, 9)) for _ in range(4)]
    for s in seqs:
        s[:, 1] = 5.0 + rng.normal(0, 1e-4, 50)  # a joint coordinate that hardly moves
    norm = FeatureNorm.fit(seqs)
    assert norm.std[1] == norm.std[0] > 1.0  # one spread for all joint coordinates
    assert np.abs(norm(seqs[0])[:, 1]).max() < 0.01


def test_garbage_sets_are_what_they_say(sample_set):
    static, shuffled = static_set(sample_set), shuffled_set(sample_set)
    noisy, wrong = noisy_set(sample_set), wrong_labels_set(sample_set)
    c = sample_set.clips[0]
    assert (static.clips[0].rotations == c.rotations[:1]).all()
    assert sorted(map(tuple, shuffled.clips[0].rotations[:, 1])) == sorted(map(tuple, c.rotations[:, 1]))
    angle = 2 * np.degrees(np.arccos(np.clip(np.abs((noisy.clips[0].rotations * c.rotations).sum(-1)), 0, 1)))
    assert 5 < np.median(angle) < 20  # about 0.1 rad per axis
    assert all(a != b for a, b in zip(wrong.actions, sample_set.actions, strict=True))
    assert wrong.clips is sample_set.clips


def test_the_evaluator_scores_real_at_its_floor(tiny_recognizer, sample_set):
    ref, pool = sample_set.subset(range(0, 8, 2), "ref"), sample_set.subset(range(1, 8, 2), "pool")
    judge = Evaluator(tiny_recognizer, ref, pool)
    real, static, shuffled = (judge.score(s).row for s in (pool, static_set(pool), shuffled_set(pool)))
    # every label pair of `pool` is in the pool once: each floor draw is the pool itself
    assert real["fid"] == pytest.approx(real["fid_floor"]) and real["fid_ratio"] == pytest.approx(1.0)
    assert shuffled["jitter"] > 10 * real["jitter"]
    assert static["jitter"] == 0.0
    assert real["bone_error"] < 1e-9
    assert real["pops"] == 0.0
    assert static["root_speed"] == 0.0 and real["root_speed"] > 0.0
    rows = judge.reference_rows()
    assert [r.row["set"] for r in rows] == ["ref", "real train", "static pose", "shuffled frames",
                                            "rotation noise", "wrong labels"]
    assert rows[0].row["fid"] is None and rows[0].row["diversity"] > 0


def test_floors_never_draw_the_reference_itself(tiny_recognizer, sample_set):
    ref = sample_set.subset(range(4))
    judge = Evaluator(tiny_recognizer, ref, sample_set)
    assert len(judge.pool) == 4 and {c.name for c in judge.pool.clips}.isdisjoint({c.name for c in ref.clips})
    with pytest.raises(Exception, match="no real clip is left"):
        Evaluator(tiny_recognizer, sample_set, sample_set.subset(range(2)))


def test_precision_recall_and_inception_score_on_known_sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 4))
    assert metrics.precision_recall(real, rng.normal(size=(200, 4)))[0] > 0.8
    far_p, far_r = metrics.precision_recall(real, rng.normal(size=(200, 4)) + 10)
    assert far_p == 0.0 and far_r == 0.0
    copies_p, copies_r = metrics.precision_recall(real, np.repeat(real[:1], 100, 0))
    assert copies_p == 1.0 and copies_r < 0.05  # one real clip copied: faithful, no coverage
    confident = np.eye(5)[rng.integers(0, 5, 500)]
    assert metrics.inception_score(confident) == pytest.approx(5.0, rel=0.05)
    assert metrics.inception_score(np.full((10, 5), 0.2)) == pytest.approx(1.0)
    assert metrics.inception_score(np.repeat(confident[:1], 10, 0)) == pytest.approx(1.0)


def test_root_speed_scales_with_travel_and_ignores_height(sample_set):
    clip = sample_set.clips[0]
    root = representation_for(clip.skeleton).root
    pos = clip.global_positions()
    base = metrics.root_speed(pos, root, clip.fps)
    assert base > 0.0
    assert metrics.root_speed(pos * [2.0, 1.0, 2.0], root, clip.fps) == pytest.approx(2 * base)
    assert metrics.root_speed(pos * [1.0, 3.0, 1.0], root, clip.fps) == pytest.approx(base)
    assert metrics.root_speed(pos, root, 2 * clip.fps) == pytest.approx(2 * base)


def test_a_joint_reversed_for_a_frame_counts_as_a_pop(sample_set):
    clip = sample_set.clips[0]
    assert metrics.fastest_joint_turn(clip.rotations, clip.fps) < POP_SPEED
    popped = clip.rotations.copy()
    j, f = 5, len(popped) // 2
    # half a turn about the joint's own x axis, for one frame: (w, x, y, z) * (0, 1, 0, 0)
    w, x, y, z = popped[f, j]
    popped[f, j] = (-x, w, z, -y)
    turn = metrics.fastest_joint_turn(popped, clip.fps)
    assert turn == pytest.approx(180.0 * clip.fps, rel=0.25) and turn > POP_SPEED


def test_load_folder_reads_json_and_name_labels(sample_paths, tmp_path):
    shutil.copy(sample_paths[0], tmp_path / "clip_a.bvh")
    (tmp_path / "clip_a.json").write_text(json.dumps({"action": "walk", "style": "happy"}))
    shutil.copy(sample_paths[1], tmp_path / sample_paths[1].name)
    s = load_folder(tmp_path)
    assert s.actions[0] == "walk" and s.styles[0] == "happy"
    assert s.actions[1] == sample_paths[1].stem.split("_")[1]


def _linear_clip(sample: Clip, frames: int = 60) -> Clip:
    """The first pose of a sample, translated at constant velocity: interpolation is exact on it."""
    rot = np.repeat(sample.rotations[:1], frames, 0)
    tr = np.repeat(sample.translations[:1], frames, 0)
    root = representation_for(sample.skeleton).root
    tr[:, root] += np.arange(frames)[:, None] * np.array([1.0, 0.0, 2.0])
    return Clip(sample.skeleton, rot, tr, sample.fps)


def test_interpolation_of_linear_motion_is_exact(sample_paths):
    clip = _linear_clip(load_clip(sample_paths[0]))
    windows = ib.cut_windows([clip], gap=15, stride=20)
    assert len(windows) == 2 and windows[0].clip.num_frames == ib.CONTEXT + 15 + 1
    stats = ib.position_stats([clip], gap=15, stride=5)
    interp = [ib.interpolate(w.clip, w.last_context, w.target) for w in windows]
    zero = [ib.zero_velocity(w.clip, w.last_context, w.target) for w in windows]
    exact = ib.score_gap(interp, windows, stats)
    assert exact["l2p"] < 1e-9 and exact["l2q"] < 1e-9
    assert ib.score_gap(zero, windows, stats)["l2p"] > 0.1


def test_candidate_command_is_run_per_window(sample_paths, tmp_path):
    clips = [load_clip(p) for p in sample_paths[:2]]
    # `cp` keeps the held pose in the gap: it must score exactly like the zero-velocity baseline.
    methods = {"zero": ib.zero_velocity, "cp": ib.command_method("cp {input} {output}  # {from} {to}")}
    rows = ib.benchmark(clips, clips, methods, gaps=(5,), stride=60, max_windows=3)
    zero, cp = rows
    assert cp["windows"] == 3 and cp["l2p"] == pytest.approx(zero["l2p"], rel=1e-4)
    with pytest.raises(Exception, match="must contain"):
        ib.command_method("cp {input} {output}")


def test_ratio_interval_brackets_the_ratio_and_narrows_with_more_windows():
    rng = np.random.default_rng(0)
    den = rng.gamma(2.0, 1.0, 400)  # heavy-ish tailed, as per-window L2P is
    num = 0.6 * den * rng.lognormal(0.0, 0.4, 400)
    assert ib.ratio_interval(0.5 * den, den) == pytest.approx((0.5, 0.5))  # a fixed ratio has no spread
    lo, hi = ib.ratio_interval(num, den)
    assert lo < num.mean() / den.mean() < hi
    lo_few, hi_few = ib.ratio_interval(num[:50], den[:50])
    assert hi_few - lo_few > 2 * (hi - lo)  # ~sqrt(8) wider on an eighth of the windows


def test_benchmark_rows_give_the_ratio_to_interpolation(sample_paths):
    clips = [load_clip(p) for p in sample_paths[:2]]
    rows = ib.benchmark(clips, clips, dict(ib.BASELINES), gaps=(15,), stride=30, max_windows=6)
    zero, interp = rows
    assert "l2p_vs_interp" not in interp and "l2p_windows" not in zero
    ratio = float(zero["l2p_vs_interp"].split()[0])
    assert ratio == pytest.approx(zero["l2p"] / interp["l2p"], abs=1e-3)


def test_report_writes_markdown_and_plots(tiny_recognizer, sample_set, tmp_path):
    judge = Evaluator(tiny_recognizer, sample_set.subset(range(4)), sample_set.subset(range(4, 8)))
    rows = [judge.score(judge.reference, is_reference=True), judge.score(static_set(sample_set))]
    inb = [{"method": m, "gap": g, "windows": 1, "l2p": g / 10, "l2q": 0.1, "npss": 0.01}
           for m in ("a", "b") for g in (5, 15, 30)]
    path = write_report(tmp_path, "test", rows, inbetween_rows=inb,
                        vocab=(tiny_recognizer.actions, tiny_recognizer.styles))
    text = path.read_text()
    assert "| set" in text and "static pose" in text and "In-betweening" in text and "fid_floor" in text
    for png in ("features_pca.png", "action_accuracy.png", "style_accuracy.png", "feet.png", "inbetween.png"):
        assert (tmp_path / png).stat().st_size > 1000


def test_cli_scores_a_folder_against_a_reference_folder_as_json(tiny_recognizer, sample_paths, tmp_path, capsys):
    from tests.conftest import SAMPLES

    rec = tmp_path / "rec.safetensors"
    tiny_recognizer.save(rec)
    ref, mine = tmp_path / "ref", tmp_path / "mine"
    ref.mkdir()
    mine.mkdir()
    for p in sample_paths[:4]:
        shutil.copy(p, ref / p.name)
    for p in sample_paths[4:]:
        shutil.copy(p, mine / p.name)
    out = tmp_path / "rows.json"
    assert main(["evaluate", "clips", str(mine), "--reference", str(ref), "--data", str(SAMPLES),
                 "--recognizer", str(rec), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]  # strict JSON: no NaN
    assert rows[0]["set"] == "ref (reference)" and rows[-1]["set"] == "mine" and rows[-1]["n"] == 4
    for key in ("set", "n", "action_acc", "style_acc", "fid", "fid_floor", "precision", "recall", "diversity",
                "multimodality", "inception_score", "foot_skating", "jitter"):
        assert key in rows[-1]
    assert rows[-1]["fid_floor"] > 0  # drawn from the corpus's training clips, the reference's own left out


def test_cli_reports_missing_recognizer_plainly(tmp_path, capsys):
    assert main(["evaluate", "reference", "--recognizer", str(tmp_path / "nope.safetensors")]) == 2
    assert "recognizer weights not found" in capsys.readouterr().err


def test_cli_rejects_folder_without_clips(tmp_path, capsys, tiny_recognizer):
    tiny_recognizer.save(tmp_path / "rec.safetensors")
    assert main(["evaluate", "clips", str(tmp_path / "empty"), "--recognizer", str(tmp_path / "rec.safetensors")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_the_rig_round_trip_without_a_fill_costs_little_but_not_nothing(sample_paths):
    """The floor under the 'on a Mixamo rig' row: the recorded window to the rig and back, nothing filled."""
    clips = [load_clip(p) for p in sample_paths[:2]]
    methods = {**ib.BASELINES, "round trip": ib.rig_transfer(None)}
    zero, interp, trip = ib.benchmark(clips, clips, methods, gaps=(15,), stride=60, max_windows=3)
    assert 0.0 < trip["l2p"] < 0.2 * interp["l2p"]
    # Against the rig's own keys (what a fill on the rig is scored against) the same round trip is exact,
    # while interpolation scores as it does against the recorded motion.
    truths = {"round trip": ib.rig_truth, "interpolation": ib.rig_truth}
    _, interp_rig, trip_rig = ib.benchmark(clips, clips, methods, gaps=(15,), stride=60, max_windows=3, truths=truths)
    assert trip_rig["l2p"] < 1e-9 < trip["l2p"]
    assert interp_rig["l2p"] == pytest.approx(interp["l2p"], rel=0.1) and interp_rig["l2p"] != interp["l2p"]
