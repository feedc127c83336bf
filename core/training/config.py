"""Training configuration: a JSON file of `TrainConfig` fields (unknown keys are an error)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import GenAnimError

PRIORS = ("normal", "fitted")


@dataclass
class TrainConfig:
    family: str = "diffusion"  # diffusion, vae, cvae, gan or cgan (core/training/families.py)
    data: str = "bandai-namco"  # corpus source: folder of labelled BVH, archive, or 'bandai-namco'
    model: dict = field(default_factory=dict)  # network overrides: DenoiserConfig or ConvConfig fields
    window: int = 120  # frames per training window (4 s at 30 fps); shorter segments are padded and masked
    batch: int = 32  # windows per step, summed over all processes
    steps: int = 4000
    lr: float = 3e-4
    warmup: int = 200
    min_lr_frac: float = 0.1  # cosine decay to this fraction of lr
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    label_dropout: float = 0.1  # diffusion, VAE: for classifier-free guidance, p of dropping each label (and both)
    p_unconstrained: float = 0.3  # diffusion: fraction of windows trained without constraints
    p_short_gap: float = 0.0  # diffusion: fraction of in-betweening constraints with a short gap inside the window
    p_context: float = 0.45  # diffusion: fraction of constrained windows given context at the ends (in-betweening)
    p_random_length: float = 0.0  # fraction of windows cropped to a random shorter length (core/training/data.py)
    p_whole_take: float = 0.0  # fraction of windows that are a whole take from its start (up to the window); a
    # diffusion model with "whole_takes" in its model settings learns which are, and samples clips as whole takes
    length_buckets: int = 0  # > 1: batches of items of similar length, padded to their longest (MotionSet.sample)
    action_balance: float = 0.0  # items drawn by frames x (frames of their action)^-action_balance: 1 evens actions
    pair_balance: float = 0.0  # ... x (frames of their action-style pair)^-pair_balance: 1 evens label pairs
    kl_weight: float = 0.1  # VAE: weight of the KL term per feature element
    kl_warmup: int = 1000  # VAE: steps of linear KL annealing from 0
    free_bits: float = 0.05  # VAE: nats per latent channel and step below which KL is not penalised
    r1_weight: float = 1.0  # GAN: weight of the R1 gradient penalty on real clips
    feature_matching: float = 1.0  # GAN: weight of the generator's feature-matching loss
    vel_weight: float = 1.0  # weight of the frame-to-frame velocity loss
    drift_weight: float = 0.0  # diffusion: weight of the loss on running sums of root velocity errors (drift_mse)
    root_weight: float = 0.0  # diffusion: weight of the extra MSE on the root trajectory's own channels
    pos_weight: float = 0.0  # diffusion: weight of the MSE of the pose's joint positions (PositionLoss)
    foot_weight: float = 0.0  # diffusion: weight of the standing feet's world-step loss (PositionLoss)
    low_feet: bool = False  # diffusion: the world-step loss also over feet near the floor yet moving
    p_high_noise: float = 0.0  # diffusion: share of training draws with t in the top tenth of noise levels,
    # where sampling chooses a clip's phase and swing (the rest drawn evenly; validation draws evenly)
    cpu_bf16: bool = False  # diffusion: the denoiser's forward pass in bfloat16 autocast on the CPU as on CUDA
    # (where the CPU computes in bfloat16 natively: python bench/bench_training.py)
    ema: float = 0.998
    augment: bool = True  # left/right mirroring with label swap
    seed: int = 0
    threads: int = 2  # torch CPU threads per process
    val_every: int = 200
    val_batches: int = 4
    checkpoint_every: int = 200  # steps
    checkpoint_seconds: float = 180.0  # also save when this much wall time passed since the last save
    sample_steps: int = 10  # default DDIM steps of the exported model
    guidance: float = 2.5  # default guidance scale of the exported model (models trained with label dropout)
    temperature: float = 1.0  # VAE/GAN: default std of the exported model's latents
    smooth: float = 1.25  # sigma (frames) of the exported model's temporal low-pass on generated features
    prior: str = "normal"  # VAE/GAN latents: "normal" N(0, I), or "fitted" to the encoded training set (a GAN's
    # from its init_from VAE run, then also during training; core/models/latent_prior.py)
    prior_order: int = 1  # fitted prior along time: 0 one AR(1) per channel for all actions, P >= 1 a vector
    # autoregression on the last P latent steps per action
    init_from: str = ""  # run folder (checkpoint, or exported .safetensors) whose weights start this run: a
    # VAE/CVAE decoder for a GAN, a diffusion run for diffusion (fine-tuning)

    def __post_init__(self) -> None:
        if self.prior not in PRIORS:
            raise GenAnimError(f"prior {self.prior!r} is not one of {', '.join(PRIORS)}")
        if self.low_feet and not self.foot_weight:
            raise GenAnimError("low_feet widens the foot-slide loss: it needs a foot_weight above 0")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            where = ("; left/right pairs and foot joints belong to the data: list them in the library folder's "
                     "skeleton.json" if {"mirror_pairs", "foot_joints"} & set(unknown) else "")
            raise GenAnimError(f"unknown training settings {', '.join(unknown)}; known: {', '.join(sorted(names))}"
                               + where)
        return cls(**d)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as e:
            raise GenAnimError(f"{path}: cannot read training config ({e.strerror or e})") from None
        except ValueError as e:
            raise GenAnimError(f"{path}: not a JSON training config ({e})") from None
