"""The model families the training loop knows: what each builds, how it takes one optimisation step,
how it is validated and what it exports. The loop itself (`train.py`) owns data, seeds,
checkpoints, distribution and logging.

    diffusion   transformer x0 denoiser (core/models/diffusion.py), conditional with label dropout
    vae, cvae   temporal-conv VAE (core/models/vae.py); vae: always the null label
    gan, cgan   temporal-conv GAN (core/models/gan.py); gan: always the null label
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GenAnimError
from ..models.diffusion import Denoiser, DenoiserConfig, Diffusion, num_params
from ..models.gan import Discriminator, feature_matching, hinge_d_loss, hinge_g_loss, r1_penalty
from ..models.latent_prior import LatentPrior, fit_latent_prior
from ..models.losses import PositionLoss, drift_mse, masked_mse
from ..models.temporal import ConvConfig, Decoder
from ..models.vae import MotionVAE, vae_loss
from ..motion.representation import ROOT_MOTION, ROOT_TRAJECTORY
from ..runtime.nn import step_phase
from .config import TrainConfig
from .data import drop_labels, random_constraints

FAMILIES = ("diffusion", "vae", "cvae", "gan", "cgan")
CONDITIONAL = {"diffusion": True, "vae": False, "cvae": True, "gan": False, "cgan": True}


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX). Elsewhere autocast emulates it,
    and a diffusion training step is about 13x slower than in float32 (AVX2 only; bench/bench_training.py)."""
    return any(getattr(torch.cpu, check, lambda: False)()
               for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def architecture_config(family: str, cfg: TrainConfig, dim: int, num_actions: int, num_styles: int):
    """The network config of a family with the run's overrides (`cfg.model`); unknown keys are an error."""
    kind = DenoiserConfig if family == "diffusion" else ConvConfig
    known = {f.name for f in fields(kind)} - {"dim", "num_actions", "num_styles"}
    bad = sorted(set(cfg.model) - known)
    if bad:
        raise GenAnimError(f"unknown {family} model settings {', '.join(bad)}; known: {', '.join(sorted(known))}")
    return kind(dim=dim, num_actions=num_actions, num_styles=num_styles, **cfg.model)


def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
            pe.lerp_(pm, 1 - decay)


def _frozen_copy(module: nn.Module, make) -> nn.Module:
    copy = make().to(next(module.parameters()).device).eval()
    copy.load_state_dict(module.state_dict())
    copy.requires_grad_(False)
    return copy


def _optimise(opt: torch.optim.Optimizer, loss: torch.Tensor, params, clip: float, lr: float,
              sync: bool = False) -> float:
    """One optimiser step on `loss`; `sync`: average the gradients over the data-parallel processes
    first (for networks not wrapped in DDP)."""
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    params = list(params)
    if sync:
        world = torch.distributed.get_world_size()
        for p in params:
            if p.grad is not None:
                torch.distributed.all_reduce(p.grad)
                p.grad /= world
    gnorm = torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()
    return float(gnorm)


class Family:
    """Base: `modules` and `optimizers` are checkpointed by name; `exported` is what sampling needs."""

    name: str
    full_windows = False  # train only on items of at least a window (no padded frames)
    bf16 = False  # the forward pass in bfloat16 autocast
    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]

    def __init__(self, name: str, cfg: TrainConfig, arch, dev: torch.device):
        self.name, self.cfg, self.arch, self.dev = name, cfg, arch, dev
        self.conditional = CONDITIONAL[name]

    def labels(self, rng: np.random.Generator, action: np.ndarray, style: np.ndarray, train: bool):
        """Label tensors of a batch: the null label for unconditional families, dropout for guidance."""
        if not self.conditional:
            action, style = np.full_like(action, -1), np.full_like(style, -1)
        elif train and self.cfg.label_dropout:
            action, style = drop_labels(rng, action, style, self.cfg.label_dropout)
        return torch.from_numpy(action).to(self.dev), torch.from_numpy(style).to(self.dev)

    def state(self) -> dict:
        return {"modules": {k: m.state_dict() for k, m in self.modules.items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()}}

    def load_state(self, state: dict) -> None:
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])

    @property
    def exported(self) -> nn.Module:
        return self.modules["ema"]

    @property
    def parameters(self) -> int:
        return num_params(self.exported)

    def wrap(self, wrapper) -> None:
        """Wrap the trained networks for data-parallel training (`wrapper(module) -> module`)."""
        raise NotImplementedError

    def step(self, batch, rng: np.random.Generator, gen: torch.Generator, lr: float, index: int) -> dict[str, float]:
        """One optimisation step (step `index` of the run) at learning rate `lr`; returns what to log."""
        raise NotImplementedError

    def validate(self, batch, rng: np.random.Generator, gen: torch.Generator) -> float:
        raise NotImplementedError


