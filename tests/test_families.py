"""The VAE/CVAE/GAN/CGAN families: networks, losses, training (seeds, resume), export, generation,
errors, and the side-by-side comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SAMPLES

from core.cli import main
from core.errors import GenAnimError
from core.generation import load_generator
from core.models.gan import Discriminator
from core.models.latent_prior import LatentPrior, fit_latent_prior, standard_latents
from core.models.temporal import ConvConfig, Decoder
from core.models.vae import MotionVAE, vae_loss
from core.training.config import TrainConfig
from core.training.train import CHECKPOINT, export_weights, load_checkpoint, train

NET = {"latent": 8, "widths": [32, 16, 16], "blocks": 1, "label_width": 8}
TINY = {"data": str(SAMPLES), "model": NET, "window": 32, "batch": 4, "steps": 6, "warmup": 2, "val_every": 3,
        "val_batches": 1, "checkpoint_every": 2, "threads": 1, "kl_warmup": 4}
LATENT = ("vae", "cvae", "gan", "cgan")


def tiny(family: str, **kw) -> TrainConfig:
    return TrainConfig.from_dict({**TINY, "family": family, **kw})


def state(run: Path) -> dict[str, torch.Tensor]:
    st = load_checkpoint(run / CHECKPOINT)["state"]
    return {f"{m}.{k}": v for m, sd in st["modules"].items() for k, v in sd.items()}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> dict[str, Path]:
    """Each family trained for a few steps and exported as <family>.safetensors."""
    root = tmp_path_factory.mktemp("families")
    paths = {}
    for fam in LATENT:
        train(tiny(fam), root / fam, progress=False)
        paths[fam] = root / f"{fam}.safetensors"
        export_weights(root / fam / CHECKPOINT, paths[fam])
    return paths


def test_decoder_serves_any_length_and_labels_matter():
    cfg = ConvConfig(dim=12, num_actions=3, num_styles=2, **NET)
    dec = Decoder(cfg).eval()
    z = torch.from_numpy(standard_latents([0, 1], cfg.latent, 5))  # (2, 8, 5)
    with torch.no_grad():
        x = dec(z, torch.tensor([0, -1]), torch.tensor([1, -1]))
        y = dec(z, torch.tensor([2, -1]), torch.tensor([1, -1]))
    assert x.shape == (2, 5 * cfg.rate, 12)
    assert not torch.allclose(x[0], y[0]) and torch.allclose(x[1], y[1])  # only the labelled sample changes
    assert np.array_equal(standard_latents([1], 8, 5)[0], z[1].numpy())  # a seed: the same latents alone or in a batch


def test_vae_loss_kl_and_free_bits():
    cfg = ConvConfig(dim=12, num_actions=3, num_styles=2, **NET)
    x = torch.randn(2, 16, 12)
    valid = torch.ones(2, 16, dtype=torch.bool)
    zero = torch.zeros(2, cfg.latent, 4)
    _, rec, kl = vae_loss(x, x, valid, zero, zero, cfg.rate, 1.0, 0.0, 1.0)
    assert rec.item() == 0 and kl.item() == 0  # perfect reconstruction, posterior = prior
    loss, _, kl = vae_loss(x, x, valid, zero + 1, zero, cfg.rate, 1.0, 0.0, 0.0)
    assert kl.item() == pytest.approx(0.5 * cfg.latent)  # KL(N(1, 1) || N(0, 1)) = 0.5 per channel
    free, _, _ = vae_loss(x, x, valid, zero, zero, cfg.rate, 1.0, 0.25, 0.0)
    assert free.item() == pytest.approx(0.25 * cfg.latent / (cfg.rate * 12))  # free bits: a floor per channel
    vae = MotionVAE(cfg)
    recon, mu, logvar = vae(x, valid, torch.tensor([0, 1]), torch.tensor([0, 1]), torch.randn(2, cfg.latent, 4))
    assert recon.shape == x.shape and mu.shape == (2, cfg.latent, 4)


def test_discriminator_scores_every_latent_step_and_projects_labels():
    cfg = ConvConfig(dim=12, num_actions=3, num_styles=2, **NET)
    d = Discriminator(cfg).eval()
    x = torch.randn(1, 24, 12)
    with torch.no_grad():
        a = d(x, torch.tensor([0]), torch.tensor([0]))
        b = d(x, torch.tensor([1]), torch.tensor([0]))
    assert a.shape == (1, 24 // cfg.rate) and not torch.allclose(a, b)


@pytest.mark.parametrize("family", LATENT)
def test_training_is_seeded_and_resumes_exactly(family, tmp_path):
    full = train(tiny(family), tmp_path / "full", progress=False)
    assert full["steps"] == 6 and np.isfinite(full["val_loss"])
    train(tiny(family), tmp_path / "part", progress=False, stop_at=3)
    train(tiny(family), tmp_path / "part", resume=True, progress=False)
    a, b = state(tmp_path / "full"), state(tmp_path / "part")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    train(tiny(family, seed=1), tmp_path / "other", progress=False)
    other = state(tmp_path / "other")
    assert any(not torch.equal(a[k], other[k]) for k in a)


def test_cpu_bf16_is_silent_where_it_does_nothing(tmp_path, capsys, monkeypatch):
    """`cpu_bf16` only changes a diffusion run; a VAE run that sets it gets no note about its forward pass."""
    from core.training import families

    monkeypatch.setattr(families, "native_bf16", lambda: False)
    train(tiny("vae", cpu_bf16=True, steps=1), tmp_path / "v", progress=False)
    assert "bfloat16" not in capsys.readouterr().err


def test_gan_trains_on_full_windows_only(tmp_path):
    with pytest.raises(GenAnimError, match="no item has 100000 frames"):
        train(tiny("gan", window=100000), tmp_path / "g", progress=False)


def test_phase_channels_make_whole_takes_of_any_length(tmp_path):
    """With phase channels the decoder knows where in its clip each step is: the same latents decode
    differently as the start of a long take and as a whole short one. A CVAE and a CGAN started from it
    train on whole takes of several lengths padded into one batch (the GAN keeps takes shorter than a
    window), and the GAN's fakes are padded as the real takes beside them are. The CVAE's prior means
    follow each action through a take; it makes whole takes only, and says so when asked for an excerpt."""
    from core.training.families import make_family

    cfg = ConvConfig(dim=12, num_actions=3, num_styles=2, phase=2, **NET)
    dec = Decoder(cfg).eval()
    z = torch.from_numpy(standard_latents([0], cfg.latent, 6))  # 6 steps of 4 frames
    a, s = torch.tensor([0]), torch.tensor([1])
    with torch.no_grad():
        long, short = dec(z, a, s, [24]), dec(z, a, s, [9])
    assert not torch.allclose(long[:, :9], short[:, :9])
    whole = {"model": {**NET, "phase": 2}, "window": 64, "p_whole_take": 1.0, "length_buckets": 2, "prior": "fitted"}
    train(tiny("cvae", **whole), tmp_path / "cvae", progress=False)
    export_weights(tmp_path / "cvae" / CHECKPOINT, tmp_path / "cvae.safetensors")
    gen = load_generator(str(tmp_path / "cvae.safetensors"), "cpu")
    rows = gen.arch["num_actions"] + 1 + (gen.prior.pairs >= 0).sum()  # each action, all, each pair of its own
    assert gen.prior.phase_shift.shape[:2] == (rows, 8)  # means through a whole take
    assert gen.generate("walk", None, 1.1, seed=2)[0].num_frames == 33
    with pytest.raises(GenAnimError, match="makes whole takes only"):
        gen.generate("walk", None, 1.0, excerpt=True)
    gan_cfg = tiny("cgan", **whole, init_from=str(tmp_path / "cvae"))
    train(gan_cfg, tmp_path / "cgan", progress=False)
    arch = load_checkpoint(tmp_path / "cgan" / CHECKPOINT)["architecture"]
    gan = make_family("cgan", gan_cfg, arch["dim"], arch["num_actions"], arch["num_styles"], torch.device("cpu"))
    assert not gan.full_windows
    valid = np.arange(16)[None] < np.array([[16], [5]])  # (2, 16): a clip of 16 frames and one of 5
    fake = gan.fake(gan.gen_net, valid, torch.tensor([0, 1]), torch.tensor([0, -1]), torch.Generator())
    assert fake.shape == (2, 16, arch["dim"]) and (fake[1, 5:] == 0).all() and (fake[1, :5] != 0).any()


@pytest.mark.parametrize("family", LATENT)
def test_generate_lengths_seeds_and_finite(family, shipped):
    gen = load_generator(str(shipped[family]), "cpu")
    assert gen.kind == family and gen.conditional == (family in ("cvae", "cgan"))
    action = "walk" if gen.conditional else None
    clips = gen.generate(action, None, 2.1, count=2, seed=5)
    assert [c.num_frames for c in clips] == [63, 63]  # any length, not only multiples of the latent rate
    again = gen.generate(action, None, 2.1, count=1, seed=6)[0]
    np.testing.assert_allclose(again.rotations, clips[1].rotations, atol=1e-4)  # batched convs round differently
    assert not np.array_equal(clips[0].rotations, clips[1].rotations)
    pos = clips[0].global_positions()
    assert np.isfinite(pos).all()
    assert gen.generate(action, None, 8.0)[0].num_frames == 240


def test_latent_models_explain_what_they_cannot_do(shipped):
    uncond, cond = load_generator(str(shipped["gan"]), "cpu"), load_generator(str(shipped["cvae"]), "cpu")
    with pytest.raises(GenAnimError, match="unconditional: it takes no action or style"):
        uncond.generate("walk", None, 1.0)
    with pytest.raises(GenAnimError, match="cannot fill gaps"):
        cond.inbetween(cond.generate("walk", None, 2.0)[0], 10, 30)
    with pytest.raises(GenAnimError, match="no sampler steps"):
        cond.generate("walk", None, 1.0, steps=5)
    with pytest.raises(GenAnimError, match="known"):
        cond.generate("moonwalk", None, 1.0)


def test_train_and_generate_commands(shipped, tmp_path, capsys):
    cfg = tmp_path / "gan.json"
    cfg.write_text(json.dumps({**TINY, "family": "gan"}))
    assert main(["train", "--model", "cvae", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    assert "a config for the gan model, not cvae" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TINY, "family": "vae", "model": {"depth": 3}}))
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "unknown vae model settings depth" in capsys.readouterr().err
    out = tmp_path / "clips"
    assert main(["generate", "--model", str(shipped["vae"]), "--seconds", "1", "--count", "2", "--out", str(out)]) == 0
    side = json.loads((out / "any_any_seed1.json").read_text())
    assert side["model"] == "vae" and side["action"] is None and "one pass" in side["settings"]["sampler"]
    assert main(["generate", "--model", str(shipped["vae"]), "--action", "walk", "--out", str(out / "x")]) == 2
    assert "unconditional" in capsys.readouterr().err


def test_export_card_describes_the_family(shipped, tmp_path):
    run = shipped["cgan"].parent / "cgan"
    out = tmp_path / "cgan.safetensors"
    assert main(["export", str(run), "--out", str(out)]) == 0
    card = out.with_suffix(".md").read_text()
    assert card.startswith("# Motion CGAN") and "discriminator by projection" in card and "hinge loss" in card
    assert "--model cgan" in card and "Not yet measured" in card


def test_compare_scores_every_model_and_fills_cards(shipped, tmp_path):
    from core.data.corpus import load_corpus
    from core.evaluation.compare import compare, fill_card, write_compare_report
    from core.evaluation.recognizer import train_recognizer
    from core.evaluation.suite import Evaluator, real_set

    corpus = load_corpus(str(SAMPLES))
    train_set = real_set(corpus, "train")
    acts, stys = sorted(set(train_set.actions)), sorted(set(train_set.styles))
    rec = train_recognizer(train_set.features, np.array([acts.index(a) for a in train_set.actions]),
                           np.array([stys.index(s) for s in train_set.styles]), acts, stys, steps=30, batch=8,
                           progress=False)
    gens = [load_generator(str(shipped[f]), "cpu") for f in ("cvae", "gan")]
    # the samples have no take-split group: their validation excerpts are the reference here
    refs, rows = compare(gens, Evaluator(rec, real_set(corpus, "val", "real val"), train_set))
    assert [r.row["set"] for r in refs][:2] == ["real val", "real train"]
    cvae, gan = (r.row for r in rows)
    assert cvae["n"] == gan["n"] == len(corpus.segments("val"))
    assert cvae["action_acc"] is not None and gan["action_acc"] is None  # unconditional: no accuracy
    assert cvae["parameters"] == gens[0].parameters and cvae["sample_ms"] > 0 and np.isfinite(gan["fid"])
    assert gan["fid_floor"] > 0 and 0 <= gan["precision"] <= 1
    report = write_compare_report(tmp_path / "rep", refs, rows, "python -m core evaluate compare")
    text = report.read_text()
    assert "| cvae" in text and "(bar: within 15%)" in text and (tmp_path / "rep" / "features_pca.png").exists()
    card = tmp_path / "cvae.md"
    card.write_text("# x\n\n## Evaluation\n\nNot yet measured.\n\n## Licence and credit\n\nCC BY-NC 4.0\n")
    fill_card(card, refs, rows[0], "python -m core evaluate compare", report)
    filled = card.read_text()
    assert "Not yet measured" not in filled and "| cvae" in filled and filled.endswith("CC BY-NC 4.0\n")


def test_cvae_guidance_and_temperature(shipped):
    gen = load_generator(str(shipped["cvae"]), "cpu")
    plain = gen.generate("walk", "normal", 1.0, guidance=1.0)[0].rotations
    guided = gen.generate("walk", "normal", 1.0, guidance=3.0)[0].rotations
    assert not np.allclose(plain, guided)
    np.testing.assert_allclose(gen.generate(None, None, 1.0, guidance=3.0)[0].rotations,
                               gen.generate(None, None, 1.0, guidance=1.0)[0].rotations)  # nothing to guide
    gen.temperature = 0.0  # every seed decodes the mean latent
    np.testing.assert_allclose(gen.generate("walk", None, 1.0, seed=0)[0].rotations,
                               gen.generate("walk", None, 1.0, seed=9)[0].rotations)
    with pytest.raises(GenAnimError, match="guidance needs labels"):
        load_generator(str(shipped["vae"]), "cpu").generate(None, None, 1.0, guidance=2.0)


def test_gan_starts_from_a_vae_decoder(shipped, tmp_path):
    vae_run = shipped["cvae"].parent / "cvae"
    train(tiny("cgan", init_from=str(vae_run), steps=1), tmp_path / "g", progress=False, stop_at=0)
    start = load_checkpoint(tmp_path / "g" / CHECKPOINT)["state"]["modules"]["generator"]
    decoder = load_checkpoint(vae_run / CHECKPOINT)["exported"]
    assert all(torch.equal(start[k], decoder[k]) for k in decoder)
    with pytest.raises(GenAnimError, match="a cgan run; this one starts from a vae or cvae run"):
        train(tiny("gan", init_from=str(shipped["cgan"].parent / "cgan")), tmp_path / "h", progress=False)
    with pytest.raises(GenAnimError, match="no checkpoint there"):
        train(tiny("gan", init_from=str(tmp_path / "nothing")), tmp_path / "i", progress=False)


def test_fitted_prior_recovers_the_latent_statistics():
    rng = np.random.default_rng(0)
    n, c, t, rho = 4000, 3, 12, np.array([0.0, 0.5, 0.9])
    e = rng.standard_normal((n, c, t))
    z = np.zeros_like(e)
    z[..., 0] = e[..., 0]
    for k in range(1, t):
        z[..., k] = rho * z[..., k - 1] + np.sqrt(1 - rho**2) * e[..., k]
    action, style = rng.integers(-1, 2, n), rng.integers(0, 2, n)
    z = 0.5 * z + np.array([1.0, -2.0, 0.0])[:, None]
    prior = fit_latent_prior(z, action, style, 2, 2, pairs=False)
    np.testing.assert_allclose(np.diagonal(prior.ar[:, 0], axis1=1, axis2=2), np.broadcast_to(rho, (3, c)), atol=0.05)
    cov = prior.scale @ prior.scale.transpose(0, 2, 1)  # per action, and over all windows
    np.testing.assert_allclose(cov, np.broadcast_to(0.25 * np.eye(c), cov.shape), atol=0.02)
    np.testing.assert_allclose(prior.action_shift, 0.0, atol=0.05)
    noise = np.random.default_rng(1).standard_normal((4000, c, t))
    samples = prior.transform(noise, np.full(4000, 1), np.full(4000, -1))
    np.testing.assert_allclose(samples.mean((0, 2)), [1.0, -2.0, 0.0], atol=0.05)
    centred = samples - samples.mean((0, 2), keepdims=True)
    lag1 = (centred[..., 1:] * centred[..., :-1]).mean((0, 2)) / centred.var((0, 2))
    np.testing.assert_allclose(lag1, rho, atol=0.05)
    shifted = fit_latent_prior(z + 2.0 * (action == 1)[:, None, None], action, style, 2, 2)
    np.testing.assert_allclose(shifted.action_shift[1] - shifted.action_shift[0], [2.0, 2.0, 2.0], atol=0.05)
    moved = shifted.transform(noise, np.full(4000, 1), np.full(4000, -1)).mean((0, 2))
    np.testing.assert_allclose(moved, z[action == 1].mean((0, 2)) + 2.0, atol=0.1)
    # Channels that move together in one action's windows only are sampled together for that action only.
    linked = z.copy()
    linked[action == 1, 2] = linked[action == 1, 0] - 1.0
    both = fit_latent_prior(linked, action, style, 2, 2)

    def corr(act: int) -> float:
        x = both.transform(noise, np.full(4000, act), np.full(4000, -1))
        return float(np.corrcoef(x[:, 0].flatten(), x[:, 2].flatten())[0, 1])

    assert corr(1) > 0.95 and abs(corr(0)) < 0.05
    # Steps outside their clip (whole takes padded to one length) do not count: garbage there changes nothing.
    padded = np.concatenate([z, rng.normal(50.0, 9.0, (n, c, 5))], 2)
    valid = np.arange(t + 5)[None] < t
    masked = fit_latent_prior(padded, action, style, 2, 2, np.broadcast_to(valid, (n, t + 5)), pairs=False)
    for name in ("mean", "action_shift", "style_shift", "scale", "ar", "innovation"):
        np.testing.assert_allclose(getattr(masked, name), getattr(prior, name), atol=1e-5)
    # Weights exported before the covariance (a spread per channel) still load, as independent channels.
    old = {k: v for k, v in prior.tensors().items() if k != "prior.scale"}
    old["prior.std"] = torch.tensor([0.5, 0.4, 0.3])
    np.testing.assert_allclose(LatentPrior.from_tensors(old).scale[1], np.diag([0.5, 0.4, 0.3]))


def test_prior_of_a_pair_follows_its_own_windows():
    """An action and style pair whose latents differ from the sum of its action's and style's offsets, and whose
    channels move together, is sampled as its windows are; a pair with too few windows, or a clip asked for
    without a style, keeps the action's Gaussian. The row table survives the weights file (fp16 floats)."""
    rng = np.random.default_rng(0)
    n, c, t = 4000, 2, 10
    z = rng.standard_normal((n, c, t))
    action, style = rng.integers(0, 2, n), rng.integers(0, 2, n)
    rare = np.flatnonzero((action == 0) & (style == 1))[10:]
    style[rare] = 0  # pair (0, 1): 10 windows
    both = (action == 1) & (style == 1)
    z[both, 0] += 3.0
    z[both, 1] = z[both, 0]
    prior = fit_latent_prior(z, action, style, 2, 2)
    assert prior.pairs[1, 1] >= 0 and prior.pairs[0, 1] == -1
    noise = rng.standard_normal((2000, c, t))

    def sample(p, a: int, s: int) -> np.ndarray:
        return p.transform(noise, np.full(2000, a), np.full(2000, s))

    x = sample(prior, 1, 1)
    np.testing.assert_allclose(x.mean((0, 2)), [3.0, 3.0], atol=0.1)
    assert np.corrcoef(x[:, 0].flatten(), x[:, 1].flatten())[0, 1] > 0.95
    assert np.corrcoef(*(sample(prior, 1, -1)[:, k].flatten() for k in (0, 1)))[0, 1] < 0.9
    alone = fit_latent_prior(z, action, style, 2, 2, pairs=False)
    np.testing.assert_allclose(sample(prior, 0, 1), sample(alone, 0, 1), atol=1e-5)
    stored = LatentPrior.from_tensors({k: v.half() if v.is_floating_point() else v for k, v in prior.tensors().items()})
    np.testing.assert_array_equal(stored.pairs, prior.pairs)
    np.testing.assert_allclose(sample(stored, 1, 1), x, atol=0.02)


