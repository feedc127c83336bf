"""Training of the controller: rollouts with scheduled sampling (Motion VAE), checkpoints, export.

Each step draws windows of `rollout + 1 + 30` frames and rolls the model forward `rollout` frames.
With probability p (ramped from 0 to 1 over training) a sample continues from its own prediction
instead of the real frame, so the model learns to recover from its own errors (no drift). The
control at every step is the real future trajectory expressed relative to where the rolled-out
root actually is, so a model that strays learns to steer back.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..data.corpus import load_corpus
from ..errors import GenAnimError
from ..motion.representation import ROOT_MOTION
from .data import LOCOMOTION, ControlSet
from .model import ControllerConfig, ControllerNet, control_vector_torch
from .trajectory import TRAJ_FRAMES

DEFAULTS = {"data": "bandai-namco", "hidden": 256, "latent": 32, "emb": 16, "rollout": 8, "batch": 128,
            "steps": 20000, "lr": 3e-4, "beta": 0.2, "p_action_drop": 0.3, "p_style_drop": 0.1,
            "sched_start": 0.1, "sched_end": 0.5, "max_minutes": 28.0, "seed": 0, "threads": 1}


def load_config(path: str | Path | None) -> dict:
    cfg = dict(DEFAULTS)
    if path is not None:
        try:
            cfg.update(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as e:
            raise GenAnimError(f"{path}: cannot read the controller config ({e})") from None
    return cfg


def rollout_loss(net: ControllerNet, x: torch.Tensor, track: torch.Tensor, action: torch.Tensor,
                 style: torch.Tensor, rollout: int, p_own: float, beta: float, vel_mean: torch.Tensor,
                 vel_std: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, float, float]:
    """x (B, L, D) normalised windows, track (B, L, 3) real root x, z, yaw -> (loss, recon, kl)."""
    num_b = x.shape[0]
    fut = torch.tensor(TRAJ_FRAMES)
    cur = x[:, 0]
    pos, yaw = track[:, 0, :2].clone(), track[:, 0, 2].clone()
    recon = kl = 0.0
    for t in range(rollout):
        target = x[:, t + 1]
        ctrl = control_vector_torch(pos, yaw, track[:, t + fut, :2], track[:, t + fut, 2])
        mu, logvar = net.encode(cur, target)
        z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(0.5 * logvar)
        pred = net.decode(z, cur, ctrl, style, action)
        recon = recon + ((pred - target) ** 2).sum(-1).mean()
        kl = kl + (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)).mean()
        # The root moves by the velocity of the frame it is in (raw units), as decode integrates it.
        v = cur[:, :3].detach() * vel_std + vel_mean  # (B, 3): vx, vz (heading frame), yaw rate
        c, s = torch.cos(yaw), torch.sin(yaw)
        pos = pos + torch.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1]], -1)
        yaw = yaw + v[:, 2]
        own = (torch.rand(num_b, 1, generator=gen) < p_own).float()
        cur = own * pred + (1 - own) * target
    recon, kl = recon / rollout, kl / rollout
    return recon + beta * kl, recon.item(), kl.item()


def train(config: str | Path | None, out: str | Path, resume: bool = False, log=print) -> Path:
    """Train (or continue) a run in `out`; returns the checkpoint path. Stops at `steps` or `max_minutes`."""
    cfg = load_config(config)
    torch.set_num_threads(int(cfg["threads"]))
    out = Path(out)
    ckpt = out / "checkpoint.pt"
    if ckpt.exists() and not resume:
        raise GenAnimError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus(cfg["data"])
    t0 = time.time()
    data = ControlSet(corpus, "train", augment=True)
    val = ControlSet(corpus, "val", augment=False, stats=data.stats)
    log(f"data: {len(data)} train items ({data.lengths.sum()} frames), {len(val)} val, {time.time() - t0:.0f} s")
    voc = corpus.vocabulary
    mcfg = ControllerConfig(dim=data.dim, num_actions=len(voc.actions), num_styles=len(voc.styles),
                            latent=cfg["latent"], hidden=cfg["hidden"], emb=cfg["emb"])
    torch.manual_seed(cfg["seed"])
    net = ControllerNet(mcfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    step, elapsed = 0, 0.0
    if resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, elapsed = int(state["step"]), float(state["elapsed"])
        log(f"resumed at step {step} ({elapsed / 60:.1f} min)")
    rng = np.random.default_rng(cfg["seed"] + step)
    gen = torch.Generator().manual_seed(cfg["seed"] + step)
    mean = torch.from_numpy(data.stats.mean[ROOT_MOTION].copy())
    std = torch.from_numpy(data.stats.std[ROOT_MOTION].copy())
    length = cfg["rollout"] + 1 + max(TRAJ_FRAMES)
    total, budget = int(cfg["steps"]), 60.0 * float(cfg["max_minutes"])
    start = time.time() - elapsed

    def save() -> None:
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": step,
                    "elapsed": time.time() - start}, out / "checkpoint.tmp")
        (out / "checkpoint.tmp").replace(ckpt)
        (out / "run.json").write_text(json.dumps({"config": cfg, "model": mcfg.to_json(), "step": step,
                                                  "minutes": (time.time() - start) / 60,
                                                  "vocabulary": voc.to_json(), "fps": corpus.fps,
                                                  "actions_trained": list(LOCOMOTION)}, indent=2))
        np.savez(out / "stats.npz", mean=data.stats.mean, std=data.stats.std)

    def batch(ds: ControlSet, r: np.random.Generator):
        x, tr, a, s = ds.sample(r, cfg["batch"], length)
        return torch.from_numpy(x), torch.from_numpy(tr), torch.from_numpy(a), torch.from_numpy(s)

    while step < total and time.time() - start < budget:
        frac = max(step / total, (time.time() - start) / budget)  # the schedule ends on time either way
        p_own = min(1.0, max(0.0, (frac - cfg["sched_start"]) / (cfg["sched_end"] - cfg["sched_start"])))
        for g in opt.param_groups:  # cosine decay to a tenth
            g["lr"] = cfg["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        x, tr, a, s = batch(data, rng)
        a = torch.where(torch.rand(len(a), generator=gen) < cfg["p_action_drop"], -1, a)
        s = torch.where(torch.rand(len(s), generator=gen) < cfg["p_style_drop"], -1, s)
        loss, rec, kl = rollout_loss(net, x, tr, a, s, cfg["rollout"], p_own, cfg["beta"], mean, std, gen)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 200 == 0:
            with torch.no_grad():
                vx, vtr, va, vs = batch(val, np.random.default_rng(123))
                _, vrec, _ = rollout_loss(net, vx, vtr, va, vs, cfg["rollout"], 1.0, cfg["beta"], mean, std,
                                          torch.Generator().manual_seed(1))
            log(f"step {step} p_own {p_own:.2f} recon {rec:.3f} kl {kl:.2f} val_rollout_recon {vrec:.3f} "
                f"{(time.time() - start) / 60:.1f} min")
        if step % 500 == 0:
            save()
    save()
    log(f"stopped at step {step} after {(time.time() - start) / 60:.1f} min")
    return ckpt


def standing_frame(corpus) -> np.ndarray:
    """(D,) raw features of a standing frame: the slowest of the first frames of the normal walks."""
    from ..motion.representation import representation_for

    rep = representation_for(corpus.skeleton)
    best, frame = np.inf, None
    for seg in corpus.segments("train"):
        info = corpus.clips[seg.clip]
        if info.action == "walk" and info.style == "normal":
            f = rep.encode(corpus.segment_clip(seg))[:10]
            speed = np.linalg.norm(f[:, :2], axis=-1)
            if speed.min() < best:
                best, frame = speed.min(), f[speed.argmin()]
    if frame is None:
        raise GenAnimError("the corpus has no normal walk to take a standing frame from")
    return frame


def export(run: str | Path, out: str | Path, half: bool = True) -> Path:
    """Weights file (safetensors; fp16 tensors when `half`) from a run folder."""
    from ..models.weights import save_weights

    run = Path(run)
    if not (run / "checkpoint.pt").is_file():
        raise GenAnimError(f"{run}: no checkpoint.pt; train first (python -m core control train)")
    info = json.loads((run / "run.json").read_text())
    state = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    stats = np.load(run / "stats.npz")
    corpus = load_corpus(info["config"]["data"])
    dtype = torch.float16 if half else torch.float32
    tensors = {f"model.{k}": v.to(dtype) for k, v in state.items()}
    tensors["stats.mean"] = torch.from_numpy(stats["mean"])
    tensors["stats.std"] = torch.from_numpy(stats["std"])
    tensors["start.frame"] = torch.from_numpy(standing_frame(corpus)).float()
    meta = {"kind": "controller", "model": info["model"], "vocabulary": info["vocabulary"], "fps": info["fps"],
            "skeleton": corpus.skeleton.to_json(), "step": info["step"], "minutes": info["minutes"],
            "config": info["config"], "actions_trained": info["actions_trained"]}
    save_weights(out, tensors, meta)
    return Path(out)
