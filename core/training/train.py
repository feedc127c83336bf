"""Training loop of every model family (core/training/families.py): one process, or data-parallel
under torchrun.

Determinism: the batch, the noise, the timesteps and dropout of step k are drawn from seeds
(seed, k, rank), never from state carried between steps, so a run resumed from the checkpoint
of step k continues exactly as the uninterrupted run. Checkpoints are written atomically
(temporary file, then rename), so the process may be killed at any moment.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from ..data.corpus import FeatureStats, load_corpus
from ..errors import GenAnimError
from ..models.losses import PositionLoss
from ..models.weights import load_weights, save_weights
from ..motion.hinges import Hinges, find_hinges, hinges_to_json
from ..motion.representation import representation_for
from ..motion.rotations import quat_to_matrix
from .config import TrainConfig
from .data import MotionSet
from .families import FAMILIES, fit_prior, init_checkpoint, make_family

CHECKPOINT = "checkpoint.pt"
# Settings a resumed run may change (they do not alter what a step computes).
MAY_CHANGE = {"steps", "threads", "val_every", "val_batches", "checkpoint_every", "checkpoint_seconds", "sample_steps",
              "guidance", "temperature", "smooth", "prior", "prior_order"}
# Exported sampling defaults; a config given to export overrides them.
SAMPLING = ("sample_steps", "guidance", "temperature", "smooth", "prior", "prior_order")


def _lr(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _digest(model: torch.nn.Module) -> str:
    """SHA-256 of all parameters' bytes (equal digests: identical weights)."""
    h = hashlib.sha256()
    for v in model.state_dict().values():
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def hardware(dev: torch.device) -> str:
    """The machine a run trains on, in words."""
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}"
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (info.read_text().splitlines() if info.is_file() else [])
             if line.startswith("model name")]
    name = names[0] if names else platform.processor() or "CPU"
    return f"{name} ({platform.machine()}), {os.cpu_count()} cores, torch {torch.__version__}"


def load_checkpoint(path: str | Path) -> dict:
    """A run's checkpoint, or the parts of one that an exported weights file (.safetensors) keeps: the EMA
    network, normalisation, config, labels and skeleton (so a run can start from shipped weights)."""
    if Path(path).suffix != ".safetensors":
        return torch.load(path, map_location="cpu", weights_only=True)
    tensors, meta = load_weights(path)
    return {
        "exported": {k[len("model."):]: v.float() for k, v in tensors.items() if k.startswith("model.")},
        "stats_mean": tensors["stats.mean"], "stats_std": tensors["stats.std"],
        "config": meta["config"], "architecture": meta["architecture"], "vocabulary": meta["vocabulary"],
        "skeleton": meta["skeleton"], "fps": meta["fps"], "step": meta["trained_steps"],
        "elapsed": meta["train_seconds"], "history": [],
    }


def checkpoint_config(ck: dict) -> dict:
    """The settings a checkpoint was trained with (a setting added since had its default then)."""
    return {**TrainConfig().to_dict(), **ck["config"]}


def config_differences(cfg: dict, ck: dict) -> list[str]:
    """Settings of `cfg` that would train differently from checkpoint `ck`."""
    trained = checkpoint_config(ck)
    # A GAN trains on its prior.
    may = MAY_CHANGE - ({"prior", "prior_order"} if trained["family"] in ("gan", "cgan") else set())
    return sorted(k for k, v in cfg.items() if k not in may and trained[k] != v)


