"""The training loop, on the motion diffusion model: determinism, resume after a kill, data-parallel replicas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, SAMPLES

from core.cli import main
from core.data.corpus import load_corpus
from core.errors import GenAnimError
from core.training.config import TrainConfig
from core.training.data import MAX_SHORT_GAP, MIN_CROP, MotionSet, feature_stats, random_constraints
from core.training.train import CHECKPOINT, export_weights, load_checkpoint, train

TINY = {
    "data": str(SAMPLES),
    "model": {"width": 32, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.1},
    "window": 40, "batch": 4, "steps": 6, "warmup": 2, "val_every": 3, "val_batches": 1,
    "checkpoint_every": 2, "threads": 1,
}


def tiny(**kw) -> TrainConfig:
    return TrainConfig.from_dict({**TINY, **kw})


def weights(run: Path) -> dict[str, torch.Tensor]:
    modules = load_checkpoint(run / CHECKPOINT)["state"]["modules"]
    return {f"{m}.{k}": v for m, sd in modules.items() for k, v in sd.items()}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_train_summary_and_seeds(tmp_path):
    s = train(tiny(), tmp_path / "a", progress=False)
    assert s["steps"] == 6 and s["val_loss"] is not None and s["parameters"] > 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["steps"] == 6
    train(tiny(), tmp_path / "b", progress=False)
    assert_same(weights(tmp_path / "a"), weights(tmp_path / "b"))  # same seed: same weights
    train(tiny(seed=1), tmp_path / "c", progress=False)
    assert not torch.equal(weights(tmp_path / "a")["model.out.weight"], weights(tmp_path / "c")["model.out.weight"])


def test_bfloat16_autocast_trains_close_to_float32(tmp_path, monkeypatch):
    """The CPU bfloat16 forward pass trains to nearly float32's validation loss (a speed setting,
    bench/bench_training.py), not to the same bits; the checkpoint records the precision each sitting used."""
    from core.training import families

    plain = train(tiny(), tmp_path / "a", progress=False)
    monkeypatch.setattr(families, "native_bf16", lambda: True)
    bf16 = train(tiny(cpu_bf16=True), tmp_path / "c", progress=False)
    assert bf16["val_loss"] != plain["val_loss"]
    assert bf16["val_loss"] == pytest.approx(plain["val_loss"], rel=0.05)
    sittings = load_checkpoint(tmp_path / "c" / CHECKPOINT)["sittings"]
    assert [s["forward"] for s in sittings] == ["bfloat16 autocast"]


def test_cpu_bf16_falls_back_to_float32_without_native_bfloat16(tmp_path, monkeypatch, capsys):
    """Where the CPU only emulates bfloat16 (13x slower a step on AVX2), `cpu_bf16` trains the float32 run's
    very weights and says so; a sitting resumed on a CPU with it trains in bfloat16, and the card says which."""
    from core.training import families
    from core.training.card import _forward, _hardware

    monkeypatch.setattr(families, "native_bf16", lambda: False)
    plain = train(tiny(), tmp_path / "a", progress=False)
    asked = train(tiny(cpu_bf16=True), tmp_path / "b", progress=False)
    assert asked["weights_digest"] == plain["weights_digest"]
    assert "no native bfloat16" in capsys.readouterr().err
    train(tiny(cpu_bf16=True), tmp_path / "c", progress=False, stop_at=3)
    monkeypatch.setattr(families, "native_bf16", lambda: True)
    mixed = train(tiny(cpu_bf16=True), tmp_path / "c", resume=True, progress=False)
    assert mixed["weights_digest"] != plain["weights_digest"]
    ck = load_checkpoint(tmp_path / "c" / CHECKPOINT)
    assert [(s["from_step"], s["forward"]) for s in ck["sittings"]] == [(0, "float32"), (3, "bfloat16 autocast")]
    assert _forward(ck, ck["config"]) == (", the denoiser's forward pass in float32 from step 0; "
                                          "bfloat16 autocast from step 3")
    assert _hardware(ck) == ck["sittings"][0]["hardware"] and "cores" in _hardware(ck)


def test_p_high_noise_draws_the_top_tenth_more_often_in_training_only():
    from core.training.families import make_family

    fam = make_family("diffusion", tiny(p_high_noise=0.3), 12, 3, 2, torch.device("cpu"))
    drawn = []
    fam.diffusion.q_sample = lambda x0, t, noise: (drawn.append(t), x0)[1]
    b = 2048
    batch = (np.zeros((b, 8, 12), np.float32), np.ones((b, 8), bool), np.zeros(b, np.int64), np.zeros(b, np.int64),
             np.zeros(b, bool))
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    fam.loss(fam.model, batch, rng, gen, train=True)
    fam.loss(fam.model, batch, rng, gen, train=False)
    top = int(0.9 * fam.arch.timesteps)
    train_t, val_t = drawn
    assert 0.33 < (train_t >= top).float().mean() < 0.41  # 0.3 + 0.7 x 0.1
    assert 0.07 < (val_t >= top).float().mean() < 0.13  # validation keeps even odds, comparable across recipes


def test_self_conditioned_training_feeds_half_the_items_their_own_estimate():
    from core.training.families import make_family

    cfg = tiny(model={**TINY["model"], "dropout": 0.0, "self_condition": True})
    fam = make_family("diffusion", cfg, 12, 3, 2, torch.device("cpu"))
    calls = []
    net = fam.model
    spy = lambda *a: (calls.append((len(a[0]), a[-1] if len(a) == 9 else None)), net(*a))[1]  # noqa: E731
    b = 64
    batch = (np.random.default_rng(0).standard_normal((b, 8, 12)).astype(np.float32), np.ones((b, 8), bool),
             np.zeros(b, np.int64), np.zeros(b, np.int64), np.zeros(b, bool))
    loss = fam.loss(spy, batch, np.random.default_rng(0), torch.Generator().manual_seed(0), train=True)
    (first, _), (n, prev) = calls
    assert 16 < first < 48 and n == b and torch.isfinite(loss)  # about half draw an estimate first
    fed = prev.abs().sum((1, 2)) > 0
    assert fed.sum() == first  # those, and only those, see it


def test_resume_equals_uninterrupted(tmp_path, capsys):
    train(tiny(), tmp_path / "full", progress=False)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    part = ["train", "--config", str(config), "--out", str(tmp_path / "part")]
    assert main([*part, "--stop-at", "3"]) == 0  # a run stopped where its card scores it, then resumed
    assert load_checkpoint(tmp_path / "part" / CHECKPOINT)["step"] == 3
    assert json.loads(capsys.readouterr().out)["steps"] == 3
    assert main([*part, "--resume"]) == 0
    assert_same(weights(tmp_path / "full"), weights(tmp_path / "part"))


def test_resume_refuses_other_settings_and_fresh_run_refuses_overwrite(tmp_path):
    train(tiny(steps=2), tmp_path / "r", progress=False)
    with pytest.raises(GenAnimError, match="other settings"):
        train(tiny(lr=1e-3), tmp_path / "r", resume=True, progress=False)
    with pytest.raises(GenAnimError, match="--resume"):
        train(tiny(), tmp_path / "r", progress=False)
    with pytest.raises(GenAnimError, match="no checkpoint"):
        train(tiny(), tmp_path / "none", resume=True, progress=False)


def test_resume_accepts_checkpoint_older_than_a_setting(tmp_path):
    """A checkpoint written before a setting existed was trained with its default: resuming works."""
    train(tiny(steps=2), tmp_path / "r", progress=False)
    ck = load_checkpoint(tmp_path / "r" / CHECKPOINT)
    del ck["config"]["r1_weight"]
    torch.save(ck, tmp_path / "r" / CHECKPOINT)
    assert train(tiny(steps=3), tmp_path / "r", resume=True, progress=False)["steps"] == 3
    with pytest.raises(GenAnimError, match="other settings \\(r1_weight\\)"):
        train(tiny(steps=4, r1_weight=2.0), tmp_path / "r", resume=True, progress=False)


def test_config_rejects_unknown_keys(tmp_path):
    with pytest.raises(GenAnimError, match="unknown training settings"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(GenAnimError, match="unknown diffusion model settings depth"):
        train(tiny(model={"depth": 3}), tmp_path / "r", progress=False)
    with pytest.raises(GenAnimError, match="unknown model family 'flow'"):
        train(tiny(family="flow"), tmp_path / "r", progress=False)


def _cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "core", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_resume_after_kill(tmp_path):
    """The training command, killed (SIGKILL) after its first checkpoint, resumes to the same weights."""
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({**TINY, "steps": 40, "checkpoint_every": 1}))
    ref = _cli(["train", "--config", str(cfg), "--out", str(tmp_path / "ref")])
    assert ref.wait(timeout=120) == 0, ref.stderr.read()
    run = tmp_path / "killed"
    p = _cli(["train", "--config", str(cfg), "--out", str(run)])
    deadline = time.time() + 60
    while not (run / CHECKPOINT).exists() and time.time() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    step = load_checkpoint(run / CHECKPOINT)["step"]
    assert step < 40, "the run finished before it could be killed"
    r = _cli(["train", "--config", str(cfg), "--out", str(run), "--resume"])
    out, err = r.communicate(timeout=120)
    assert r.returncode == 0, err
    assert f"resuming at step {step}" in err
    assert_same(weights(tmp_path / "ref"), weights(run))


GAN = {**TINY, "family": "cgan", "model": {"latent": 8, "widths": [32, 16, 16], "blocks": 1, "label_width": 8},
       "window": 32}


@pytest.mark.slow
@pytest.mark.parametrize("config", [TINY, GAN], ids=["diffusion", "cgan"])
def test_ddp_two_processes_hold_identical_weights(tmp_path, config):
    """torchrun --nproc_per_node=2 (gloo on CPU): both replicas end with the same weights (the GAN's
    gradients are averaged by hand, the others' by DDP)."""
    worker = tmp_path / "worker.py"
    worker.write_text(
        "import json, os, sys\n"
        "from core.training.config import TrainConfig\n"
        "from core.training.train import train\n"
        "s = train(TrainConfig.from_dict(json.loads(sys.argv[1])), sys.argv[2], progress=False, device='cpu')\n"
        "open(os.path.join(sys.argv[3], 'rank' + os.environ['RANK'] + '.json'), 'w').write(json.dumps(s))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533"]
    args = [str(worker), json.dumps({**config, "steps": 4}), str(tmp_path / "run"), str(tmp_path)]
    r = subprocess.run([*torchrun, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    s0, s1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert s0["processes"] == 2 and s0["steps"] == 4
    assert s0["weights_digest"] == s1["weights_digest"]
    # and the replicas moved away from the initial weights
    init = train(TrainConfig.from_dict({**config, "steps": 4}), tmp_path / "single", progress=False, stop_at=0)
    assert init["weights_digest"] != s0["weights_digest"]


def test_train_command_reports_bad_input_plainly(tmp_path, capsys):
    from core.cli import main

    assert main(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    assert main(["train", "--model", "gan9000", "--out", str(tmp_path / "run")]) == 2
    assert "trainable models: diffusion" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"stepz": 1}')
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "unknown training settings stepz" in capsys.readouterr().err


def test_finetune_starts_from_a_diffusion_run(tmp_path):
    train(tiny(steps=2), tmp_path / "base", progress=False)
    # Without the mirrored copies its data differ, but it keeps the normalisation its weights were trained with.
    train(tiny(init_from=str(tmp_path / "base"), p_short_gap=0.5, augment=False), tmp_path / "ft", progress=False,
          stop_at=0)
    base_ck, ft_ck = load_checkpoint(tmp_path / "base" / CHECKPOINT), load_checkpoint(tmp_path / "ft" / CHECKPOINT)
    base, start = base_ck["exported"], ft_ck["state"]["modules"]
    assert all(torch.equal(start[m][k], base[k]) for m in ("model", "ema") for k in base)
    assert all(torch.equal(ft_ck[k], base_ck[k]) for k in ("stats_mean", "stats_std"))
    assert main(["export", str(tmp_path / "ft"), "--out", str(tmp_path / "ft.safetensors")]) == 0
    card = (tmp_path / "ft.md").read_text()
    assert f"| starts from | the weights of the diffusion run `{tmp_path / 'base'}` (2 steps" in card
    assert "the config stored in its checkpoint" in card and "50% of these: context, a gap of 1 to 60" in card
    # A fine-tuning of the fine-tuning: its card names the whole chain and how its windows were drawn.
    train(tiny(init_from=str(tmp_path / "ft"), action_balance=0.5, p_random_length=0.3), tmp_path / "ft2",
          progress=False, stop_at=0)
    assert main(["export", str(tmp_path / "ft2"), "--out", str(tmp_path / "ft2.safetensors")]) == 0
    card = (tmp_path / "ft2.md").read_text()
    assert (f"the weights of the diffusion run `{tmp_path / 'ft'}` (0 steps" in card
            and f"that run starts from the weights of the diffusion run `{tmp_path / 'base'}` (2 steps" in card)
    assert "(frames of their action)^-0.5" in card and "30% of windows cropped to a random length" in card
    with pytest.raises(GenAnimError, match="not this run's architecture"):
        train(tiny(init_from=str(tmp_path / "base"), model={**TINY["model"], "width": 48}), tmp_path / "x",
              progress=False)


def test_finetune_starts_from_exported_weights(tmp_path, capsys):
    """Shipped weights (fp16 safetensors, no optimiser state) start a run: a fine-tuning needs no run folder."""
    train(tiny(steps=2), tmp_path / "base", progress=False)
    shipped = tmp_path / "shipped.safetensors"
    assert main(["export", str(tmp_path / "base"), "--out", str(shipped)]) == 0
    train(tiny(init_from=str(shipped)), tmp_path / "ft", progress=False, stop_at=0)
    base_ck, ft_ck = load_checkpoint(tmp_path / "base" / CHECKPOINT), load_checkpoint(tmp_path / "ft" / CHECKPOINT)
    base, start = base_ck["exported"], ft_ck["state"]["modules"]
    for m in ("model", "ema"):  # the fp16 values of the base run's EMA weights
        assert all(torch.equal(start[m][k], base[k].half().float()) for k in base if base[k].is_floating_point())
    assert all(torch.equal(ft_ck[k], base_ck[k]) for k in ("stats_mean", "stats_std"))
    assert main(["export", str(tmp_path / "ft"), "--out", str(tmp_path / "ft.safetensors")]) == 0
    card = (tmp_path / "ft.md").read_text()
    assert f"| starts from | the diffusion weights `{shipped}` (2 steps" in card
    assert main(["export", str(shipped), "--out", str(tmp_path / "again.safetensors")]) == 2
    assert "already exported weights" in capsys.readouterr().err


def test_short_gap_constraints():
    """Short-gap masks: head context, a gap of 1..MAX_SHORT_GAP frames, tail context, free frames after;
    without them the masks (and the random stream) are those of older runs."""
    valid = np.ones((400, 120), bool)
    old = random_constraints(np.random.default_rng(0), valid, 3, 0.3)
    assert np.array_equal(old, random_constraints(np.random.default_rng(0), valid, 3, 0.3, 0.0))
    masks = random_constraints(np.random.default_rng(0), valid, 3, 0.0, 1.0)[:, :, 0]
    inner = 0
    for m in masks:
        runs = np.flatnonzero(np.diff(np.r_[0, m, 0]))  # starts and ends of constrained runs
        if len(runs) == 4 and m[0] and not m[-1]:  # head context, gap, tail context, free frames
            inner += 1
            assert 1 <= runs[2] - runs[1] <= MAX_SHORT_GAP
    assert inner > 100  # of the 45% of windows that get context


def test_context_share_of_constraints():
    """p_context sets the share of constrained windows that get context at the ends; the default keeps the
    masks of older runs."""
    valid = np.ones((2000, 120), bool)
    old = random_constraints(np.random.default_rng(0), valid, 3, 0.3, 0.8)
    assert np.array_equal(old, random_constraints(np.random.default_rng(0), valid, 3, 0.3, 0.8, 0.45))

    def context_share(p_context: float) -> float:
        m = random_constraints(np.random.default_rng(1), valid, 3, 0.0, 0.0, p_context)[:, :, 0]
        return float(np.mean((m[:, 0] > 0) & (m.mean(1) < 0.9)))  # a constrained first frame, not a root track

    assert context_share(0.45) == pytest.approx(0.45, abs=0.05)
    assert context_share(0.8) == pytest.approx(0.8, abs=0.05)


def test_random_length_crops_and_action_balance():
    """Random-length crops are contiguous pieces of MIN_CROP frames up to a window from anywhere in an
    item; action (pair) balance evens out how often each action (action-style pair) is drawn; when all
    are off, the random stream is that of older runs (one item draw, then one start per item)."""
    data = MotionSet(load_corpus(str(SAMPLES), progress=False), "train", False)
    rng, old = np.random.default_rng(0), np.random.default_rng(0)
    data.sample(rng, 64, 100)
    for i in old.choice(len(data), size=64, p=data.lengths / data.lengths.sum()):
        old.integers(0, max(data.lengths[i] - 100, 0) + 1)
    assert rng.random() == old.random()

    x0, valid, action, _, _ = data.sample(np.random.default_rng(1), 400, 100, p_random_length=1.0)
    n = valid.sum(1)
    assert n.min() >= MIN_CROP and n.max() <= 100 and (n < 60).mean() > 0.2
    assert (valid == (np.arange(100) < n[:, None])).all()  # valid frames first, padding after

    def where(piece: np.ndarray) -> tuple[int, int]:  # (item, start) where a crop was cut from
        return next((i, s) for i, it in enumerate(data.items) for s in range(len(it) - len(piece) + 1)
                    if np.array_equal(it[s : s + len(piece)], piece))

    found = [where(crop[:k]) for crop, k in zip(x0, n, strict=True)]
    assert all(data.action[i] == a for (i, _), a in zip(found, action, strict=True))
    assert np.mean([s > 0 for _, s in found]) > 0.5  # not only the start of the motion

    def key(action: np.ndarray, style: np.ndarray) -> np.ndarray:  # one id per (action, style) pair
        return action * (data.style.max() + 2) + style + 1

    def shares(keys: str, **balance: float) -> np.ndarray:
        _, _, action, style, _ = data.sample(np.random.default_rng(2), 4000, 100, **balance)
        drawn = action if keys == "action" else key(action, style)
        mine = data.action if keys == "action" else key(data.action, data.style)
        return np.bincount(drawn, minlength=mine.max() + 1)[np.unique(mine)] / len(drawn)

    frames = np.bincount(data.action, weights=data.lengths)
    np.testing.assert_allclose(shares("action"), frames / frames.sum(), atol=0.02)  # every frame equally likely
    np.testing.assert_allclose(shares("action", action_balance=1.0), 1 / len(frames), atol=0.02)  # every action
    pair_frames = np.bincount(key(data.action, data.style), weights=data.lengths)
    pair_frames = pair_frames[pair_frames > 0]
    assert len(pair_frames) > len(frames) and pair_frames.max() > 2 * pair_frames.min()  # the test has teeth
    np.testing.assert_allclose(shares("pair", pair_balance=1.0), 1 / len(pair_frames), atol=0.02)  # every pair


def test_drift_loss_weighs_a_steady_bias_over_noise():
    """The same per-frame error costs the same in masked_mse whether it is a steady bias or alternates in
    sign; drift_mse, on the running sums, costs the bias (a path that drifts) far more. Padding is ignored."""
    from core.models.losses import drift_mse, masked_mse

    target = torch.zeros(1, 120, 3)
    valid = torch.ones(1, 120, dtype=torch.bool)
    bias = torch.full_like(target, 0.1)
    alternating = 0.1 * (-1.0) ** torch.arange(120.0)[None, :, None].expand_as(target)
    assert masked_mse(bias, target, valid, 0.0) == pytest.approx(masked_mse(alternating, target, valid, 0.0).item())
    assert drift_mse(bias, target, valid, slice(0, 3)) > 100 * drift_mse(alternating, target, valid, slice(0, 3))
    padded = torch.cat([bias, torch.full((1, 40, 3), 9.0)], 1)
    pad_valid = torch.cat([valid, torch.zeros(1, 40, dtype=torch.bool)], 1)
    assert drift_mse(padded, torch.zeros(1, 160, 3), pad_valid, slice(0, 3)) == pytest.approx(
        drift_mse(bias, target, valid, slice(0, 3)).item())


def _sample_features():
    """The sample takes' training frames as the position loss sees them: (corpus, representation, raw
    features (F, D), their stats, and `norm`: raw (F, D) -> normalised (1, F, D) tensor)."""
    from core.motion.representation import representation_for

    corpus = load_corpus(str(SAMPLES))
    rep = representation_for(corpus.skeleton)
    raw = np.concatenate([rep.encode(corpus.segment_clip(s)) for s in corpus.segments("train")])  # (F, D)
    stats = feature_stats([raw])  # the normalisation training uses
    norm = lambda x: torch.from_numpy(((x - stats.mean) / stats.std).astype(np.float32))[None]  # noqa: E731
    return corpus, rep, raw, stats, norm


def test_position_loss_decodes_the_pose_and_weighs_joints_by_what_they_move():
    """PositionLoss's positions are those `decode` builds for a single frame (the root's path left out);
    the same turn costs more at a hip (the whole leg moves) than at a toe; padding is ignored."""
    from core.models.losses import PositionLoss
    from core.motion.rotations import axis_angle_matrix, matrix_to_6d, sixd_to_matrix

    corpus, rep, raw, stats, norm = _sample_features()
    loss = PositionLoss(rep, stats.mean, stats.std, [norm(raw)[0].numpy()])
    pos = loss.positions(norm(raw[:20]))[0].numpy()  # (20, J, 3)
    for i in (0, 7, 19):
        np.testing.assert_allclose(rep.decode(raw[i : i + 1], corpus.fps).global_transforms()[1][0], pos[i], atol=1e-3)
    assert (loss.scale >= 0.02 * rep.leg_length - 1e-4).all()

    names = corpus.skeleton.names
    hip, toe = names.index(next(n for n in names if "UpperLeg" in n)), names.index(next(n for n in names if "Toe" in n))
    target, valid = norm(raw[:40]), torch.ones(1, 40, dtype=torch.bool)
    assert loss(target, target, valid) == (0, 0)

    def turned(joint: int) -> torch.Tensor:
        x = raw[:40].copy()
        cols = slice(rep.layout.rot6d.start + 6 * joint, rep.layout.rot6d.start + 6 * joint + 6)
        x[:, cols] = matrix_to_6d(axis_angle_matrix(0, np.array(0.2)) @ sixd_to_matrix(x[:, cols]))
        return norm(x)

    assert loss(turned(hip), target, valid)[0] > 3 * loss(turned(toe), target, valid)[0]
    padded = torch.cat([turned(hip), torch.full((1, 10, raw.shape[1]), 5.0)], 1)
    pad_target = torch.cat([target, torch.zeros(1, 10, raw.shape[1])], 1)
    pad_valid = torch.cat([valid, torch.zeros(1, 10, dtype=torch.bool)], 1)
    assert loss(padded, pad_target, pad_valid)[0].item() == pytest.approx(loss(turned(hip), target, valid)[0].item())


def test_low_feet_widen_the_foot_slide_loss_to_lift_off_and_landing():
    """A root step wrong only on frames where no foot stands but one is near the floor (lift-off, landing)
    costs nothing in the standing feet's slide term and something with `low_feet`; the pose term sees
    neither (the root's path is not the pose's)."""
    from core.models.losses import PositionLoss

    _, rep, raw, stats, norm = _sample_features()
    standing = PositionLoss(rep, stats.mean, stats.std, [norm(raw)[0].numpy()])
    low = PositionLoss(rep, stats.mean, stats.std, [norm(raw)[0].numpy()], low_feet=True)
    stand = raw[:, rep.layout.contacts] > 0.5
    near = (low.positions(norm(raw))[0, :, rep.feet, 1] < low.near_floor).numpy()  # (F, K)
    airborne = ~(stand[1:] & stand[:-1]).any(1) & (near[1:] | near[:-1]).any(1)  # (F-1,) steps t -> t+1
    assert 5 <= airborne.sum() < 0.2 * len(airborne)  # the test has teeth: such steps exist, and are few
    wrong = raw.copy()
    wrong[:-1][airborne, rep.layout.root_vel.start] += 5.0  # the root steps 5 cm too far on those frames only
    valid = torch.ones(1, len(raw), dtype=torch.bool)
    assert standing(norm(wrong), norm(raw), valid)[1].item() == pytest.approx(0.0, abs=1e-6)
    assert low(norm(wrong), norm(raw), valid)[1].item() > 0.01  # rounding alone stays under 1e-6
    assert low(norm(wrong), norm(raw), valid)[0].item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(GenAnimError, match="needs a foot_weight"):
        TrainConfig(low_feet=True)


@pytest.mark.parametrize("term, card_text", [({"drift_weight": 0.1}, "Plus 0.1 x the MSE of the running sums"),
                                              ({"root_weight": 0.5}, "Plus 0.5 x the MSE of the root trajectory"),
                                              ({"pos_weight": 1.0}, "Plus 1 x the MSE of the pose's joint positions"),
                                              ({"foot_weight": 0.5, "low_feet": True}, "(lift-off and landing).")])
def test_extra_loss_terms_train_and_are_on_the_card(tmp_path, term, card_text):
    from core.training.card import model_card

    plain = train(tiny(steps=2), tmp_path / "a", progress=False)
    extra = train(tiny(steps=2, **term), tmp_path / "b", progress=False)
    assert np.isfinite(extra["val_loss"]) and extra["val_loss"] > plain["val_loss"]  # same batches, one more term
    weights_file = tmp_path / "b" / "w.safetensors"
    meta = export_weights(tmp_path / "b" / CHECKPOINT, weights_file)
    card = model_card(load_checkpoint(tmp_path / "b" / CHECKPOINT), weights_file, meta, str(tmp_path / "b"))
    assert card_text in card
    assert "| hinge joints | LowerLeg_L, Toes_L, LowerLeg_R, Toes_R:" in card


def test_whole_take_crops_start_at_the_take_and_keep_it_whole():
    """p_whole_take crops are the item from its first frame, all of it where it fits the window; the
    others are cut as before. The batch marks as whole exactly the crops that are their whole item."""
    data = MotionSet(load_corpus(str(SAMPLES), progress=False), "train", False)
    x0, valid, _, _, whole = data.sample(np.random.default_rng(2), 64, 200, p_whole_take=1.0)
    n = valid.sum(1)
    for b in range(64):
        i = next(i for i, it in enumerate(data.items) if len(it) >= n[b] and np.array_equal(it[: n[b]], x0[b, : n[b]]))
        assert n[b] == min(len(data.items[i]), 200)
        assert whole[b] == (len(data.items[i]) <= 200)
    assert (n < 200).any() and (n == 200).any()  # short takes whole, long ones their first window
    _, mixed, _, _, whole = data.sample(np.random.default_rng(3), 400, 200, p_whole_take=0.5)
    assert 0.2 < (mixed.sum(1) < 200).mean() < 0.9
    assert 0.1 < whole.mean() < 0.9 and (mixed[whole].sum(1) < 200).all()


def test_length_buckets_group_items_of_similar_length_and_keep_their_odds():
    """With length_buckets, a batch's window is its longest item (at most the window asked for), far
    shorter on average than without, and every item is drawn about as often as without."""
    data = MotionSet(load_corpus(str(SAMPLES), progress=False), "train", False)
    assert data.lengths.min() < 100 < data.lengths.max()  # the test has teeth: short and long items

    def draws(buckets: int) -> tuple[list[int], np.ndarray]:
        windows, counts = [], np.zeros(len(data))
        for k in range(600):
            batch = data.sample(np.random.default_rng(k), 8, 300, p_whole_take=1.0, length_buckets=buckets)
            n = batch.valid.sum(1)
            windows.append(batch.x0.shape[1])
            assert batch.x0.shape[1] == (n.max() if buckets else 300) and batch.whole.all()
            for crop, m in zip(batch.x0, n, strict=True):
                counts[next(i for i, it in enumerate(data.items) if len(it) == m and np.array_equal(it, crop[:m]))] += 1
        return windows, counts / counts.sum()

    plain, odds = draws(0)
    bucketed, bucket_odds = draws(4)
    assert np.mean(bucketed) < 0.85 * np.mean(plain)
    np.testing.assert_allclose(bucket_odds, odds, atol=0.03)