def test_autoregressive_prior_keeps_a_rhythm():
    """A latent pair turning 144 degrees a step (a wave's swing at the latent rate) alternates sign from step
    to step: one AR(1) per channel, clipped at 0, samples it as noise; the vector autoregression keeps the
    turn, for the action that has it only."""
    rng = np.random.default_rng(0)
    n, t, r, angle = 2000, 30, 0.9, 2 * np.pi / 2.5
    turn = r * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    z = rng.standard_normal((n, 2, t))
    action = np.arange(n) % 2  # action 1 turns, action 0 is white noise
    for k in range(1, t):
        z[action == 1, :, k] = z[action == 1, :, k - 1] @ turn.T + np.sqrt(1 - r * r) * z[action == 1, :, k]
    style = np.zeros(n, int)

    def lags(x: np.ndarray) -> np.ndarray:  # autocorrelation at 1 and 2 steps
        x = x - x.mean((0, 2), keepdims=True)
        return np.array([(x[..., k:] * x[..., :-k]).mean() / x.var() for k in (1, 2)])

    noise = rng.standard_normal((n, 2, t)).astype(np.float32)
    for order in (1, 2):
        prior = fit_latent_prior(z, action, style, 2, 1, order=order)
        np.testing.assert_allclose(lags(prior.transform(noise, np.ones(n, int), style)), lags(z[action == 1]),
                                   atol=0.05)
        np.testing.assert_allclose(lags(prior.transform(noise, np.zeros(n, int), style)), 0.0, atol=0.05)
    legacy = fit_latent_prior(z, action, style, 2, 1, order=0)
    assert abs(lags(legacy.transform(noise, np.ones(n, int), style))).max() < 0.05  # lag 1 is -0.73 in the data


