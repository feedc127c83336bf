"""The model card of exported weights (any family), written from the checkpoint by `python -m core export`:
every number in it comes from the checkpoint, the corpus or the exported file."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

from ..data.corpus import load_corpus
from ..models.latent_prior import MIN_WINDOWS, PHASE_PARTS
from ..runtime.decoder import latent_rate
from .data import MAX_SHORT_GAP, MIN_CROP

EVALUATION_PLACEHOLDER = """## Evaluation

Not yet measured. The numbers of this section come from the evaluation suite only (issue 3):
`python -m core evaluate compare --models NAME ... --report DIR` fills this section of each VAE/GAN
card it scores, e.g.

    python -m core evaluate compare --models diffusion cvae cgan vae gan --report docs/evaluation/models
"""

REPO = Path(__file__).resolve().parents[2]
TITLES = {
    "diffusion": "Motion diffusion model (default generator)",
    "cvae": "Motion CVAE (conditional variational autoencoder)",
    "vae": "Motion VAE (unconditional variational autoencoder)",
    "cgan": "Motion CGAN (conditional generative adversarial network)",
    "gan": "Motion GAN (unconditional generative adversarial network)",
}
LOSSES = {
    "diffusion": "Losses are the x0 MSE plus the frame-velocity MSE on normalised features; the validation loss "
                 "uses fixed validation windows, noise levels and constraints (drawn from the run's seed) with the EMA "
                 "weights.",
    "vae": "Train loss: the annealed objective; validation loss: reconstruction + velocity MSE + the full-weight "
           "KL term on fixed validation windows with the EMA weights.",
    "gan": "Train loss: the generator's hinge loss; validation loss: mean absolute difference of per-feature mean "
           "and spread between EMA-generator windows and real validation windows (normalised units; rises on "
           "mode collapse).",
}
LOSSES["cvae"], LOSSES["cgan"] = LOSSES["vae"], LOSSES["gan"]


def _architecture(family: str, arch: dict, cfg: dict) -> list[tuple[str, str]]:
    if family == "diffusion":
        return [
            ("architecture", f"transformer denoiser predicting x0: frames grouped {arch['patch']} to a token, "
                             f"{arch['layers']} pre-norm layers, width {arch['width']}, {arch['heads']} heads, "
                             f"MLP {arch['ff']}, one condition token (time + action + style"
                             + (" + whole take or excerpt" if arch.get("whole_takes") else "") + "), constraint values "
                             "and mask as input channels"
                             + (", the previous step's estimate too (self-conditioning)" if arch.get("self_condition")
                                else "") + ", zero-initialised temporal convolution after unpatching"
                             + (f", a frame-resolution head of {arch['frame_head']} channels (each frame's inputs and "
                                "its token's features, modulated by the condition) added to the token output"
                                if arch.get("frame_head") else "")),
            ("diffusion", f"cosine schedule, T = {arch['timesteps']}; default sampler DDIM, {cfg['sample_steps']} "
                          f"steps at t = (T - 1) sqrt(1 - u^2) for u evenly spaced (shortest at high noise), "
                          f"classifier-free guidance {cfg['guidance']}; windows of {cfg['window']} frames, "
                          "longer clips by windows overlapping a quarter, blended at every step"),
            ("conditioning", f"random constraints during training ({1 - cfg['p_unconstrained']:.0%} of windows): "
                             f"{cfg['p_context']:.0%} context frames at the ends"
                             + (f" ({cfg['p_short_gap']:.0%} of these: context, a gap of 1 to {MAX_SHORT_GAP} "
                                "frames, context)" if cfg["p_short_gap"] else "")
                             + ", the rest sparse keyframes or the root trajectory"),
        ]
    rate = latent_rate(arch["widths"])
    nets = (f"fully convolutional decoder: {arch['latent']} latent channels per {rate} frames, upsampled x2 "
            f"{len(arch['widths']) - 1} times through widths {', '.join(map(str, arch['widths']))} with "
            f"{arch['blocks']} residual blocks (kernel {arch['kernel']}, GroupNorm, label bias) at each rate; any "
            f"clip length in one pass; trained on windows of {cfg['window']} frames")
    whole = bool(arch.get("phase")) and cfg.get("p_whole_take") == 1  # each clip a whole take
    if arch.get("phase"):
        nets += (f"; {arch['phase']} sin/cos pairs of each step's place in its clip as input channels of both "
                 "networks, so that a clip is a whole take from rest to rest")
    latents = (f"N(0, {cfg['temperature']:g}^2 I)" if cfg["prior"] == "normal" else
               "a Gaussian fitted to the encoder's posterior over the training clips as recorded"
               + (f" of the VAE run `{cfg['init_from']}` (also the GAN's training latents)" if "gan" in family else "")
               + " (mean shifted by the action's and the style's offsets"
               + (f" and by the action's mean in each of {PHASE_PARTS} equal parts of a whole take" if whole else "")
               + ", channel covariance of the action's windows, "
               + ({0: "AR(1) along time", 1: "a vector autoregression on the previous latent step per action"}
                  .get(cfg.get("prior_order", 1), f"a vector autoregression on the last {cfg.get('prior_order')} "
                       "latent steps per action"))
               + (f"; an action and style pair with at least {MIN_WINDOWS} of the encoded windows has means, "
                  "covariance and autoregression of its own, fitted alike to its windows"
                  if family in ("cvae", "cgan") and cfg.get("prior_order", 1) >= 1 else "")
               + f", spread x {cfg['temperature']:g}; `core/models/latent_prior.py`)")
    sampling = f"samples: latents from {latents}, temporal low-pass sigma {cfg['smooth']:g} frames" + (
        f", classifier-free guidance {cfg['guidance']:g} on the decoder's output" if cfg["guidance"] != 1 else "")
    if family in ("vae", "cvae"):
        dropout = f", label dropout {cfg['label_dropout']} (for guidance)" if family == "cvae" else ""
        return [("architecture", nets + "; a mirrored strided encoder gives the Gaussian posterior"),
                ("objective", f"reconstruction MSE + velocity MSE (weight {cfg['vel_weight']}) + KL weight "
                              f"{cfg['kl_weight']} per feature element, annealed over {cfg['kl_warmup']} steps, "
                              f"free bits {cfg['free_bits']} nats per channel and step{dropout}; {sampling}")]
    trained_on = (f"whole takes of up to {cfg['window']} frames (the fakes padded as the real takes beside them)"
                  if cfg.get("p_whole_take") == 1 else f"the train items of at least {cfg['window']} frames")
    return [("architecture", nets + " (the generator); discriminator: spectrally normalised strided temporal "
                                    "convolution scoring every latent step, projection on the labels"),
            ("objective", f"hinge loss + R1 penalty (weight {cfg['r1_weight']}) for D, hinge + feature matching "
                          f"(weight {cfg['feature_matching']}) for G, one D and one G step per batch, Adam betas "
                          f"(0.5, 0.99), EMA of the generator, trained on {trained_on}; {sampling}")]


def _sampling(cfg: dict) -> str:
    """How training windows were drawn, where a run changed it from every frame equally likely."""
    parts = []
    factors = [f" x (frames of their {what})^-{cfg[key]:g}" for key, what in
               (("action_balance", "action"), ("pair_balance", "action-style pair")) if cfg[key]]
    if factors:
        parts.append("items drawn by frames" + "".join(factors) + " (rare labels more often)")
    if cfg.get("p_whole_take") == 1:
        parts.append("every window a whole take from its first frame (up to the window)")
    elif cfg.get("p_whole_take"):
        parts.append(f"{cfg['p_whole_take']:.0%} of windows a whole take from its first frame (up to the window; "
                     "the model is told which windows are whole takes)")
    if cfg.get("p_random_length"):
        parts.append(f"{cfg['p_random_length']:.0%} of windows cropped to a random length ({MIN_CROP} frames up to "
                     "the window) from anywhere in a segment")
    if cfg.get("length_buckets", 0) > 1:
        parts.append(f"each batch the items of similar length among {cfg['length_buckets']} drawn batches, padded "
                     "to the longest of them")
    return "".join(f"; {p}" for p in parts)


def _base_run(run: str) -> str:
    """What a run that starts from another run's weights starts from, and how that run was trained (back to
    the first run of a chain of fine-tunings)."""
    from .config import TrainConfig
    from .families import FAMILIES, init_checkpoint
    from .train import checkpoint_config, config_differences

    ck = init_checkpoint(run, FAMILIES)
    trained = checkpoint_config(ck)
    family = trained["family"]
    if Path(run).suffix == ".safetensors":  # shipped weights: their own model card tells the runs before
        return (f"the {family} weights `{run}` ({ck['step']} steps, {ck['elapsed'] / 60:.1f} min; "
                "their model card tells how they were trained)")
    # The shipped config of that run, named if one matches it.
    config = next((f"configs/{p.name}" for p in sorted((REPO / "configs").glob(f"{family}*.json"))
                   if not config_differences(TrainConfig.load(p).to_dict(), ck)), None)
    how = (f"`python -m core train --model {family} --config {config} --out {run}`" if config
           else "the config stored in its checkpoint")
    what = "the decoder" if family in ("vae", "cvae") else "the weights"
    before = f"; that run starts from {_base_run(trained['init_from'])}" if trained.get("init_from") else ""
    return (f"{what} of the {family} run `{run}` ({ck['step']} steps, {ck['elapsed'] / 60:.1f} min), "
            f"trained by {how}{before}")


def _labels(family: str, meta: dict, cfg: dict) -> str:
    voc = f"{len(meta['vocabulary']['actions'])} actions, {len(meta['vocabulary']['styles'])} styles (union vocabulary)"
    if family in ("vae", "gan"):
        return "none: unconditional (the same networks as the conditional form, always given the null label)"
    if family == "diffusion":
        return f"{voc}; either may be left out (condition dropout {cfg['label_dropout']} each and both)"
    return f"{voc}; both networks take them" + ("" if family == "cvae" else " (the discriminator by projection)")


def _curve(history: list[dict]) -> list[str]:
    rows = [r for r in history if "val_loss" in r]
    out = ["| step | train loss (mean of the last 50 steps) | validation loss |", "|---|---|---|"]
    for r in rows:
        window = [h["loss"] for h in history if r["step"] - 50 < h["step"] <= r["step"]]
        out.append(f"| {r['step']} | {sum(window) / len(window):.4f} | {r['val_loss']:.4f} |")
    return out


def _forward(checkpoint: dict, cfg: dict) -> str:
    """The forward pass's precision, as each sitting of the run trained (older checkpoints: as the config asked)."""
    sittings = checkpoint.get("sittings") or [{"forward": "bfloat16 autocast" if cfg.get("cpu_bf16") else "float32"}]
    kinds = {s["forward"] for s in sittings}
    if len(kinds) > 1:
        return ", the denoiser's forward pass in " + "; ".join(
            f"{s['forward']} from step {s['from_step']}" for s in sittings)
    return ", the denoiser's forward pass in bfloat16 (autocast)" if kinds == {"bfloat16 autocast"} else ""


