"""The interactive controller (core.control): conventions, inputs, stability, responsiveness, path following."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.cli import main  # noqa: E402
from core.control.controller import WEIGHTS, ControlError, load_controller  # noqa: E402
from core.control.data import root_track  # noqa: E402
from core.control.follow import PathError, demo_paths, follow, read_path, score_path  # noqa: E402
from core.control.puppeteer import PuppeteerSession  # noqa: E402
from core.control.trajectory import control_vector  # noqa: E402
from core.motion.clip import Clip, load_clip  # noqa: E402
from core.motion.representation import representation_for  # noqa: E402
from core.motion.rotations import yaw_matrix  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "bandai-namco" / "samples"
needs_weights = pytest.mark.skipif(not WEIGHTS.is_file(), reason="no weights/controller.safetensors yet")


@pytest.fixture(scope="module")
def ctl():
    if not WEIGHTS.is_file():
        pytest.skip("no weights/controller.safetensors yet")
    torch.set_num_threads(1)
    return load_controller()


# --- conventions (no weights needed) -------------------------------------------------


def test_control_vector_is_in_the_heading_frame():
    """A point 1 m straight ahead of a character facing yaw reads (0, 1) with no turn, whatever the yaw."""
    for yaw in (0.0, 0.7, -2.5):
        ahead = (yaw_matrix(yaw) @ np.array([0.0, 0.0, 100.0]))[[0, 2]]
        c = control_vector(np.array([5.0, -3.0]), np.array(yaw), (np.array([5.0, -3.0]) + ahead)[None], np.array([yaw]))
        assert np.allclose(c, [0.0, 1.0, 0.0, 1.0], atol=1e-9)


def test_root_track_matches_the_decoder():
    clip = load_clip(SAMPLES / "dataset-2_walk-turn-left_elderly_001.bvh")
    rep = representation_for(clip.skeleton)
    feats = rep.encode(clip)
    g_rot, g_pos = rep.decode(feats, clip.fps).global_transforms()
    track = root_track(feats)
    assert np.abs(track[:, :2] - g_pos[:, rep.root][:, [0, 2]]).max() < 1e-6
    assert np.abs(np.angle(np.exp(1j * (track[:, 2] - rep.heading(g_rot[:, rep.root]))))).max() < 1e-9


def test_read_path_accepts_a_header_and_reports_bad_lines(tmp_path):
    good = tmp_path / "p.csv"
    good.write_text("x,z\n0,0\n1.5, 2\n\n3,4\n")
    assert read_path(good).tolist() == [[0.0, 0.0], [1.5, 2.0], [3.0, 4.0]]
    bad = tmp_path / "bad.csv"
    bad.write_text("0,0\n1,2\n3,oops\n")
    with pytest.raises(PathError, match=r"bad.csv, line 3: expected two numbers"):
        read_path(bad)
    short = tmp_path / "short.csv"
    short.write_text("1,1\n1,1\n")
    with pytest.raises(PathError, match="at least two distinct points, got 1"):
        read_path(short)
    with pytest.raises(PathError, match="cannot read the path"):
        read_path(tmp_path / "missing.csv")


def test_follow_cli_prints_input_errors_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("0,0,0\n")
    assert main(["follow", str(bad), "--out", str(tmp_path / "o.bvh")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "line 1: expected two finite numbers" in err and "Traceback" not in err


# --- the trained controller ----------------------------------------------------------


def test_weights_are_fp16_safetensors_of_a_controller():
    if not WEIGHTS.is_file():
        pytest.skip("no weights/controller.safetensors yet")
    from core.models.weights import load_weights

    tensors, meta = load_weights(WEIGHTS)
    assert meta["kind"] == "controller"
    assert all(v.dtype == torch.float16 for k, v in tensors.items() if k.startswith("model."))


def test_unknown_style_is_a_plain_error(ctl):
    with pytest.raises(ControlError, match="unknown style 'moonwalk'; this controller knows: normal"):
        ctl.step((0.0, 1.0), "moonwalk")


def test_take_decodes_to_the_explicit_track_with_corrections(ctl):
    ctl.reset((10.0, -20.0, 0.5))
    for i in range(60):
        ctl.step((1.0, 0.5), "normal")
        if i % 10 == 0:
            ctl.nudge(np.array([3.0, -2.0]), 0.05)
    g_rot, g_pos = ctl.take(plant=False).global_transforms()
    track = np.array(ctl.track)
    assert np.abs(g_pos[:, ctl.rep.root][:, [0, 2]] - track[:, :2]).max() < 1e-6
    assert np.abs(np.angle(np.exp(1j * (ctl.rep.heading(g_rot[:, ctl.rep.root]) - track[:, 2])))).max() < 1e-6


def test_a_take_has_no_pops_where_the_network_reversed_a_rotation(ctl):
    """A 6D rotation with both columns reversed for a few frames (an arm half a turn off, as the network
    rarely makes under fast stick changes) is cleaned out of the kept take, as from generated clips."""
    from core.evaluation.metrics import fastest_joint_turn
    from core.evaluation.suite import POP_SPEED

    ctl.reset()
    for _ in range(60):
        ctl.step((1.0, 0.0), "normal")
    j = ctl.rep.skeleton.names.index("UpperArm_L")
    cols = slice(ctl.rep.layout.rot6d.start + 6 * j, ctl.rep.layout.rot6d.start + 6 * j + 6)
    for f in range(30, 34):
        ctl.frames[f][cols] *= -1
    feats, start = ctl.take_features()
    raw = ctl.rep.decode(feats, ctl.fps, start)
    assert fastest_joint_turn(raw.rotations, ctl.fps) > POP_SPEED > fastest_joint_turn(ctl.take().rotations, ctl.fps)


def _stability(ctl, seconds: float) -> dict:
    from core.control.evaluate import random_stick

    r = random_stick(ctl, seconds, seed=3)
    assert r["finite"]
    assert r["bone_length_error"] < 1e-9  # rotations on the fixed skeleton: exact
    # Pelvis-to-head within 65 deg of vertical, 30 on average (real active runs lean 20 on average, 31 at most).
    assert r["max_tilt_deg"] < 65 and r["mean_tilt_deg"] < 30
    assert 60 < r["min_root_height"] and r["max_root_height"] < 130  # neither sinks nor flies (cm)
    return r


def test_two_minutes_of_random_stick_stay_finite_rigid_upright(ctl):
    r = _stability(ctl, 120)
    assert r["distance_m"] > 50  # it did travel


@pytest.mark.slow
def test_ten_minutes_of_random_stick_stay_finite_rigid_upright(ctl):
    _stability(ctl, 600)


def test_root_velocity_follows_a_new_command_within_half_a_second(ctl):
    from core.control.evaluate import responsiveness

    r = responsiveness(ctl, trials=12, seed=1)
    assert r["mean_s"] < 0.5, r["cases"]


@pytest.mark.parametrize(("name", "speed"), [("S-bend", 1.4), ("zigzag", 1.4), ("straight 8 m", 3.0)])
def test_follow_meets_the_bars(ctl, name, speed):
    pts = demo_paths()[name]
    clip = follow(ctl, pts, "normal", speed)
    s = score_path(clip, pts)
    from core.evaluation.metrics import foot_skating_rate

    real = []  # real clips of the same gait
    for f in (("dataset-2_run_active_001.bvh",) if speed > 2.2 else
              ("dataset-2_walk_normal_001.bvh", "dataset-1_walk_old_001.bvh")):
        c = load_clip(SAMPLES / f)
        real.append(foot_skating_rate(c.global_positions(), representation_for(c.skeleton).feet, c.fps))
    assert s.distance_cm < 10 and s.facing_deg < 15 and s.skating <= 1.5 * np.mean(real), (s, np.mean(real))
    assert s.end_cm < 50
    from core.control.evaluate import ends_standing

    assert ends_standing(clip)  # at rest, not mid-stride
    root0 = clip.global_positions()[0, ctl.rep.root][[0, 2]]
    assert np.linalg.norm(root0 - pts[0] * 100) < 1e-6  # starts on the first point


def test_follow_walks_a_path_backwards_facing_away_from_it(ctl):
    from core.control.evaluate import ends_standing
    from core.evaluation.metrics import foot_skating_rate

    t = np.linspace(0, np.pi / 2, 20)
    pts = np.stack([1.5 - 1.5 * np.cos(t), 1.5 * np.sin(t)], -1)  # a quarter circle, 2.4 m
    clip = follow(ctl, pts, "normal", 0.8, "walk-back")
    s = score_path(clip, pts, "walk-back")
    real = np.mean([foot_skating_rate(c.global_positions(), representation_for(c.skeleton).feet, c.fps)
                    for c in (load_clip(SAMPLES / f) for f in ("dataset-2_walk_normal_001.bvh",
                                                                "dataset-1_walk_old_001.bvh"))])
    assert s.distance_cm < 10 and s.facing_deg < 10 and s.end_cm < 30 and s.skating <= 1.5 * real, (s, real)
    assert ends_standing(clip)
    g_rot, g_pos = clip.global_transforms()  # travel against the hips' own heading: really backwards
    root = g_pos[:, ctl.rep.root][:, [0, 2]]
    step = np.diff(root, axis=0)
    heading = ctl.rep.heading(g_rot[1:, ctl.rep.root])
    along = (step * np.stack([np.sin(heading), np.cos(heading)], -1)).sum(-1)
    moving = np.linalg.norm(step, axis=-1) * clip.fps > 30  # cm/s
    assert moving.sum() > clip.fps and (along[moving] < 0).mean() > 0.95


def test_follow_cli_writes_a_bvh(tmp_path, capsys):
    if not WEIGHTS.is_file():
        pytest.skip("no weights/controller.safetensors yet")
    path = tmp_path / "p.csv"
    path.write_text("x,z\n0,0\n0,3\n2,5\n")
    out = tmp_path / "walk.bvh"
    assert main(["follow", str(path), "--style", "normal", "--speed", "1.4", "--out", str(out)]) == 0
    clip = load_clip(out)
    assert clip.num_frames > 3.5 / 1.4 * 30
    assert "mean_distance_cm" in capsys.readouterr().out


def test_puppeteer_session_maps_keys_and_runs(ctl):
    s = PuppeteerSession(ctl, "normal")
    assert s.event("W", "PRESS") == 'HANDLED'
    assert np.allclose(s.velocity, [0.0, -1.4])  # forward: away from the front view (data -Z, Blender +Y)
    s.event("D", "PRESS", shift=True)
    assert s.run and np.allclose(s.velocity, 3.5 * np.array([1.0, -1.0]) / math.sqrt(2))
    assert s.event("TWO", "PRESS") == 'HANDLED' and s.style == "active"
    assert s.event("MIDDLEMOUSE", "PRESS") == 'PASS'  # the camera stays free
    outcome = s.play([(1.0, "W", "RELEASE", True), (1.0, "RET", "PRESS", False)])
    assert outcome == 'FINISH' and len(ctl.frames) == 1 + 60
    track = np.array(ctl.track)
    assert track[-1, 0] > 100  # went right (+x) in the last second at a run


def test_diffusion_follows_a_path_autoregressively():
    """The measured alternative family: the diffusion model re-planned every chunk stays on the path."""
    from core.control.diffusion_follow import follow_with_diffusion
    from core.generation import load_generator

    torch.set_num_threads(1)
    pts = np.array([[0.0, 0.0], [0.0, 2.0], [1.5, 3.5]])
    clip = follow_with_diffusion(load_generator("diffusion", "cpu"), pts, "normal", 1.4, chunk=30)
    s = score_path(clip, pts)
    assert np.isfinite(clip.rotations).all() and s.distance_cm < 10 and s.end_cm < 5, s
    root0 = clip.global_positions()[0, representation_for(clip.skeleton).root][[0, 2]]
    assert np.linalg.norm(root0 - pts[0] * 100) < 1e-6


@pytest.mark.parametrize("flag, value, words", [
    ("--temperature", "nan", "temperature must be at least 0, got nan"),
    ("--temperature", "-1", "temperature must be at least 0, got -1"),
    ("--speed", "0.1", "speed (m/s) must be from 0.3 to 6, got 0.1"),
    ("--speed", "inf", "speed (m/s) must be from 0.3 to 6, got inf"),
])
def test_follow_rejects_settings_out_of_range(tmp_path, capsys, flag, value, words):
    path = tmp_path / "p.csv"
    path.write_text("x,z\n0,0\n0,3\n")
    out = tmp_path / "walk.bvh"
    assert main(["follow", str(path), flag, value, "--out", str(out)]) == 2
    assert words in capsys.readouterr().err and not out.exists()


def test_puppeteer_live_pose_holds_the_standing_feet(ctl):
    """The live pose (what the viewport shows while steering) keeps a standing ankle where it stood."""
    from core.control.puppeteer import PuppeteerSession

    speeds = {}
    for held in (True, False):
        s = PuppeteerSession(ctl, "normal")
        s.event("W", "PRESS")
        pos, flags = [], []
        for i in range(150):
            if i == 75:
                s.event("D", "PRESS")
            ctl.step(s.velocity, s.style)
            pos.append((s.pose() if held else ctl.pose()).global_positions()[0])
            flags.append(ctl.frames[-1][ctl.rep.layout.contacts] > 0.5)
        ankles = [k for k, j in enumerate(ctl.rep.feet) if "toe" not in ctl.skeleton.names[j].lower()]
        g = np.array(pos)[:, np.array(ctl.rep.feet)[ankles]][..., [0, 2]]
        f = np.array(flags)[:, ankles]
        speed = np.linalg.norm(np.diff(g, axis=0), axis=-1) * ctl.fps  # (F-1, 2) cm/s
        speeds[held] = speed[f[1:] & f[:-1]].mean()
    assert speeds[True] < 15 and speeds[False] > 3 * speeds[True], speeds


def test_follow_yardsticks_on_real_clips(tmp_path):
    """The benchmark's own measures on real takes: a bow ends standing, a walk take (the data's end mid-stride)
    does not; real walks face their travel within a band, measured the way generated walks are."""
    from core.control.evaluate import ends_standing, follow_paths, real_facing, straight_speed
    from core.data.corpus import load_corpus

    walk = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    assert ends_standing(load_clip(SAMPLES / "dataset-1_bow_happy_001.bvh")) and not ends_standing(walk)
    facing = real_facing(load_corpus(str(SAMPLES), cache=tmp_path / "cache"), split="train")
    assert 2.0 < facing[("walk", "normal")] < 20.0
    assert set(follow_paths()) >= {"straight 20 m", "circle r=3 m", "zig-zag 2 m legs", "S-curve, 90 deg corner"}
    # A straight walk's own speed over its straight middle: what the bench compares with the asked speed.
    g = walk.global_positions()[:, representation_for(walk.skeleton).root][:, [0, 2]] / 100.0
    line = np.stack([g[0], g[-1]])
    v = straight_speed(walk, line, margin_m=0.5)
    assert v is not None and 0.8 < v < 1.8


def test_puppet_left_alone_comes_to_rest(ctl):
    """Keys released, the character stands (the data's walks never stop, so the network alone shuffles on)."""
    from core.control.evaluate import ends_standing

    s = PuppeteerSession(ctl, "normal")
    assert s.play([(0.0, "W", "PRESS", False), (3.0, "W", "RELEASE", False), (2.0, "X", "PRESS", False)]) == 'RUNNING'
    take = s.take()
    assert ends_standing(take)
    track = np.array(ctl.track)
    assert np.linalg.norm(track[-1, :2] - track[0, :2]) > 200  # it walked first (cm)


def test_follow_says_when_it_went_slower_than_asked(ctl, monkeypatch):
    """A take that cannot keep the asked speed still arrives, and says what it changed (here a network made
    to walk at 60% of its pace, the blend that would correct it switched off)."""
    import core.control.follow as follow_module
    from core.motion.representation import ROOT_MOTION

    monkeypatch.setattr(follow_module, "MAX_BLEND", 0.0)
    step = ctl.step_trajectory

    def slow(*args, **kwargs):
        raw = step(*args, **kwargs)
        ctl.frames[-1][ROOT_MOTION] *= 0.6
        return raw

    monkeypatch.setattr(ctl, "step_trajectory", slow)
    said: list[str] = []
    path = np.array([[0.0, 0.0], [0.0, 10.0]])
    clip = follow(ctl, path, "normal", 1.4, report=said.append)
    assert score_path(clip, path).end_cm < 30
    assert said and "m/s on average instead of 1.4 m/s" in said[0], said


def test_speed_profile_slows_into_sharp_corners_only_and_ramps():
    from core.control.follow import MAX_SLOW, RAMP, SLOW_K, Polyline, speed_profile
    from core.control.trajectory import METRE

    corner = Polyline(np.array([[0.0, 0.0], [0.0, 6.0], [6.0, 6.0]]) * METRE)  # one 90-degree corner
    for speed in (1.1, 3.0):
        s, v = speed_profile(corner, speed)
        at = v[np.argmin(np.abs(s - 6.0 * METRE))]
        assert at == pytest.approx(speed * (1 - min(MAX_SLOW, SLOW_K * speed**2) * 0.5), rel=0.01)
        assert v[0] == pytest.approx(speed) and v[-1] == pytest.approx(speed)  # full speed away from it
        assert np.abs(np.diff(v)).max() <= RAMP * (s[1] - s[0]) / METRE + 1e-9
    assert speed_profile(corner, 1.1)[1].min() > 0.9 * 1.1  # walks barely slow, as the data's turns
    circle = Polyline(np.stack([3 * np.sin(np.linspace(0, 6, 200)), 3 * np.cos(np.linspace(0, 6, 200))], -1) * METRE)
    assert speed_profile(circle, 1.4)[1].min() > 0.99 * 1.4  # a smooth curve is no corner


def test_follow_slows_into_the_corners_of_a_zig_zag_and_says_so(ctl):
    from core.control.evaluate import follow_paths

    pts = follow_paths()["zig-zag 2 m legs"]
    said: list[str] = []
    clip = follow(ctl, pts, "normal", 3.0, report=said.append)
    root = clip.global_positions()[:, ctl.rep.root][:, [0, 2]] / 100.0
    speed = np.linalg.norm(np.diff(root, axis=0), axis=-1) * clip.fps
    near = np.linalg.norm(root[1:, None] - pts[None, 1:-1], axis=-1).min(-1)  # to the nearest corner, m
    assert speed[near < 0.3].mean() < 0.8 * speed[(near > 1.0) & (speed > 1.0)].mean()
    assert said and "instead of 3 m/s" in said[0]


def test_a_walk_faster_than_the_style_goes_keeps_its_feet(ctl):
    """Asked for 2 m/s, an old person's walk is made at the network's pace and played faster: the speed is
    reached and the feet do not slide more than real walks' allow."""
    from core.control.evaluate import straight_speed
    from core.evaluation.metrics import foot_skating_rate

    pts = np.array([[0.0, 0.0], [0.0, 10.0]])
    clip = follow(ctl, pts, "old", 2.0)
    real = np.mean([foot_skating_rate(c.global_positions(), representation_for(c.skeleton).feet, c.fps)
                    for c in (load_clip(SAMPLES / f) for f in ("dataset-2_walk_normal_001.bvh",
                                                                "dataset-1_walk_old_001.bvh"))])
    assert abs(straight_speed(clip, pts) / 2.0 - 1) < 0.1
    assert score_path(clip, pts).skating <= 1.5 * real and score_path(clip, pts).end_cm < 30


def test_turn_yardstick_tells_a_real_plant_and_turn_from_a_swivel():
    """A real walk with a turn pivots over most of a second, much of it on one planted foot; the same walk
    turned instantly at one frame (everything after it rotated about the pelvis) is a swivel."""
    from core.control.evaluate import fastest_turn, turn_at
    from core.motion.augment import rotate_vertical

    real = load_clip(SAMPLES / "dataset-2_walk-turn-left_elderly_001.bvh")
    rep = representation_for(real.skeleton)
    seconds, share = turn_at(real, fastest_turn(real))
    assert seconds > 0.5 and share > 0.4, (seconds, share)

    walk = load_clip(SAMPLES / "dataset-2_walk_normal_001.bvh")
    k = walk.num_frames // 2
    pelvis = walk.global_positions()[k, representation_for(walk.skeleton).root]
    after = rotate_vertical(walk.slice(k, walk.num_frames), np.pi / 2)  # about the origin ...
    shift = pelvis - rotate_vertical(walk.slice(k, k + 1), np.pi / 2).global_positions()[0, rep.root]
    after.translations[:, 0] += shift * np.array([1.0, 0.0, 1.0])  # ... moved back under the pelvis
    swivel = Clip(walk.skeleton, np.concatenate([walk.rotations[:k], after.rotations]),
                  np.concatenate([walk.translations[:k], after.translations]), walk.fps)
    seconds, _ = turn_at(swivel, k)
    assert seconds < 0.1, seconds


def test_a_fast_backward_walk_is_quicker_steps_not_sliding_feet(ctl):
    """Backward walks in the data are slow; asked for 2 m/s, one is made at the network's backward pace and
    played faster: the speed is reached and the feet stay within real walks' sliding."""
    from core.control.evaluate import straight_speed
    from core.evaluation.metrics import foot_skating_rate

    pts = np.array([[0.0, 0.0], [0.0, 6.0]])
    clip = follow(ctl, pts, "happy", 2.0, "walk-back")
    s = score_path(clip, pts, "walk-back")
    real = np.mean([foot_skating_rate(c.global_positions(), representation_for(c.skeleton).feet, c.fps)
                    for c in (load_clip(SAMPLES / f) for f in ("dataset-2_walk_normal_001.bvh",
                                                                "dataset-1_walk_old_001.bvh"))])
    assert s.facing_deg < 10 and s.end_cm < 30 and s.skating <= 1.5 * real, (s, real)
    assert straight_speed(clip, pts, margin_m=1.0) > 0.9 * 2.0