class _OneNetwork(Family):
    """A family trained as one network (`model`, wrapped for DDP as `net`) with AdamW and an EMA copy."""

    network: type[nn.Module]

    def __init__(self, name, cfg, arch, dev):
        super().__init__(name, cfg, arch, dev)
        self.model = self.network(arch).to(dev)
        self.modules = {"model": self.model, "ema": _frozen_copy(self.model, lambda: self.network(arch))}
        self.optimizers = {"opt": torch.optim.AdamW(self.model.parameters(), lr=cfg.lr,
                                                    weight_decay=cfg.weight_decay)}
        self.net = self.model

    def wrap(self, wrapper) -> None:
        self.net = wrapper(self.model)


class DiffusionFamily(_OneNetwork):
    network = Denoiser

    def __init__(self, name, cfg, arch, dev, position_loss: PositionLoss | None = None):
        super().__init__(name, cfg, arch, dev)
        if (cfg.pos_weight or cfg.foot_weight) and position_loss is None:
            raise GenAnimError("pos_weight and foot_weight need the skeleton's PositionLoss (make_family's "
                               "position_loss)")
        self.position_loss = position_loss
        self.diffusion = Diffusion(self.model)
        # cpu_bf16 asks for bfloat16 where the CPU computes it natively; elsewhere float32 is far faster
        self.bf16 = dev.type == "cuda" or (cfg.cpu_bf16 and native_bf16())
        if cfg.init_from:  # fine-tuning: start from a trained denoiser (both the trained and the EMA copy)
            _init_from(cfg.init_from, ("diffusion",), self.model, self.modules["ema"])

    def loss(self, net, batch, rng, gen, train: bool) -> torch.Tensor:
        """Masked x0 loss (+ velocity loss) of one batch; labels are dropped and constraints drawn from `rng`."""
        x0, valid, action, style, whole = batch
        cfg, dev = self.cfg, self.dev
        a, s = self.labels(rng, action, style, train)
        mask = random_constraints(rng, valid, x0.shape[-1], cfg.p_unconstrained, cfg.p_short_gap, cfg.p_context)
        x0, mask = torch.from_numpy(x0).to(dev), torch.from_numpy(mask).to(dev)
        valid_t = torch.from_numpy(valid).to(dev)
        t = torch.randint(0, self.arch.timesteps, (x0.shape[0],), generator=gen).to(dev)
        if train and cfg.p_high_noise:  # validation keeps even odds: its losses stay comparable across recipes
            top = torch.randint(int(0.9 * self.arch.timesteps), self.arch.timesteps, t.shape, generator=gen).to(dev)
            t = torch.where(torch.rand(t.shape, generator=gen).to(dev) < cfg.p_high_noise, top, t)
        noise = torch.randn(x0.shape, generator=gen).to(dev)
        x_t = self.diffusion.q_sample(x0, t, noise)
        whole_t = torch.from_numpy(whole).to(dev)
        prev = None
        if self.arch.self_condition:
            # half the items see their own estimate of this x_t (no gradient through it, constraints written
            # in as the sampler does), the other half zeros: the sampler's first step has no estimate yet
            use = (torch.rand(x0.shape[0], generator=gen) < 0.5).to(dev)
            prev = torch.zeros_like(x0)
            if use.any():
                with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.bf16):
                    first = net(x_t[use], t[use], a[use], s[use], x0[use], mask[use], valid_t[use], whole_t[use])
                prev[use] = x0[use] * mask[use] + first.float() * (1 - mask[use])
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.bf16):
            pred = net(x_t, t, a, s, x0, mask, valid_t, whole_t, prev)  # (B, L, D)
        pred = pred.float()
        loss = masked_mse(pred, x0, valid_t, cfg.vel_weight)
        if cfg.drift_weight:  # root velocities and turn rate: what decoding integrates into the path
            loss = loss + cfg.drift_weight * drift_mse(pred, x0, valid_t, ROOT_MOTION)
        if cfg.root_weight:  # 4 of D channels, yet they move every joint of the decoded clip
            root = ROOT_TRAJECTORY
            loss = loss + cfg.root_weight * masked_mse(pred[..., root], x0[..., root], valid_t, 0.0)
        if cfg.pos_weight or cfg.foot_weight:
            # joint positions: a hip's rotation error moves the whole leg, a toe's almost nothing;
            # standing feet: the root's path and the legs must agree, or the feet slide
            position, slide = self.position_loss(pred, x0, valid_t)
            loss = loss + cfg.pos_weight * position + cfg.foot_weight * slide
        return loss

    def step(self, batch, rng, gen, lr, index):
        self.model.train()
        loss = self.loss(self.net, batch, rng, gen, train=True)
        gnorm = _optimise(self.optimizers["opt"], loss, self.model.parameters(), self.cfg.grad_clip, lr)
        _ema_update(self.modules["ema"], self.model, self.cfg.ema)
        return {"loss": loss.item(), "grad_norm": gnorm}

    def validate(self, batch, rng, gen):
        with torch.no_grad():
            return self.loss(self.modules["ema"], batch, rng, gen, train=False).item()


