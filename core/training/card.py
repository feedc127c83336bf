"""The model card of exported diffusion weights, written from the checkpoint by `python -m core export`:
every number in it comes from the checkpoint, the corpus or the exported file."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

from ..data.corpus import load_corpus

EVALUATION_PLACEHOLDER = """## Evaluation

Not yet measured. The numbers of this section come from the evaluation suite only (issue 3), e.g.:

    python -m core generate --like val --out DIR --threads 1    # one clip per validation segment
    python -m core evaluate clips DIR --report REPORT_DIR
    python -m core evaluate inbetween --model diffusion --report REPORT_DIR
"""


def _curve(history: list[dict]) -> list[str]:
    rows = [r for r in history if "val_loss" in r]
    out = ["| step | train loss (mean of the last 50 steps) | validation loss |", "|---|---|---|"]
    for r in rows:
        window = [h["loss"] for h in history if r["step"] - 50 < h["step"] <= r["step"]]
        out.append(f"| {r['step']} | {sum(window) / len(window):.4f} | {r['val_loss']:.4f} |")
    return out


def model_card(checkpoint: dict, weights: Path, meta: dict, run: str, config_path: str | None = None,
               fp16_note: str | None = None) -> str:
    cfg = checkpoint["config"]
    params = sum(v.numel() for v in checkpoint["ema"].values())
    den = checkpoint["denoiser"]
    corpus = load_corpus(cfg["data"])
    train, val = corpus.segments("train"), corpus.segments("val")
    size = weights.stat().st_size
    dtype = {v.dtype for k, v in checkpoint["ema"].items() if v.is_floating_point()}
    config = config_path or "CONFIG.json"
    command = f"python -m core train --model diffusion --config {config} --out {run}"
    export = f"python -m core export {run} --config {config} --out {weights}" + ("" if meta["fp16"] else " --fp32")
    facts = [
        ("file", f"`{weights.name}` ({size / 2**20:.1f} MiB, safetensors, "
                 f"{'fp16' if meta.get('fp16') else 'fp32'} weights; trained in {', '.join(map(str, dtype))})"),
        ("architecture", f"transformer denoiser predicting x0: frames grouped {den['patch']} to a token, "
                         f"{den['layers']} pre-norm layers, width {den['width']}, {den['heads']} heads, "
                         f"MLP {den['ff']}, one condition token (time + action + style), constraint values "
                         "and mask as input channels, zero-initialised temporal convolution after unpatching"),
        ("parameters", f"{params:,}"),
        *([("precision", fp16_note)] if fp16_note else []),
        ("diffusion", f"cosine schedule, T = {den['timesteps']}; default sampler DDIM, {cfg['sample_steps']} steps, "
                      f"classifier-free guidance {cfg['guidance']}; windows of {cfg['window']} frames, longer "
                      "clips by windows overlapping a quarter, blended at every step"),
        ("data", f"`{cfg['data']}`: Bandai Namco Research Motiondataset 1 + 2 (CC BY-NC 4.0), train split "
                 f"({len(train)} segments, {sum(s.num_frames for s in train):,} frames at {corpus.fps:g} fps)"
                 + (" plus left/right mirrored copies with swapped labels" if cfg["augment"] else "")
                 + f"; validation split ({len(val)} segments) for the validation loss"),
        ("labels", f"{len(meta['vocabulary']['actions'])} actions, {len(meta['vocabulary']['styles'])} styles "
                   "(union vocabulary); either may be left out (condition dropout "
                   f"{cfg['label_dropout']} each and both)"),
        ("conditioning", f"random constraints during training ({1 - cfg['p_unconstrained']:.0%} of windows): "
                         "context frames at the ends, sparse keyframes, root trajectory"),
        ("training", f"{checkpoint['step']} steps of batch {cfg['batch']}, AdamW lr {cfg['lr']} (warm-up "
                     f"{cfg['warmup']}, cosine to {cfg['min_lr_frac']}x), EMA {cfg['ema']}, seed {cfg['seed']}, "
                     f"{cfg['threads']} torch thread(s)"),
        ("training time", f"{checkpoint['elapsed'] / 60:.1f} min of optimisation steps (validation and "
                          "checkpoint writing not counted)"),
        ("hardware", f"{platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs), torch "
                     f"{torch.__version__}"),
        ("command", f"`{command}`, then `{export}`"),
    ]
    lines = [
        "# Motion diffusion model (default generator)",
        "",
        "Generates clips of an action in a style and fills gaps between kept poses (`python -m core generate`,",
        "`python -m core inbetween`, `core.generation.load_generator`). This card was written by",
        "`python -m core export` from the training checkpoint.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in facts),
        "",
        "## Training curve",
        "",
        "Losses are the x0 MSE plus the frame-velocity MSE on normalised features; the validation loss uses",
        "fixed validation windows, noise levels and constraints with the EMA weights.",
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