def _hardware(checkpoint: dict) -> str:
    """Where the run trained: each sitting's machine (older checkpoints kept none: the exporting machine's)."""
    sittings = checkpoint.get("sittings")
    if not sittings:
        return f"{platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs), torch {torch.__version__}"
    machines = list(dict.fromkeys(s["hardware"] for s in sittings))
    if len(machines) == 1:
        return machines[0]
    return "; ".join(f"{s['hardware']} from step {s['from_step']}" for s in sittings)


def model_card(checkpoint: dict, weights: Path, meta: dict, run: str, config_path: str | None = None,
               fp16_note: str | None = None, overrides: dict | None = None) -> str:
    """The model card; `overrides`: settings the training command line gave over the config file's."""
    from .train import checkpoint_config

    cfg = checkpoint_config(checkpoint)
    family = cfg["family"]
    params = sum(v.numel() for v in checkpoint["exported"].values())
    corpus = load_corpus(cfg["data"])
    train, val = corpus.segments("train"), corpus.segments("val")
    size = weights.stat().st_size
    dtype = {v.dtype for k, v in checkpoint["exported"].items() if v.is_floating_point()}
    config = config_path or "CONFIG.json"
    command = f"python -m core train --model {family} --config {config} --out {run}" + "".join(
        f" --{k} {v}" for k, v in (overrides or {}).items())
    export = f"python -m core export {run} --config {config} --out {weights}" + ("" if meta["fp16"] else " --fp32")
    facts = [
        ("file", f"`{weights.name}` ({size / 2**20:.1f} MiB, safetensors, "
                 f"{'fp16' if meta.get('fp16') else 'fp32'} weights; trained in {', '.join(map(str, dtype))})"),
        *_architecture(family, checkpoint["architecture"], cfg),
        ("parameters", f"{params:,} (what sampling needs)"),
        *([("precision", fp16_note)] if fp16_note else []),
        ("data", f"`{cfg['data']}`: Bandai Namco Research Motiondataset 1 + 2 (CC BY-NC 4.0), train split "
                 f"({len(train)} segments, {sum(s.num_frames for s in train):,} frames at {corpus.fps:g} fps)"
                 + (" plus left/right mirrored copies with swapped labels" if cfg["augment"] else "")
                 + f"; validation split ({len(val)} segments) for the validation loss" + _sampling(cfg)),
        ("labels", _labels(family, meta, cfg)),
        *([("hinge joints", f"{', '.join(meta['hinges'])}: each turns about one axis of its own in the training "
                            "frames; the leg IK of the clean-up bends knees about theirs (`core/motion/hinges.py`)")]
          if meta.get("hinges") else []),
        ("training", f"{checkpoint['step']} steps of batch {cfg['batch']}, "
                     f"{'Adam' if family in ('gan', 'cgan') else 'AdamW'} lr {cfg['lr']} (warm-up "
                     f"{cfg['warmup']}, cosine to {cfg['min_lr_frac']}x), EMA {cfg['ema']}, seed {cfg['seed']}, "
                     f"{cfg['threads']} torch thread(s)" + _forward(checkpoint, cfg)),
        *([("starts from", _base_run(cfg["init_from"]))] if cfg["init_from"] else []),
        ("training time", f"{checkpoint['elapsed'] / 60:.1f} min of optimisation steps (validation and "
                          "checkpoint writing not counted)"),
        ("hardware", _hardware(checkpoint)),
        ("command", f"`{command}`, then `{export}`"),
    ]
    lines = [
        f"# {TITLES[family]}",
        "",
        f"Generates clips (`python -m core generate --model {weights.stem}`, `core.generation.load_generator`)"
        + (" and fills gaps between kept poses (`python -m core inbetween`)" if family == "diffusion" else "")
        + ". This card was written by `python -m core export` from the training checkpoint.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts),
        "",
        "## Training curve",
        "",
        LOSSES[family] + (f" Plus {cfg['drift_weight']:g} x the MSE of the running sums of the root velocity and "
                          "turn-rate errors (`drift_mse`)." if cfg["drift_weight"] else "")
        + (f" Plus {cfg['root_weight']:g} x the MSE of the root trajectory's channels alone (velocity, turn rate, "
           "height)." if cfg.get("root_weight") else "")
        + (f" Plus {cfg['pos_weight']:g} x the MSE of the pose's joint positions, each coordinate divided by its "
           "spread over the training frames (`PositionLoss`)." if cfg.get("pos_weight") else "")
        + (f" Plus {cfg['foot_weight']:g} x the MSE of the standing feet's steps across the floor, root path "
           "included, in centimetre-sized units (`PositionLoss`)" + (", and of the steps of feet near the floor yet "
           "moving (lift-off and landing)" if cfg.get("low_feet") else "") + "." if cfg.get("foot_weight") else "")
        + (f" {cfg['p_high_noise']:.0%} of the training noise levels t are drawn from the top tenth, the rest "
           "evenly (the validation loss's all evenly)." if cfg.get("p_high_noise") else ""),
        "",
        *_curve(checkpoint["history"]),
        "",
        "## Training config",
        "",
        "```json",
        json.dumps(cfg, indent=2),
        "```",
        "",
        EVALUATION_PLACEHOLDER,
        "## Licence and credit",
        "",
        "Trained on the Bandai Namco Research Motiondataset (Kobayashi et al. 2023, \"Motion Capture Dataset",
        "for Practical Use of AI-based Motion Editing and Stylization\", arXiv:2306.08861), licensed CC BY-NC",
        "4.0: these weights and what they generate are for non-commercial use, with attribution.",
        "",
    ]
    return "\n".join(lines)