def pad_to(x0: np.ndarray, valid: np.ndarray, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    """A length-bucketed batch padded to whole latent steps."""
    pad = -x0.shape[1] % multiple
    return np.pad(x0, ((0, 0), (0, pad), (0, 0))), np.pad(valid, ((0, 0), (0, pad)))


class VAEFamily(_OneNetwork):
    network = MotionVAE

    @property
    def exported(self) -> nn.Module:
        return self.modules["ema"].decoder

    def loss(self, net, batch, rng, gen, kl_weight: float, train: bool = False):
        x0, valid, action, style, _ = batch
        a, s = self.labels(rng, action, style, train)  # label dropout: the decoder also learns "any" for guidance
        rate = self.arch.rate
        x0, valid = pad_to(x0, valid, rate)
        x, v = torch.from_numpy(x0).to(self.dev), torch.from_numpy(valid).to(self.dev)
        noise = torch.randn(x.shape[0], self.arch.latent, x.shape[1] // rate, generator=gen).to(self.dev)
        recon, mu, logvar = net(x, v, a, s, noise)
        return vae_loss(recon, x, v, mu, logvar, rate, kl_weight, self.cfg.free_bits, self.cfg.vel_weight)

    def kl_weight(self, step: int) -> float:
        return self.cfg.kl_weight * min(1.0, (step + 1) / max(1, self.cfg.kl_warmup))

    def step(self, batch, rng, gen, lr, index):
        self.model.train()
        loss, rec, kl = self.loss(self.net, batch, rng, gen, self.kl_weight(index), train=True)
        gnorm = _optimise(self.optimizers["opt"], loss, self.model.parameters(), self.cfg.grad_clip, lr)
        _ema_update(self.modules["ema"], self.model, self.cfg.ema)
        return {"loss": loss.item(), "rec": rec.item(), "kl": kl.item(), "grad_norm": gnorm}

    def validate(self, batch, rng, gen):
        """Reconstruction loss plus the full-weight KL term (the annealing does not move the yardstick)."""
        with torch.no_grad():
            return self.loss(self.modules["ema"], batch, rng, gen, self.cfg.kl_weight)[0].item()


class GANFamily(Family):
    def __init__(self, name, cfg, arch, dev):
        super().__init__(name, cfg, arch, dev)
        # Windows cut from takes are full, or the discriminator would learn to spot padding. A decoder with
        # phase channels makes whole takes instead: those of several lengths share a batch, and the fakes
        # get the same padding as the real takes beside them.
        self.full_windows = not arch.phase
        self.gen_net = Decoder(arch).to(dev)
        self.disc = Discriminator(arch).to(dev)
        self.modules = {"generator": self.gen_net, "discriminator": self.disc,
                        "ema": _frozen_copy(self.gen_net, lambda: Decoder(arch))}
        betas = (0.5, 0.99)  # the usual GAN setting: little momentum, so D and G do not overshoot each other
        self.optimizers = {"g": torch.optim.Adam(self.gen_net.parameters(), lr=cfg.lr, betas=betas),
                           "d": torch.optim.Adam(self.disc.parameters(), lr=cfg.lr, betas=betas)}
        self.sync = False
        if cfg.init_from:  # a VAE decoder is the same network: adversarial training starts from it
            _init_from(cfg.init_from, ("vae", "cvae"), self.gen_net, self.modules["ema"])
        if cfg.prior == "fitted" and not cfg.init_from:
            raise GenAnimError("prior 'fitted' for a GAN needs init_from: the VAE run whose encoder defines it")
        self._prior = None

    @property
    def prior(self) -> LatentPrior | None:
        """The latents the VAE decoder works best from (core/models/latent_prior.py), with prior 'fitted':
        fitted on first use (about a minute), or brought back by a resumed checkpoint."""
        if self._prior is None and self.cfg.prior == "fitted":
            self._prior = fit_prior(init_checkpoint(self.cfg.init_from), self.cfg.prior_order)
        return self._prior

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        if "prior" in state:
            self._prior = LatentPrior.from_tensors(state["prior"])

    def state(self) -> dict:
        # The prior it trains on goes with the checkpoint: export then needs neither a refit nor the VAE run.
        return {**super().state(), **({"prior": self.prior.tensors()} if self.prior is not None else {})}

    def wrap(self, wrapper) -> None:
        # Not DDP: the R1 penalty differentiates through D twice, which DDP does not support, and the
        # generator's loss goes through D too; the gradients are averaged by hand instead.
        self.sync = True

    def fake(self, g, valid: np.ndarray, a, s, gen: torch.Generator) -> torch.Tensor:
        """(B, L, D) clips of the lengths of `valid` (B, L) bool (L a multiple of the rate), zero past their ends."""
        z = torch.randn(len(valid), self.arch.latent, valid.shape[1] // self.arch.rate, generator=gen)
        if self.prior is not None:
            phase = step_phase(valid.sum(1), z.shape[-1], self.arch.rate)
            z = torch.from_numpy(self.prior.transform(z.numpy(), a.cpu().numpy(), s.cpu().numpy(), phase=phase))
        out = g(z.to(self.dev), a, s, valid.sum(1))  # (B, L, D)
        return out * torch.from_numpy(valid[..., None]).to(out)

    def batch(self, batch, rng):
        """Real clips (B, L, D), padded to whole latent steps, their `valid` (B, L) and label tensors."""
        x0, valid, action, style, _ = batch
        x0, valid = pad_to(x0, valid, self.arch.rate)
        a, s = self.labels(rng, action, style, train=False)
        return torch.from_numpy(x0).to(self.dev), valid, a, s

    def step(self, batch, rng, gen, lr, index):
        real, valid, a, s = self.batch(batch, rng)
        self.gen_net.train()
        fake = self.fake(self.gen_net, valid, a, s, gen)
        real_logits, fake_logits = self.disc(torch.cat([real, fake.detach()]), torch.cat([a, a]),
                                             torch.cat([s, s])).chunk(2)
        d_loss = hinge_d_loss(real_logits, fake_logits)
        if self.cfg.r1_weight:
            d_loss = d_loss + 0.5 * self.cfg.r1_weight * r1_penalty(self.disc, real, a, s)
        _optimise(self.optimizers["d"], d_loss, self.disc.parameters(), self.cfg.grad_clip, lr, self.sync)
        fake_out, fake_h = self.disc(fake, a, s, features=True)
        g_loss = hinge_g_loss(fake_out)
        if self.cfg.feature_matching:
            with torch.no_grad():
                _, real_h = self.disc(real, a, s, features=True)
            g_loss = g_loss + self.cfg.feature_matching * feature_matching(real_h, fake_h)
        gnorm = _optimise(self.optimizers["g"], g_loss, self.gen_net.parameters(), self.cfg.grad_clip, lr,
                          self.sync)
        _ema_update(self.modules["ema"], self.gen_net, self.cfg.ema)
        return {"loss": g_loss.item(), "d_loss": d_loss.item(),
                "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(), "grad_norm": gnorm}

    def validate(self, batch, rng, gen):
        """Distance between per-feature mean and spread of EMA-generator clips and real validation
        windows (normalised units): low when the generator covers the data, high on collapse."""
        real, valid, a, s = self.batch(batch, rng)
        with torch.no_grad():
            fake = self.fake(self.modules["ema"], valid, a, s, gen)
        dist = (fake.mean((0, 1)) - real.mean((0, 1))).abs() + (fake.std((0, 1)) - real.std((0, 1))).abs()
        return dist.mean().item()


def init_checkpoint(run: str, families: tuple[str, ...] = ("vae", "cvae")) -> dict:
    """The checkpoint of run `run` (a run folder, checkpoint file or exported weights file), which must be one
    of `families`."""
    from .train import CHECKPOINT, checkpoint_config, load_checkpoint

    path = Path(run)
    path = path / CHECKPOINT if path.is_dir() else path
    kinds = " or ".join(families)
    if not path.is_file():
        raise GenAnimError(f"init_from {run}: no checkpoint there (train the {kinds} run first)")
    ck = load_checkpoint(path)
    family = checkpoint_config(ck)["family"]
    if family not in families:
        raise GenAnimError(f"init_from {run}: a {family} run; this one starts from a {kinds} run")
    return ck


def _init_from(run: str, families: tuple[str, ...], *nets: nn.Module) -> None:
    """Load the exported network of run `run` (one of `families`) into `nets`."""
    ck = init_checkpoint(run, families)
    for net in nets:
        try:
            net.load_state_dict(ck["exported"])
        except RuntimeError:
            raise GenAnimError(f"init_from {run}: its network is not this run's architecture "
                               "(use the same model settings)") from None


def ema_vae(ck: dict) -> MotionVAE:
    """The EMA encoder and decoder of a VAE/CVAE training checkpoint, in eval mode."""
    if "state" not in ck:
        raise GenAnimError("a fitted prior needs the VAE run's encoder: start from its run folder, not its "
                           "exported weights (they hold the decoder only)")
    vae = MotionVAE(ConvConfig(**ck["architecture"]))
    vae.load_state_dict(ck["state"]["modules"]["ema"])
    return vae.eval()


def fit_prior(ck: dict, order: int = 1, windows: int = 4096, seed: int = 0) -> LatentPrior:
    """The sampling prior of a VAE/CVAE checkpoint: fitted to its EMA encoder's posterior samples over
    `windows` training windows, `order` as TrainConfig.prior_order (core/models/latent_prior.py);
    deterministic for a checkpoint and seed.

    The windows are the clips as recorded, without the mirrored copies the model also trained on: the
    encoder maps mirrored motion to a second mode (channel means of the opposite sign), and one
    Gaussian over both modes would sample between them (measured: far lower action accuracy)."""
    from ..data.corpus import FeatureStats, load_corpus
    from .data import MotionSet
    from .train import checkpoint_config

    vae = ema_vae(ck)
    cfg = TrainConfig.from_dict(checkpoint_config(ck))
    stats = FeatureStats(ck["stats_mean"].numpy(), ck["stats_std"].numpy(), 0)
    train_set = MotionSet(load_corpus(cfg.data, progress=False), "train", False, stats)
    if not cfg.p_whole_take:  # windows cut from the middle of takes: only takes of a whole window
        train_set.keep_at_least(cfg.window)
    arch = vae.cfg
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    zs, steps, phases, actions, styles = [], [], [], [], []
    for _ in range(-(-windows // 256)):
        x0, valid, a, s, _ = train_set.sample(rng, 256, cfg.window, p_whole_take=cfg.p_whole_take)
        x0, valid = pad_to(x0, valid, arch.rate)  # as in training: the encoder halves lengths, steps are whole
        if not CONDITIONAL[cfg.family]:
            a, s = np.full_like(a, -1), np.full_like(s, -1)
        a_t, s_t = torch.from_numpy(a), torch.from_numpy(s)
        with torch.no_grad():
            mu, logvar = vae.encoder(torch.from_numpy(x0 * valid[..., None]), a_t, s_t,
                                     valid.sum(1)).chunk(2, dim=1)
        zs.append((mu + (0.5 * logvar.clamp(-10, 10)).exp() * torch.randn(mu.shape, generator=gen)).numpy())
        steps.append(valid.reshape(len(valid), -1, arch.rate).any(-1))  # latent steps inside each clip
        phases.append(step_phase(valid.sum(1), mu.shape[-1], arch.rate))
        actions.append(a)
        styles.append(s)
    return fit_latent_prior(np.concatenate(zs), np.concatenate(actions), np.concatenate(styles), arch.num_actions,
                            arch.num_styles, np.concatenate(steps),
                            np.concatenate(phases) if cfg.p_whole_take == 1 else None, order=order)


def make_family(name: str, cfg: TrainConfig, dim: int, num_actions: int, num_styles: int,
                dev: torch.device, position_loss: PositionLoss | None = None) -> Family:
    if name not in FAMILIES:
        raise GenAnimError(f"unknown model family {name!r}; trainable families: {', '.join(FAMILIES)}")
    arch = architecture_config(name, cfg, dim, num_actions, num_styles)
    if name == "diffusion":
        return DiffusionFamily(name, cfg, arch, dev, position_loss)
    kind = {"vae": VAEFamily, "cvae": VAEFamily, "gan": GANFamily, "cgan": GANFamily}[name]
    return kind(name, cfg, arch, dev)
