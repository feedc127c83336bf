"""Evaluation suite: recognizer, clip sets, in-betweening benchmark, report, CLI errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.cli import main
from core.evaluation import inbetween as ib
from core.evaluation import metrics
from core.evaluation.recognizer import Recognizer, train_recognizer
from core.evaluation.report import write_report
from core.evaluation.suite import POP_SPEED, ClipSet, load_folder, score, shuffled_set, static_set
from core.motion.clip import Clip, load_clip
from core.motion.representation import representation_for


@pytest.fixture(scope="module")
def sample_set(sample_paths) -> ClipSet:
    clips = [load_clip(p) for p in sample_paths]
    names = [p.stem.split("_") for p in sample_paths]
    return ClipSet("samples", clips, [n[1] for n in names], [n[2] for n in names])


@pytest.fixture(scope="module")
def tiny_recognizer(sample_set) -> Recognizer:
    feats = sample_set.features
    allf = np.concatenate(feats)
    actions = sorted(set(sample_set.actions))
    styles = sorted(set(sample_set.styles))
    return train_recognizer(
        feats,
        np.array([actions.index(a) for a in sample_set.actions]),
        np.array([styles.index(s) for s in sample_set.styles]),
        actions, styles, allf.mean(0), allf.std(0), steps=60, window=60, batch=16, progress=False,
    )


def test_recognizer_learns_the_samples_and_round_trips(tiny_recognizer, sample_set, tmp_path):
    out = tiny_recognizer.predict(sample_set.features)
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


def test_garbage_baselines_score_worse_than_real(tiny_recognizer, sample_set):
    real_emb = tiny_recognizer.predict(sample_set.features)["embedding"].astype(np.float64)
    real = score(sample_set, tiny_recognizer, real_emb)
    static = score(static_set(sample_set), tiny_recognizer, real_emb)
    shuffled = score(shuffled_set(sample_set), tiny_recognizer, real_emb)
    assert real.row["fid"] == pytest.approx(0.0, abs=1e-3)
    assert static.row["fid"] > 1.0 and shuffled.row["fid"] > 1.0
    assert shuffled.row["jitter"] > 10 * real.row["jitter"]
    assert static.row["jitter"] == 0.0
    assert real.row["bone_error"] < 1e-9
    assert real.row["pops"] == 0.0
    assert static.row["root_speed"] == 0.0 and real.row["root_speed"] > 0.0


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


def test_report_writes_markdown_and_plots(tiny_recognizer, sample_set, tmp_path):
    real_emb = tiny_recognizer.predict(sample_set.features)["embedding"].astype(np.float64)
    rows = [score(sample_set, tiny_recognizer, real_emb), score(static_set(sample_set), tiny_recognizer, real_emb)]
    inb = [{"method": m, "gap": g, "windows": 1, "l2p": g / 10, "l2q": 0.1, "npss": 0.01}
           for m in ("a", "b") for g in (5, 15, 30)]
    path = write_report(tmp_path, "test", rows, inbetween_rows=inb,
                        vocab=(tiny_recognizer.actions, tiny_recognizer.styles))
    text = path.read_text()
    assert "| set" in text and "static pose" in text and "In-betweening" in text
    for png in ("features_pca.png", "action_accuracy.png", "style_accuracy.png", "feet.png", "inbetween.png"):
        assert (tmp_path / png).stat().st_size > 1000


def test_cli_reports_missing_recognizer_plainly(tmp_path, capsys):
    assert main(["evaluate", "reference", "--recognizer", str(tmp_path / "nope.safetensors")]) == 2
    assert "recognizer weights not found" in capsys.readouterr().err


def test_cli_rejects_folder_without_clips(tmp_path, capsys, tiny_recognizer):
    tiny_recognizer.save(tmp_path / "rec.safetensors")
    assert main(["evaluate", "clips", str(tmp_path / "empty"), "--recognizer", str(tmp_path / "rec.safetensors")]) == 2
    assert "not a folder" in capsys.readouterr().err
