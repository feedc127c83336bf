"""The generator contract (core.generation) and the generate / inbetween commands, on a tiny trained model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from tiny_model import TINY, WALK, train_tiny

from core.errors import GenAnimError
from core.generation import Cancelled, load_generator
from core.motion.clip import load_clip
from core.motion.rotations import matrix_to_6d


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("run"))


def test_export_writes_weights_and_card(weights, tmp_path):
    from core.cli import main

    run = weights.parent
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TINY))
    out = tmp_path / "w" / "diffusion.safetensors"
    assert main(["export", str(run), "--config", str(cfg), "--out", str(out)]) == 0
    card = out.with_suffix(".md").read_text()
    assert f"--config {cfg} --out {run}" in card and "| parameters |" in card and "fp16 weights instead of fp32" in card
    assert "CC BY-NC 4.0" in card and "Not yet measured" in card
    assert load_generator(str(out), "cpu").generate("walk", None, 1.0)[0].num_frames == 30
    cfg.write_text(json.dumps({**TINY, "lr": 0.5}))
    assert main(["export", str(run), "--config", str(cfg), "--out", str(out)]) == 2


@pytest.fixture(scope="module")
def gen(weights):
    return load_generator(str(weights), device="cpu")


def test_contract_fields(gen):
    assert "walk" in gen.actions and "normal" in gen.styles
    assert gen.fps == pytest.approx(30.0, abs=1e-3) and gen.skeleton.num_joints == 22 and gen.name == "tiny"


def test_generate_honours_seeds_and_lengths(gen):
    a = gen.generate("walk", "normal", seconds=2, count=2, seed=5)
    b = gen.generate("walk", "normal", seconds=2, count=2, seed=5)
    assert [c.name for c in a] == ["walk_normal_seed5", "walk_normal_seed6"]
    assert all(c.num_frames == 60 and c.skeleton is gen.skeleton for c in a)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.rotations, y.rotations) and np.array_equal(x.translations, y.translations)
    assert not np.allclose(a[0].rotations, a[1].rotations)
    alone = gen.generate("walk", "normal", seconds=2, count=1, seed=6)[0]  # sample i is seed + i on its own
    np.testing.assert_allclose(alone.rotations, a[1].rotations, atol=1e-4)
    long = gen.generate(None, None, seconds=5, seed=0)[0]  # longer than the 40-frame window: blended windows
    assert long.num_frames == 150 and np.isfinite(long.global_positions()).all()


def test_short_clips_are_the_start_of_a_full_window(gen):
    short = gen._features(2, 12, 0, 0, [4, 5], None, None, None, False)
    full = gen._features(2, gen.window, 0, 0, [4, 5], None, None, None, False)
    assert short.shape[1] == 12 and gen.window > 12
    np.testing.assert_allclose(short, full[:, :12], atol=1e-6)


def test_unknown_labels_list_the_known_ones(gen):
    with pytest.raises(GenAnimError, match="unknown action 'moonwalk'; known actions: .*walk"):
        gen.generate("moonwalk", None, seconds=1)
    with pytest.raises(GenAnimError, match="unknown style 'sleepy'; known styles: .*normal"):
        gen.generate(None, "sleepy", seconds=1)
    with pytest.raises(GenAnimError, match="length"):
        gen.generate("walk", None, seconds=0)


def test_progress_and_cancel(gen):
    seen = []
    gen.generate("walk", None, seconds=1, progress=lambda f: seen.append(f) is None)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    with pytest.raises(Cancelled):
        gen.generate("walk", None, seconds=1, progress=lambda f: f < 0.5)


def test_inbetween_keeps_frames_outside_the_gap(gen):
    clip = load_clip(WALK)
    out = gen.inbetween(clip, 20, 50, "walk", "normal", seed=3)
    keep = np.r_[0:21, 50 : clip.num_frames]
    assert np.array_equal(out.rotations[keep], clip.rotations[keep])
    assert np.array_equal(out.translations[keep], clip.translations[keep])
    assert not np.allclose(out.rotations[21:50], clip.rotations[21:50])
    root = gen.rep.root
    pos = out.global_positions()[:, root]
    # the root joins the kept frames: the last generated step is no larger than a generous walking step
    assert np.linalg.norm(pos[50] - pos[49]) < 20.0 and np.linalg.norm(pos[21] - pos[20]) < 20.0
    again = gen.inbetween(clip, 20, 50, "walk", "normal", seed=3)
    assert np.array_equal(again.rotations, out.rotations)
    with pytest.raises(GenAnimError, match="gap"):
        gen.inbetween(clip, 50, 20)


def test_root_target_steers_the_sampled_path_and_temperature_scales_the_noise(gen):
    """The sampler is steered so the root path of frames 5..35 ends at a given offset and heading (how
    in-betweening tells the network where the kept frame after a gap stands); at temperature 0 the seed
    no longer matters."""
    rep = gen.rep
    target = (5, 35, np.array([100.0, 50.0]), 0.5)
    feats = gen.sample_features(1, 48, -1, -1, [0], None, None, None, None, None, root_target=target)[0]
    end = rep.decode(feats[5:36], gen.fps).global_positions()[30, rep.root, [0, 2]]
    free = gen.sample_features(1, 48, -1, -1, [0], None, None, None, None, None)[0]
    free_end = rep.decode(free[5:36], gen.fps).global_positions()[30, rep.root, [0, 2]]
    # the result passes the temporal low-pass after sampling: the stretch's ends blend with free frames
    assert np.linalg.norm(end - target[2]) < 0.1 * np.linalg.norm(target[2]) < np.linalg.norm(free_end - target[2])
    turn = feats[5:35, rep.layout.yaw_rate].sum()
    assert abs(turn - target[3]) < 0.05 < abs(free[5:35, rep.layout.yaw_rate].sum() - target[3])
    clip = load_clip(WALK)
    a, b = (gen.inbetween(clip, 20, 50, seed=sd, temperature=0.0) for sd in (1, 2))
    assert np.array_equal(a.rotations, b.rotations)
    c = gen.inbetween(clip, 20, 50, seed=2, temperature=1.0)
    assert not np.allclose(c.rotations, b.rotations)
    with pytest.raises(GenAnimError, match="temperature"):
        gen.inbetween(clip, 20, 50, temperature=-1.0)


def test_inbetween_keeps_the_drawn_fill_nearest_the_kept_frames_it_joins(gen, monkeypatch):
    """With samples=3 and seed 1 the fills of seeds 3, 4, 5 are drawn in one batch and the one whose own
    estimate of the kept frames within `inbetween_join` frames of the gap misses them least is written (on
    these fills not the one that misses all the kept frames least)."""
    clip = load_clip(WALK)
    sample = type(gen).sample_features
    misses, whole = [], []

    def spy(self, n, frames, a, s, seeds, guidance, steps, known, mask, *args, **kwargs):
        feats = sample(self, n, frames, a, s, seeds, guidance, steps, known, mask, *args, **kwargs)
        kept = mask[0].any(-1)  # (frames,)
        first = int(np.argmin(kept)) - 1  # the last kept frame before the gap
        last = first + 1 + int(np.argmax(kept[first + 1 :]))  # the first kept frame after it
        near = np.zeros(frames, bool)
        near[first - self.inbetween_join : last + self.inbetween_join + 1] = True
        miss = (((known - feats) / self.std) ** 2) * mask
        misses.extend(miss[:, near].sum((1, 2)))
        whole.extend(miss.sum((1, 2)))
        return feats

    monkeypatch.setattr(type(gen), "sample_features", spy)
    single = [gen.inbetween(clip, 20, 50, seed=sd, samples=1) for sd in (3, 4, 5)]
    assert len(misses) == 3 and len(set(misses)) == 3
    assert np.argmin(misses) != np.argmin(whole)
    best = single[int(np.argmin(misses))]
    kept = gen.inbetween(clip, 20, 50, seed=1, samples=3)
    assert np.allclose(kept.rotations, best.rotations, atol=1e-4)
    assert not all(np.allclose(kept.rotations, other.rotations, atol=1e-4) for other in single)
    with pytest.raises(GenAnimError, match="samples"):
        gen.inbetween(clip, 20, 50, samples=0)


def test_inbetween_samples_span_times_the_frames_it_sees_up_to_one_window(gen, monkeypatch):
    """The gap and its kept frames (here 38) are sampled with free frames after them: none at span 1, up
    to `span` times as many frames in all, at most one window (the tiny model's 40 frames)."""
    clip = load_clip(WALK)
    sample = type(gen).sample_features
    lengths = []

    def spy(self, n, frames, *args, **kwargs):
        lengths.append(frames)
        return sample(self, n, frames, *args, **kwargs)

    monkeypatch.setattr(type(gen), "sample_features", spy)
    for span in (1.0, 1.02, None):
        out = gen.inbetween(clip, 20, 24, samples=1, span=span)
        assert np.isfinite(out.global_positions()).all()
    assert lengths == [38, 39, 40] and gen.inbetween_span * 38 > gen.window
    with pytest.raises(GenAnimError, match="span"):
        gen.inbetween(clip, 20, 24, span=0.5)
    with pytest.raises(GenAnimError, match="span"):
        gen.inbetween(clip, 20, 24, span=float("nan"))


def test_generated_clips_keep_the_root_path_the_model_made(gen):
    """Cleanup plants the feet with leg IK; it does not pull the root back to where sliding feet would put it."""
    rep = gen.rep
    feats = rep.encode(load_clip(WALK))
    feats[:, rep.layout.root_vel] *= 1.5  # the root travels faster than the legs stride: stance feet slide
    path = rep.decode(feats, gen.fps, None).global_positions()[:, rep.root]
    out = gen._finish(feats, "walk").global_positions()[:, rep.root]
    np.testing.assert_allclose(out[:, [0, 2]], path[:, [0, 2]], atol=1e-6)


def test_feet_without_contact_flags_are_left_as_generated(gen):
    """Only the contacts the model flags are planted: holding every low, slow foot as well held runners'
    swing feet and hovering feet (weights/diffusion.md, Sampling and clean-up)."""
    rep = gen.rep
    feats = rep.encode(load_clip(WALK))
    feats[:, rep.layout.contacts] = 0.0  # no predicted contacts at all
    feats[:, rep.layout.root_vel] *= 1.5  # stance feet slide: an extra rule would hold them
    raw = rep.decode(feats, gen.fps, None).global_positions()
    out = gen._finish(feats, "walk").global_positions()
    np.testing.assert_allclose(out, raw, atol=1e-6)


def test_without_foot_pins_the_feet_stay_as_the_network_made_them(gen):
    rep = gen.rep
    feats = rep.encode(load_clip(WALK))
    feats[:, rep.layout.root_vel] *= 1.5  # stance feet slide: the pins move the flagged ones
    raw = rep.decode(feats, gen.fps, None).global_positions()
    assert np.abs(gen._finish(feats, "walk").global_positions() - raw).max() > 1.0
    np.testing.assert_allclose(gen._finish(feats, "walk", foot_pins=False).global_positions(), raw, atol=1e-6)


def test_planted_legs_bend_their_knees_about_the_knees_own_axis(gen):
    """The exported weights carry the training data's hinge joints; the IK that plants the feet bends
    each knee about its axis only (`core.motion.hinges`)."""
    rep, names = gen.rep, gen.skeleton.names
    knees = [j for j in gen.hinges if "LowerLeg" in names[j]]
    assert sorted(names[j] for j in knees) == ["LowerLeg_L", "LowerLeg_R"]
    feats = rep.encode(load_clip(WALK))
    for j in knees:  # straight legs: their plane is mostly the rest pose's tilt, not the knee's bend
        feats[:, rep.layout.rot6d][:, 6 * j : 6 * j + 6] = matrix_to_6d(np.eye(3))
    feats[:, rep.layout.root_vel] *= 1.5  # stance feet slide: the IK bends the knees
    raw = rep.decode(feats, gen.fps, None).rotation_matrices()
    out = gen._finish(feats, "walk").rotation_matrices()
    assert np.abs(out[:, knees] - raw[:, knees]).max() > 0.1  # the knees were bent
    for j in knees:
        own = np.einsum("fji,j->fi", out[:, j], gen.hinges[j])  # the axis in the knee's own frame: R^T b
        assert np.linalg.norm(own - own.mean(0), axis=-1).max() < 0.01


def test_missing_weights_name_the_file(tmp_path):
    with pytest.raises(GenAnimError, match=r"diffusion\.safetensors: weights not found"):
        load_generator("diffusion", "cpu", weights_dir=tmp_path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a weights file")
    with pytest.raises(GenAnimError, match="not a GenAnim weights file"):
        load_generator(str(bad), "cpu")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
def test_generate_and_inbetween_commands(weights, tmp_path):
    out = tmp_path / "gen"
    r = _cli("generate", "--model", str(weights), "--action", "walk", "--style", "normal", "--seconds", "2",
             "--count", "2", "--seed", "0", "--out", str(out), "--device", "cpu", "--steps", "3")
    assert r.returncode == 0, r.stderr
    side = json.loads((out / "walk_normal_seed1.json").read_text())
    assert side["seed"] == 1 and side["action"] == "walk" and side["settings"]["steps"] == 3
    assert side["settings"]["foot_pins"] is True
    r = _cli("generate", "--model", str(weights), "--seconds", "2", "--out", str(tmp_path / "raw"), "--device", "cpu",
             "--steps", "3", "--no-foot-pins")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "raw" / "any_any_seed0.json").read_text())["settings"]["foot_pins"] is False
    assert load_clip(out / "walk_normal_seed0.bvh").num_frames == 60
    r = _cli("generate", "--model", str(weights), "--action", "walk", "--style", "normal", "--out", str(out))
    assert r.returncode == 2 and "would overwrite" in r.stderr
    r = _cli("generate", "--model", str(weights), "--action", "fly", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "known actions:" in r.stderr and "Traceback" not in r.stderr
    dst = tmp_path / "filled.bvh"
    r = _cli("inbetween", str(WALK), "--from", "20", "--to", "50", "--out", str(dst), "--model", str(weights))
    assert r.returncode == 0, r.stderr
    src, filled = load_clip(WALK), load_clip(dst)
    # BVH text keeps 6 decimals: the kept frames match the input file to its printed precision
    np.testing.assert_allclose(filled.global_positions()[:21], src.global_positions()[:21], atol=1e-3)
    r = _cli("inbetween", str(WALK), "--from", "20", "--to", "50", "--out", str(tmp_path / "x.bvh"), "--model",
             str(weights), "--samples", "0")
    assert r.returncode == 2 and "samples must be from 1 to 64" in r.stderr and "Traceback" not in r.stderr


def test_a_model_trained_on_whole_takes_samples_a_short_clip_as_a_whole_take(gen, monkeypatch):
    """A network trained on whole takes samples a clip that fits the window at its own length, flagged
    as a whole take; asked for an excerpt, or by other networks, a full window whose start is kept."""
    calls = []
    real = gen.sample_features

    def spy(n, frames, *args, whole=False, **kwargs):
        calls.append((frames, whole))
        return real(n, frames, *args, whole=whole, **kwargs)

    monkeypatch.setattr(gen, "sample_features", spy)
    assert not gen.whole_takes  # TINY trains without whole takes
    assert gen.generate("walk", None, 1.0, steps=2)[0].num_frames == 30
    monkeypatch.setattr(gen, "whole_takes", True)
    assert gen.generate("walk", None, 1.0, steps=2)[0].num_frames == 30
    assert gen.generate("walk", None, 1.0, steps=2, excerpt=True)[0].num_frames == 30
    full = max(30, gen.window)
    assert calls == [(full, False), (30, True), (full, False)]


@pytest.mark.parametrize("flag, value, words", [
    ("--guidance", "nan", "guidance must be from 0 to 20, got nan"),
    ("--guidance", "-5", "guidance must be from 0 to 20, got -5"),
    ("--seconds", "nan", "length (seconds) must be from 0.0667 to 120, got nan"),
    ("--seconds", "inf", "length (seconds) must be from 0.0667 to 120, got inf"),
    ("--steps", "5000", "steps must be from 1 to 1000, got 5000"),
    ("--count", "100000", "count must be from 1 to 1000, got 100000"),
])
def test_generate_rejects_settings_out_of_range_before_any_work(weights, tmp_path, capsys, flag, value, words):
    from core.cli import main

    out = tmp_path / "gen"
    assert main(["generate", "--model", str(weights), "--action", "walk", flag, value, "--out", str(out)]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()  # no empty output folder left behind


def test_sampling_rejects_nan_guidance_and_temperature(gen):
    with pytest.raises(GenAnimError, match="guidance must be from 0 to 20, got nan"):
        gen.inbetween(load_clip(WALK), 20, 50, guidance=float("nan"))
    with pytest.raises(GenAnimError, match="temperature .* must be at least 0, got nan"):
        gen.inbetween(load_clip(WALK), 20, 50, temperature=float("nan"))


def test_a_model_that_is_neither_a_name_nor_weights_is_named_plainly(tmp_path):
    (tmp_path / "some.txt").write_text("x")
    for model in (str(tmp_path / "some.txt"), "some.txt", str(tmp_path / "diffusion")):
        with pytest.raises(GenAnimError, match="not a model name .* nor a .safetensors weights file"):
            load_generator(model, "cpu")
    with pytest.raises(GenAnimError, match="nope.safetensors: weights not found"):
        load_generator("nope", "cpu")