def test_fitted_prior_is_exported_and_sampled(shipped, tmp_path, monkeypatch):
    run = shipped["cvae"].parent / "cvae"
    out = tmp_path / "cvae.safetensors"
    export_weights(run / CHECKPOINT, out, sampling={"prior": "fitted"})
    export_weights(run / CHECKPOINT, tmp_path / "again.safetensors", sampling={"prior": "fitted"})
    gen = load_generator(str(out), "cpu")
    assert gen.prior is not None and gen.meta["prior"] == "fitted"
    assert np.array_equal(gen.prior.mean, load_generator(str(tmp_path / "again.safetensors"), "cpu").prior.mean)
    assert load_generator(str(shipped["cvae"]), "cpu").prior is None  # the default stays N(0, I)
    gen.temperature = 0.0  # every seed decodes the labels' mean latents
    np.testing.assert_allclose(gen.generate("walk", None, 1.0, seed=0)[0].rotations,
                               gen.generate("walk", None, 1.0, seed=5)[0].rotations)
    assert not np.allclose(gen.generate("walk", None, 1.0, seed=0)[0].rotations,
                           gen.generate(None, None, 1.0, seed=0)[0].rotations)
    gan = tmp_path / "gan"
    train(tiny("cgan", init_from=str(run), prior="fitted", steps=2), gan, progress=False, stop_at=1)
    with monkeypatch.context() as m:  # the checkpoint holds the prior the GAN trained on: no refit
        m.setattr("core.training.families.fit_prior", lambda *a, **k: pytest.fail("refitted the GAN's prior"))
        m.setattr("core.training.train.fit_prior", lambda *a, **k: pytest.fail("refitted the GAN's prior"))
        train(tiny("cgan", init_from=str(run), prior="fitted", steps=2), gan, resume=True, progress=False)
        export_weights(gan / CHECKPOINT, tmp_path / "cgan.safetensors")
    assert np.array_equal(load_generator(str(tmp_path / "cgan.safetensors"), "cpu").prior.scale, gen.prior.scale)
    with pytest.raises(GenAnimError, match="needs init_from"):
        train(tiny("cgan", prior="fitted"), tmp_path / "g", progress=False)
    with pytest.raises(GenAnimError, match="prior 'wide' is not one of normal, fitted"):
        tiny("cvae", prior="wide")