def training_hinges(data: str, max_frames: int = 50_000) -> Hinges:
    """The hinge joints of the training split of `data` (`core.motion.hinges`), from up to `max_frames`
    evenly spread frames."""
    corpus = load_corpus(data)
    segs = corpus.segments("train")
    step = max(1, sum(s.num_frames for s in segs) // max_frames)
    rots = np.concatenate([corpus.segment_clip(s).rotations[::step] for s in segs])  # (N, J, 4)
    return find_hinges(quat_to_matrix(rots))


def export_weights(checkpoint: str | Path, out: str | Path, fp16: bool = True, sampling: dict | None = None) -> dict:
    """Write the EMA weights of a checkpoint as a .safetensors file with everything needed to sample;
    `sampling` may override the config's SAMPLING settings (they do not affect training)."""
    ck = load_checkpoint(checkpoint)
    ck["config"].update(sampling or {})
    tensors = {f"model.{k}": (v.half() if fp16 and v.is_floating_point() else v) for k, v in ck["exported"].items()}
    tensors["stats.mean"], tensors["stats.std"] = ck["stats_mean"], ck["stats_std"]
    cfg = checkpoint_config(ck)
    if cfg["prior"] == "fitted":  # latents from a prior fitted to the encoded training set (a GAN: its VAE's)
        if "prior" in ck["state"]:  # the prior a GAN trained on (checkpoints before it was stored: refitted)
            prior = ck["state"]["prior"]
        else:
            vae = ck if cfg["family"] in ("vae", "cvae") else init_checkpoint(cfg["init_from"])
            prior = fit_prior(vae, cfg["prior_order"]).tensors()
        # sampled in float32; the pairs' row table stays integer
        tensors.update({k: v.half() if fp16 and v.is_floating_point() else v for k, v in prior.items()})
    meta = {
        "kind": cfg["family"],
        "architecture": ck["architecture"],
        "vocabulary": ck["vocabulary"],
        "skeleton": ck["skeleton"],
        "fps": ck["fps"],
        "window": cfg["window"],
        "sample_steps": cfg["sample_steps"],
        "guidance": cfg["guidance"],
        "temperature": cfg["temperature"],
        "smooth": cfg["smooth"],
        "prior": cfg["prior"],
        "trained_steps": ck["step"],
        "train_seconds": ck["elapsed"],
        "config": ck["config"],
        "fp16": fp16,
        "hinges": hinges_to_json(training_hinges(cfg["data"]), tuple(ck["skeleton"]["names"])),
    }
    save_weights(out, tensors, meta)
    return meta


class _Progress:
    """tqdm bar on rank 0 (none elsewhere)."""

    def __init__(self, enabled: bool, start: int, total: int):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, desc="train", unit="step", file=sys.stderr, dynamic_ncols=True)

    def update(self, **post) -> None:
        if self.bar is not None:
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)

    def write(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        else:
            print(msg, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, device: str = "auto", progress: bool = True,
          stop_at: int | None = None) -> dict:
    """Train (or resume) into folder `out`; returns the summary. `stop_at`: leave once the run has made that
    many steps (of its `cfg.steps`), its checkpoint saved: a later `resume` goes on as if never stopped."""
    out = Path(out)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto"
                                                                                         else device))
    rank, world = 0, 1
    if distributed:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
    if cfg.batch % world:
        raise GenAnimError(f"batch {cfg.batch} does not split evenly over {world} processes")
    torch.set_num_threads(max(1, cfg.threads))
    main = rank == 0
    try:
        summary = _train(cfg, out, resume, dev, rank, world, progress and main, stop_at)
        if distributed:
            # The replicas leave together: one that tore gloo down while rank 0 still wrote the checkpoint
            # aborted at exit once (SIGABRT, tests/test_training.py's two-process run).
            dist.barrier()
        return summary
    finally:
        if distributed:
            dist.destroy_process_group()


def _train(cfg: TrainConfig, out: Path, resume: bool, dev: torch.device, rank: int, world: int, progress: bool,
           stop_at: int | None) -> dict:
    main = rank == 0
    ck_path = out / CHECKPOINT
    ck = None
    if resume:
        if not ck_path.is_file():
            raise GenAnimError(f"{ck_path}: no checkpoint to resume from (train without --resume to start)")
        ck = load_checkpoint(ck_path)
        changed = config_differences(cfg.to_dict(), ck)
        if changed:
            raise GenAnimError(f"{ck_path}: the checkpoint was trained with other settings ({', '.join(changed)}); "
                               "resume with the same config or train into a new folder")
    elif ck_path.is_file():
        raise GenAnimError(f"{ck_path} exists: pass --resume to continue it, or choose another output folder")

    t_load = time.time()
    corpus = load_corpus(cfg.data, progress=progress)
    # A run resumed, or started from another run's weights, keeps that run's feature normalisation.
    base = ck if ck is not None or not cfg.init_from else init_checkpoint(cfg.init_from, FAMILIES)
    stats = None if base is None else FeatureStats(base["stats_mean"].numpy(), base["stats_std"].numpy(), 0)
    train_set = MotionSet(corpus, "train", cfg.augment, stats)
    stats = train_set.stats
    val_set = MotionSet(corpus, "val", False, stats)
    voc = corpus.vocabulary
    torch.manual_seed(cfg.seed)  # same initial weights on every rank
    position_loss = None
    if cfg.family == "diffusion" and (cfg.pos_weight or cfg.foot_weight):
        position_loss = PositionLoss(representation_for(corpus.skeleton), stats.mean, stats.std, train_set.items,
                                     low_feet=cfg.low_feet)
    fam = make_family(cfg.family, cfg, train_set.dim, len(voc.actions), len(voc.styles), dev, position_loss)
    if fam.full_windows:
        train_set.keep_at_least(cfg.window)
        val_set.keep_at_least(cfg.window)
    step, elapsed, history, sittings = 0, 0.0, [], []
    if ck is not None:
        fam.load_state(ck["state"])
        step, elapsed, history, sittings = ck["step"], ck["elapsed"], ck["history"], ck.get("sittings", [])
    # Where and how each stretch of the run trained: a run resumed elsewhere may change both (the card says).
    sittings.append({"from_step": step, "hardware": hardware(dev),
                     "forward": "bfloat16 autocast" if fam.bf16 else "float32"})
    if world > 1:
        ids = [dev.index] if dev.type == "cuda" else None
        fam.wrap(lambda m: torch.nn.parallel.DistributedDataParallel(m, device_ids=ids))
    if main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")

    def save() -> None:
        _atomic_save({
            "step": step, "elapsed": elapsed, "history": history, "sittings": sittings, "config": cfg.to_dict(),
            "architecture": fam.arch.to_dict(), "state": fam.state(), "exported": fam.exported.state_dict(),
            "stats_mean": torch.from_numpy(stats.mean), "stats_std": torch.from_numpy(stats.std),
            "vocabulary": voc.to_json(), "skeleton": corpus.skeleton.to_json(), "fps": corpus.fps,
        }, ck_path)

    def validate() -> float:
        # Fixed windows, noise and labels (drawn from the seed), so values are comparable across steps and
        # across runs of the same seed.
        rng, gen = np.random.default_rng([cfg.seed, 999]), torch.Generator().manual_seed(cfg.seed + 999)
        batches = [val_set.sample(rng, min(cfg.batch, 64), cfg.window, p_whole_take=cfg.p_whole_take)
                   for _ in range(cfg.val_batches)]
        return float(np.mean([fam.validate(b, rng, gen) for b in batches]))

    if main:
        print(f"{cfg.family}: {fam.parameters / 1e6:.2f} M parameters to sample with, {len(train_set)} train items "
              f"({train_set.lengths.sum()} frames{', mirrors included' if cfg.augment else ''}), {len(val_set)} val "
              f"items, data ready in {time.time() - t_load:.1f} s, {world} process(es) on {dev}"
              + (f", resuming at step {step}" if ck is not None else ""), file=sys.stderr)
        if cfg.family == "diffusion" and cfg.cpu_bf16 and not fam.bf16:  # only on a CPU: CUDA always runs bf16
            print("cpu_bf16: this CPU has no native bfloat16 (AVX-512 BF16 or AMX), so the forward pass runs in "
                  "float32, many times faster here", file=sys.stderr)
    bar = _Progress(progress, step, cfg.steps)
    per_rank = cfg.batch // world
    t_last_save, t0 = time.time(), time.time()
    loss_avg = None
    last = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
    while step < last:
        rng = np.random.default_rng([cfg.seed, step, rank])
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 101 + rank)
        torch.manual_seed(cfg.seed * 7919 + step * 31 + rank)  # dropout
        batch = train_set.sample(rng, per_rank, cfg.window, cfg.action_balance, cfg.p_random_length,
                                 cfg.pair_balance, cfg.p_whole_take, cfg.length_buckets)
        logged = fam.step(batch, rng, gen, _lr(cfg, step), step)
        step += 1
        elapsed += time.time() - t0
        t0 = time.time()
        lv = logged["loss"]
        loss_avg = lv if loss_avg is None else 0.98 * loss_avg + 0.02 * lv
        bar.update(loss=f"{loss_avg:.4f}")
        if main:
            record = {"step": step, **{k: round(v, 5) for k, v in logged.items()}, "lr": _lr(cfg, step - 1)}
            if step % cfg.val_every == 0 or step == cfg.steps:
                record["val_loss"] = round(validate(), 5)
                bar.write(f"step {step}: train loss {loss_avg:.4f} (smoothed), val loss {record['val_loss']:.4f}")
            record["elapsed"] = round(elapsed, 1)
            history.append(record)
            due = time.time() - t_last_save > cfg.checkpoint_seconds
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or due:
                save()
                t_last_save = time.time()
            t0 = time.time()  # validation and saving do not count as training time
    bar.close()
    if main:
        save()
    vals = [r for r in history if "val_loss" in r]
    summary = {
        "steps": step, "target_steps": cfg.steps, "wall_seconds": round(elapsed, 1), "parameters": fam.parameters,
        "first_loss": history[0]["loss"] if history else None,
        "last_loss_avg": round(float(np.mean([r["loss"] for r in history[-50:]])), 5) if history else None,
        "val_loss": vals[-1]["val_loss"] if vals else None,
        "best_val_loss": min((r["val_loss"] for r in vals), default=None),
        "checkpoint": str(ck_path), "processes": world, "device": str(dev),
        "weights_digest": _digest(fam.exported),
    }
    if main:
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
