"""The generators: one class per kind of model behind `load_generator` (diffusion, VAE/GAN decoders)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..arguments import check_range
from ..data.labels import Vocabulary
from ..errors import GenAnimError, MotionDataError
from ..motion.clip import Clip
from ..motion.hinges import hinges_from_json
from ..motion.representation import ROOT_MOTION, UP, representation_for
from ..motion.rotations import wrap_angle, yaw_matrix
from ..motion.skeleton import Skeleton
from ..runtime.decoder import latent_rate

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
CONTEXT = 30  # kept frames each side of an in-between gap that the model sees
MAX_SECONDS = 120.0
MAX_COUNT = 1000  # clips a call generates (sampled `Generator.batch` at a time)
MAX_GUIDANCE = 20.0  # classifier-free guidance; 0 samples without labels, 1 without guidance
MAX_STEPS = 1000  # the diffusion schedule's timesteps: more sampler steps than these are not taken
LATENT_FAMILIES = ("vae", "cvae", "gan", "cgan")
SMOOTH_FRAMES = 1.25  # sigma of the temporal low-pass on generated features (frames)


class Cancelled(GenAnimError):
    """The progress callback asked to stop."""

    def __init__(self) -> None:
        super().__init__("cancelled")


BACKENDS = ("auto", "torch", "numpy")


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except (ImportError, OSError):  # OSError: an install whose libraries do not load
        return False
    return True


def resolve_backend(backend: str) -> str:
    """"torch" or "numpy": auto picks torch where it imports, the numpy runtime otherwise."""
    if backend not in BACKENDS:
        raise GenAnimError(f"unknown backend {backend!r}; expected {', '.join(BACKENDS)}")
    if backend == "auto":
        return "torch" if torch_available() else "numpy"
    if backend == "torch" and not torch_available():
        raise GenAnimError("backend 'torch' asked for, but PyTorch is not installed; use --backend numpy or auto")
    return backend


def resolve_device(device: str, backend: str = "torch") -> str:
    if backend == "numpy":
        if device == "cuda":
            raise GenAnimError("device 'cuda' needs PyTorch with CUDA; GenAnim's numpy runtime runs on the CPU: choose "
                               "device cpu or auto, or install PyTorch")
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GenAnimError("device 'cuda' asked for, but this PyTorch sees no CUDA GPU; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise GenAnimError(f"unknown device {device!r}; expected cpu, cuda or auto")
    return device


def load_generator(model: str = "diffusion", device: str = "auto", weights_dir: str | Path | None = None,
                   backend: str = "auto") -> Generator:
    """A generator from shipped weights (`weights/<model>.safetensors`) or a .safetensors path, sampling
    with torch (on `device`) or with the numpy runtime (`backend`: auto picks torch where it imports)."""
    path = Path(model)
    if path.suffix != ".safetensors" and (path.suffix or len(path.parts) > 1):
        raise GenAnimError(f"{model}: not a model name (diffusion, {', '.join(LATENT_FAMILIES)}) nor a .safetensors "
                           "weights file")
    if path.suffix != ".safetensors":
        path = Path(weights_dir or WEIGHTS_DIR) / f"{model}.safetensors"
    if not path.is_file():
        raise GenAnimError(
            f"{path}: weights not found. Train and export them (python -m core train --model diffusion "
            "--config configs/diffusion.json, then python -m core export out/runs/diffusion --out "
            f"{path}), or pass the path of a .safetensors file"
        )
    from ..models.weights import read_weights

    backend = resolve_backend(backend)
    device = resolve_device(device, backend)
    arrays, meta = read_weights(path)
    kind = meta.get("kind")
    if kind == "diffusion":
        return DiffusionGenerator(arrays, meta, device, path, backend)
    if kind in LATENT_FAMILIES:
        return LatentGenerator(arrays, meta, device, path, backend)
    raise GenAnimError(f"{path}: a {kind!r} model; generators are diffusion, {', '.join(LATENT_FAMILIES)}")


class Generator:
    """A trained motion model with its vocabulary, skeleton and normalisation; subclasses sample features."""

    kind = ""
    conditional = True  # takes action and style labels
    # Samples `generate` draws at once: any count runs in bounded memory, and since sample i is drawn from
    # seed + i alone, the batches do not change the motion (DDPM's per-step noise is drawn per batch).
    batch = 32

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, device: str, path: Path, backend: str):
        self.path = path
        self.name = path.stem
        self.meta = meta
        self.device = device  # "cpu" or "cuda" (torch), "cpu" (numpy)
        self.backend = backend
        self.vocabulary = Vocabulary.from_json(meta["vocabulary"])
        self.actions: list[str] = list(self.vocabulary.actions)
        self.styles: list[str] = list(self.vocabulary.styles)
        self.skeleton: Skeleton = Skeleton.from_json(meta["skeleton"])
        self.fps: float = float(meta["fps"])
        self.window = int(meta["window"])
        self.rep = representation_for(self.skeleton)
        # sigma (frames) of the temporal low-pass on generated features: the samplers leave frame-to-frame noise
        self.smooth = float(meta.get("smooth", SMOOTH_FRAMES))
        # std of the diffusion model's start noise or of a VAE/GAN's latents: lower, more typical motion
        self.temperature = float(meta.get("temperature", 1.0))
        # the network's state dict, float32 (the file may hold fp16)
        self.state = {k[len("model."):]: v.astype(np.float32) for k, v in arrays.items() if k.startswith("model.")}
        self.mean = arrays["stats.mean"].astype(np.float64)
        self.std = arrays["stats.std"].astype(np.float64)
        # joints the training data only turns about one axis (knees, toes): leg IK bends knees about it.
        # None in weights exported before.
        self.hinges = hinges_from_json(meta.get("hinges", {}), self.skeleton.names)

    @property
    def parameters(self) -> int:
        return sum(v.size for v in self.state.values())

    # --- labels ----------------------------------------------------------------

    def _label_ids(self, action: str | None, style: str | None) -> tuple[int, int]:
        if not self.conditional and (action is not None or style is not None):
            raise GenAnimError(f"the {self.name} model ({self.kind}) is unconditional: it takes no action or style; "
                               "leave them out, or use a conditional model (diffusion, cvae, cgan)")
        a = -1 if action is None else self.vocabulary.action_id(action)
        s = -1 if style is None else self.vocabulary.style_id(style)
        return a, s

    def _same_skeleton(self, other: Skeleton) -> bool:
        """Same joints and bones; the root's offset (a per-file start position in BVH) is not compared."""
        return not skeleton_differences(self, other)

    # --- sampling --------------------------------------------------------------

    def _clean(self, x: np.ndarray) -> np.ndarray:
        """(n, F, D) raw features of (n, F, D) normalised network output: joint rotations kept from
        reversing between frames, then the temporal low-pass (sigma `smooth` frames)."""
        from ..models.cleanup import continuous_rotations, smooth_time

        feats = x * self.std + self.mean
        return np.stack([smooth_time(continuous_rotations(f, self.rep, self.mean), self.smooth) for f in feats])

    def _finish(self, feats: np.ndarray, name: str, foot_pins: bool = True) -> Clip:
        """Decoded clip with its feet planted by leg IK during the contacts the model predicts (with `foot_pins`),
        and no joint turning faster than real motion does. The root keeps the path the model made: moving it
        with the stance feet (`pin_stance_feet`) cost styled walks, whose generated legs stride less than their
        root moves, much of their travel (the evaluation's root_speed column). Feet the model did not flag are
        left alone (`ground_contacts` is not applied): holding every slow foot near the floor as well cost the
        diffusion model's runs their look (weights/diffusion.md)."""
        from ..models.cleanup import fill_pops, plant_feet

        clip = self.rep.decode(feats, self.fps, None, name)
        if foot_pins:
            clip = plant_feet(clip, feats[:, self.rep.layout.contacts] > 0.5, self.rep, hinges=self.hinges)
        clip.rotations = fill_pops(clip.rotations)
        return clip

    def generate(self, *args, **kwargs) -> list[Clip]:
        """`count` clips of `seconds`; sample i uses seed `seed + i` (alone it gives the same motion). The
        arguments of `iter_generate`."""
        return list(self.iter_generate(*args, **kwargs))

    def iter_generate(
        self,
        action: str | None,
        style: str | None,
        seconds: float,
        count: int = 1,
        seed: int = 0,
        guidance: float | None = None,
        steps: int | None = None,
        progress: Callable[[float], bool] | None = None,
        ddpm: bool = False,
        excerpt: bool = False,
        foot_pins: bool = True,
    ) -> Iterator[Clip]:
        """The clips of `generate`, `batch` samples drawn at a time and yielded before the next batch is
        drawn (memory stays bounded whatever the count). Settings are checked before any work.

        A model trained on whole takes makes each clip a whole performance, from rest back to rest;
        `excerpt`: a piece from the middle of one instead (a cycle to loop). `ddpm`: sample with the
        1000-step ancestral sampler instead (MDM's default; for comparison). `foot_pins` False: the feet as the
        network made them, none held (for one's own foot locking, or to measure what the pins do)."""
        a, s = self._label_ids(action, style)
        self.check(seconds, count, guidance, steps)
        return self._batches(a, s, f"{action or 'any'}_{style or 'any'}", int(round(seconds * self.fps)),
                             [seed + i for i in range(count)], guidance, steps, progress, ddpm, excerpt, foot_pins)

    def _batches(self, a, s, label, frames, seeds, guidance, steps, progress, ddpm, excerpt,
                 foot_pins) -> Iterator[Clip]:
        for lo in range(0, len(seeds), self.batch):
            part = seeds[lo : lo + self.batch]

            def step(f: float, lo: int = lo, n: int = len(part)) -> bool:
                return progress((lo + f * n) / len(seeds))

            feats = self._features(len(part), frames, a, s, part, guidance, steps, progress and step, ddpm, excerpt)
            yield from (self._finish(f, f"{label}_seed{sd}", foot_pins) for f, sd in zip(feats, part, strict=True))

    def check(self, seconds: float | None = None, count: int | None = None, guidance: float | None = None,
              steps: int | None = None) -> None:
        """GenAnimError naming the first setting out of range (the same rules for the command line and the
        add-on, checked before any work)."""
        check_range("length (seconds)", seconds, 2 / self.fps, MAX_SECONDS)
        check_range("count", count, 1, MAX_COUNT)
        check_range("guidance", guidance, 0, MAX_GUIDANCE)
        check_range("steps", steps, 1, MAX_STEPS)

    def _features(self, n: int, frames: int, a: int, s: int, seeds: list[int], guidance: float | None,
                  steps: int | None, progress, ddpm: bool, excerpt: bool = False) -> np.ndarray:
        """(n, frames, D) raw (denormalised) features of new clips."""
        raise NotImplementedError

    def inbetween(self, clip: Clip, start: int, end: int, *args, **kwargs) -> Clip:
        raise GenAnimError(f"the {self.name} model ({self.kind}) cannot fill gaps between poses; in-betweening "
                           "needs the diffusion model (--model diffusion)")


class DiffusionGenerator(Generator):
    """The motion diffusion model: guided few-step sampling, constraints, in-betweening."""

    kind = "diffusion"
    # Std of the start noise of in-betweening: a gap is scored against one recorded motion, and less noise
    # keeps the sample nearer the network's most likely fill (chosen on training windows, weights/diffusion.md).
    inbetween_temperature = 0.3
    # Fills drawn per gap: the one whose own estimate of the kept frames misses them least is kept, as the
    # fill that agrees best with the poses it joins (chosen on training windows, weights/diffusion.md).
    inbetween_samples = 8
    # Kept frames each side of a gap whose misses choose the fill: the frames it joins. Farther ones, which
    # the fill does not touch, chose fills further from the recorded motion (weights/diffusion.md).
    inbetween_join = 2
    # Sampler steps of in-betweening, whose root steering acts at each: 20 filled gaps better than 10 on
    # training windows; 28 did no better than 20 on validation windows and took 40% longer (weights/diffusion.md).
    inbetween_steps = 20
    # Frames sampled around a gap, as a multiple of the kept frames and the gap it sees (the rest free frames
    # after them, up to one window): twice filled gaps of 5, 15 and 30 frames closer than a full window
    # on training windows (weights/diffusion.md).
    inbetween_span = 2.0

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, device: str, path: Path, backend: str):
        super().__init__(arrays, meta, device, path, backend)
        self.default_steps = int(meta["sample_steps"])
        self.default_guidance = float(meta["guidance"])
        # "denoiser": the key of weights exported before the model families shared one format
        arch = meta.get("architecture", meta.get("denoiser"))
        self.timesteps = int(arch["timesteps"])
        self.whole_takes = bool(arch.get("whole_takes", False))
        if backend == "numpy":
            from ..runtime.denoiser import NumpyDenoiser

            self.denoise = NumpyDenoiser(self.state, arch)
        else:
            import torch

            from ..models.diffusion import Denoiser, DenoiserConfig, TorchDenoiser

            model = Denoiser(DenoiserConfig(**arch))
            model.load_state_dict({k: torch.from_numpy(v) for k, v in self.state.items()})
            self.denoise = TorchDenoiser(model.to(device))

    def whole_take(self, frames: int, excerpt: bool = False) -> bool:
        """Whether a clip of `frames` is sampled as a whole take: by a network trained on whole takes,
        where the clip fits its window and no excerpt is asked for."""
        return self.whole_takes and not excerpt and frames <= self.window

    def sample_length(self, frames: int, excerpt: bool = False) -> int:
        """Frames to sample for a clip of `frames`, whose start is kept: a whole take at its own length;
        an excerpt shorter than the window is the start of a full window, the length the network mostly
        trained on (weights/diffusion.md)."""
        return frames if self.whole_take(frames, excerpt) else max(frames, self.window)

    def _features(self, n, frames, a, s, seeds, guidance, steps, progress, ddpm, excerpt=False):
        full = self.sample_length(frames, excerpt)
        return self.sample_features(n, full, a, s, seeds, guidance, steps, None, None, progress, ddpm,
                                    whole=self.whole_take(frames, excerpt))[:, :frames]

    def inbetween_frames(self, seen: int, span: float | None = None) -> int:
        """Frames sampled for a gap whose kept frames and gap take `seen` frames: `span` (default
        `inbetween_span`) times as many, the rest free frames after them, at most one window."""
        span = self.inbetween_span if span is None else span
        return max(seen, min(self.window, round(span * seen)))

    def sample_features(self, n: int, frames: int, a: int, s: int, seeds: list[int], guidance: float | None,
                        steps: int | None, known: np.ndarray | None, mask: np.ndarray | None, progress,
                        ddpm: bool = False, impute: bool = True, root_target: tuple[int, int, np.ndarray, float]
                        | None = None, temperature: float | None = None, whole: bool = False) -> np.ndarray:
        """(n, frames, D) raw (denormalised) features for label ids `a`, `s` (-1: none); entries where
        `mask` (frames, D) is 1 are `known` (raw features) exactly, or with `impute` False the network's
        own estimate of them. `root_target` (first, last, offset (2,), turn): the root steps of frames
        first .. last-1 travel `offset` and turn by `turn` from the heading of `first` in every estimate
        of the sampler (`core.models.root_target`). `temperature`: std of the start noise (default the
        model's). `whole`: each clip is a whole take (networks trained on whole takes)."""
        from ..models.sampler import sample

        self.check(guidance=guidance, steps=steps)
        check_range("temperature (the start noise's std)", temperature, 0)
        dim = self.mean.shape[0]
        # x_T from numpy generators, one per seed: the same motion on every backend and device
        noise = np.stack([np.random.default_rng(int(sd)).standard_normal((frames, dim), np.float32) for sd in seeds])
        noise = noise * np.float32(self.temperature if temperature is None else temperature)  # (n, F, D)
        kn = mk = None
        if known is not None:
            kn, mk = ((known - self.mean) / self.std).astype(np.float32), mask.astype(np.float32)

        def callback(i: int, total: int) -> None:
            if progress is not None and progress(i / total) is False:
                raise Cancelled()

        project = None
        if root_target is not None:
            from ..models.root_target import reach_root_target

            first, last, offset, turn = root_target
            mean, std = self.mean[ROOT_MOTION], self.std[ROOT_MOTION]

            def project(x0: np.ndarray) -> np.ndarray:  # (n, F, D) normalised
                path = x0[:, first:last, ROOT_MOTION] * std + mean  # (n, last - first, 3) raw root steps
                x0 = x0.copy()
                x0[:, first:last, ROOT_MOTION] = (reach_root_target(path, np.asarray(offset), turn) - mean) / std
                return x0

        if progress is not None and progress(0.0) is False:
            raise Cancelled()
        x = sample(
            self.denoise, self.timesteps, noise, np.full(n, a), np.full(n, s), kn, mk,
            steps=steps or self.default_steps, guidance=self.default_guidance if guidance is None else guidance,
            rng=np.random.default_rng(int(seeds[0])),  # DDPM's per-step noise
            ddpm=ddpm, window=self.window, overlap=self.window // 4, callback=callback, impute_last=impute,
            project=project, whole=np.full(n, whole),
        )
        # The few-step sampler leaves frame-to-frame noise (jitter several times that of real motion,
        # mostly at the hands): the temporal low-pass of `_clean` removes it.
        feats = self._clean(x.astype(np.float64))
        if known is not None and impute:
            feats = np.where(mask > 0, known, feats)  # exact, free of normalisation round-off
        return feats

    def inbetween(
        self,
        clip: Clip,
        start: int,
        end: int,
        action: str | None = None,
        style: str | None = None,
        seed: int = 0,
        steps: int | None = None,
        progress: Callable[[float], bool] | None = None,
        guidance: float | None = None,
        temperature: float | None = None,
        samples: int | None = None,
        span: float | None = None,
    ) -> Clip:
        """Copy of `clip` with frames start+1 .. end-1 generated; frames up to `start` and from `end` are
        kept exactly. `start` = -1 generates the clip's start up to `end` (nothing kept before it), `end` =
        the clip's length its end after `start` (a clip extended: the frames there are placeholders). The
        model sees up to CONTEXT kept frames on each side. `steps`: default
        `inbetween_steps`; `temperature`: std of the start noise (default `inbetween_temperature`);
        `samples`: fills drawn, one kept (default `inbetween_samples`; seeds seed * samples + i); `span`:
        frames sampled, as a multiple of the kept frames and the gap (default `inbetween_span`)."""
        from ..models.cleanup import fill_pops, match_end, parent_transform, pin_stance_feet, set_root_global

        a, s = self._label_ids(action, style)
        k = self.inbetween_samples if samples is None else samples
        if k < 1:
            raise GenAnimError(f"samples must be at least 1, got {k}")
        check_range("span (frames sampled, as a multiple of the gap and its kept frames)", span, 1)
        num_f = clip.num_frames
        if not self._same_skeleton(clip.skeleton):
            raise MotionDataError(
                f"the clip's skeleton ({clip.skeleton.num_joints} joints: {', '.join(clip.skeleton.names[:4])}, ...) "
                f"is not the model's ({self.skeleton.num_joints} joints: {', '.join(self.skeleton.names[:4])}, ...); "
                "retarget the clip to the model's skeleton first"
            )
        if not -1 <= start < end <= num_f or end - start < 2 or (start, end) == (-1, num_f):
            raise GenAnimError(f"gap {start}..{end} must satisfy -1 <= from < to <= {num_f} (frames) with at least one "
                               "frame between from and to and a kept frame on one side")
        open_start, open_end = start < 0, end >= num_f
        # As much context as fits one window with the gap (longer gaps span several blended windows).
        ctx = max(10, min(CONTEXT, (self.window - (end - start + 1)) // 2))
        lo, hi = max(0, start - ctx), min(num_f, end + ctx)
        sub = clip.slice(lo, hi)
        known = self.rep.encode(sub)  # (n, D)
        mask = np.zeros_like(known)
        lay = self.rep.layout
        if not open_start:
            mask[: start - lo + 1] = 1
            mask[start - lo, ROOT_MOTION] = 0  # the root velocity and turn rate out of `start` lead into the gap
        if not open_end:
            mask[end - lo :] = 1
            # Features of `end` that the gap's content decides: contacts (foot speed from end-1), and at a
            # clip's last frame the root velocity (encode repeats the step from end-1 there).
            mask[end - lo, lay.contacts] = 0
            if end == num_f - 1:
                mask[end - lo, ROOT_MOTION] = 0
        pad = self.inbetween_frames(len(known), span) - len(known)  # free frames after them, dropped below
        known, mask = np.pad(known, ((0, pad), (0, 0))), np.pad(mask, ((0, pad), (0, 0)))
        first, last = start - lo, end - lo  # the kept frames either side of the gap
        g_rot, g_pos = clip.global_transforms()
        root = self.rep.root
        target = None
        if not (open_start or open_end):
            # Where frame `end` stands from frame `start` (the features, being steps, cannot say): the sampler
            # steers the gap's root path there (in-betweening L2P at 30 frames 2.427 -> 2.335, weights/diffusion.md).
            heading = self.rep.heading(g_rot[[start, end], root])  # (2,)
            offset = (yaw_matrix(-heading[0]) @ (g_pos[end, root] - g_pos[start, root]))[[0, 2]]
            target = (first, last, offset, float(wrap_angle(heading[1] - heading[0])))
        steps = self.inbetween_steps if steps is None else steps
        feats = self.sample_features(k, len(known), a, s, [seed * k + i for i in range(k)], guidance, steps,
                                     np.repeat(known[None], k, 0), np.repeat(mask[None], k, 0), progress,
                                     impute=False, root_target=target,
                                     temperature=self.inbetween_temperature if temperature is None else temperature)
        frame = np.arange(len(known))[:, None]
        join = mask * ((frame >= first - self.inbetween_join) & (frame <= last + self.inbetween_join))  # (n, D)
        miss = ((((known - feats) / self.std) ** 2) * join).sum((1, 2))  # (k,)
        feats = feats[int(miss.argmin())][: hi - lo]
        # The network's motion through the gap is smooth but may sit off the kept frames: carry its
        # misses at the gap's ends across the gap, fading linearly, so the motion joins them.
        t = np.linspace(0.0, 1.0, last - first + 1)[1:-1, None]  # (gap, 1)
        if not open_start:
            feats[first + 1 : last] += (1 - t) * (known[first] - feats[first]) * mask[first]
        if not open_end:
            feats[first + 1 : last] += t * (known[last] - feats[last]) * mask[last]
        feats = np.where(mask[: hi - lo] > 0, known[: hi - lo], feats)
        contacts = feats[:, self.rep.layout.contacts] > 0.5
        gen = pin_stance_feet(self.rep.decode(feats, self.fps, self.rep.start_of(sub)), contacts, self.rep,
                              (first, last))
        # Place the generated root in the clip's frame: its parent holds the pose of the kept frame it joins.
        anchor = end if open_start else start
        p_rot, p_pos = parent_transform(self.rep, g_rot[[anchor]], g_pos[[anchor]])
        out = Clip(clip.skeleton, clip.rotations.copy(), clip.translations.copy(), clip.fps, clip.name)
        gap = np.arange(start + 1, end)
        out.rotations[gap] = gen.rotations[gap - lo]
        out.rotations[gap, : self.rep.root] = clip.rotations[anchor, : self.rep.root]
        out.translations[gap, : self.rep.root + 1] = clip.translations[anchor, : self.rep.root + 1]
        gr, gp = gen.global_transforms()
        rot, pos = gr[gap - lo, root], gp[gap - lo, root]
        if open_start:  # decoding began at a placeholder: turn and move the generated path onto frame `end`
            turn = yaw_matrix(float(wrap_angle(self.rep.heading(g_rot[end, root]) - self.rep.heading(gr[last, root]))))
            shift = g_pos[end, root] - turn @ gp[last, root]
            shift[UP] = 0.0
            rot, pos = turn @ rot, pos @ turn.T + shift
        p_rot, p_pos = p_rot[[0] * len(gap)], p_pos[[0] * len(gap)]
        set_root_global(out, self.rep, gap, rot, pos, p_rot, p_pos)
        if target is not None:
            gen_end = (gp[last, root], float(self.rep.heading(gr[last, root])))
            match_end(out, self.rep, start, end, gen_end, (g_pos[end, root], float(heading[1])), p_rot, p_pos)
        # No ankle pinning (`plant_feet`) here: on 100 training windows it raised L2P at 15 / 30 frames from
        # 1.329 / 1.781 to 1.387 / 1.838 and made the first filled frame jump (`evaluate inbetween --split train
        # --gaps 15 30 --max-windows 100`).
        out.rotations[gap] = fill_pops(out.rotations)[gap]
        return out


class LatentGenerator(Generator):
    """A VAE or GAN decoder: one pass from latents to a clip of any length. GAN latents are N(0, I);
    VAE latents come from the prior fitted to the encoded training set when the weights hold one."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, device: str, path: Path, backend: str):
        super().__init__(arrays, meta, device, path, backend)
        from ..models.latent_prior import LatentPrior

        self.kind = meta["kind"]
        self.conditional = self.kind in ("cvae", "cgan")
        self.arch = meta["architecture"]
        self.rate = latent_rate(self.arch["widths"])  # frames per latent step
        self.default_guidance = float(meta["guidance"]) if self.conditional else 1.0
        self.prior = LatentPrior.from_tensors(arrays)
        if backend == "numpy":
            from ..runtime.decoder import NumpyDecoder

            self.decode = NumpyDecoder(self.state, self.arch)
        else:
            from ..models.temporal import TorchDecoder

            self.decode = TorchDecoder(self.state, self.arch, device)

    def decode_guided(self, z: np.ndarray, action: np.ndarray, style: np.ndarray, lengths: np.ndarray,
                      guidance: float) -> np.ndarray:
        """(n, F, D) normalised features of latents z (n, C, T) and label ids (n,) (-1: none), with classifier-free
        guidance on the decoder's output where a label is given."""
        x = self.decode(z, action, style, lengths)
        if guidance != 1.0 and ((action >= 0) | (style >= 0)).any():
            free = self.decode(z, np.full(len(z), -1), np.full(len(z), -1), lengths)
            x = free + guidance * (x - free)
        return x

    def _features(self, n, frames, a, s, seeds, guidance, steps, progress, ddpm, excerpt=False):
        from ..models.latent_prior import standard_latents
        from ..runtime.nn import step_phase

        if steps is not None or ddpm:
            raise GenAnimError(f"the {self.name} model ({self.kind}) samples in one pass: it has no sampler steps "
                               "or DDPM mode")
        if guidance is not None and not self.conditional:
            raise GenAnimError(f"the {self.name} model ({self.kind}) is unconditional: guidance needs labels")
        if excerpt and self.arch.get("phase"):
            raise GenAnimError(f"the {self.name} model ({self.kind}) makes whole takes only, from rest back to rest; "
                               "a looping excerpt needs the diffusion model (--model diffusion)")
        g = self.default_guidance if guidance is None else guidance
        if progress is not None and progress(0.0) is False:
            raise Cancelled()
        z = standard_latents(seeds, self.arch["latent"], -(-frames // self.rate))  # (n, C, T) N(0, 1)
        action, style = np.full(n, a), np.full(n, s)
        lengths = np.full(n, frames)  # a decoder with phase channels makes each clip a whole take of this length
        if self.prior is None:
            z = self.temperature * z
        else:
            z = self.prior.transform(z, action, style, self.temperature, step_phase(lengths, z.shape[-1], self.rate))
        x = self.decode_guided(z, action, style, lengths, g)
        if progress is not None:
            progress(1.0)
        return self._clean(x[:, :frames].astype(np.float64))


def skeleton_differences(gen: Generator, other: Skeleton, most: int = 3) -> list[str]:
    """How `other` differs from the model's skeleton, in words, naming at most `most` joints per kind: names,
    parents, then bones (not the root's offset) off by more than 5% of a mean bone. None: the same skeleton."""
    mine = gen.skeleton

    def names(js: list[str]) -> str:
        return ", ".join(map(repr, js[:most])) + (", ..." if len(js) > most else "")

    out = []
    if mine.num_joints != other.num_joints:
        out.append(f"{other.num_joints} joints, not the model's {mine.num_joints}")
    if mine.names != other.names:
        missing = [n for n in mine.names if n not in other.names]
        extra = [n for n in other.names if n not in mine.names]
        if missing:
            out.append(f"no joint {names(missing)}")
        if extra:
            out.append(f"joints the model lacks: {names(extra)}")
        if not missing and not extra:
            out.append("its joints in another order")
        return out

    def parent(sk: Skeleton, j: int) -> str:
        return repr(sk.names[sk.parents[j]]) if sk.parents[j] >= 0 else "nothing"

    moved = [j for j in range(mine.num_joints) if mine.parents[j] != other.parents[j]]
    if moved:
        return out + [f"{mine.names[j]!r} under {parent(other, j)}, not {parent(mine, j)}" for j in moved[:most]]
    bones = np.arange(mine.num_joints) > gen.rep.root
    tol = 0.05 * float(np.mean(mine.bone_lengths()[bones]))
    off = np.nonzero((np.abs(mine.offsets - other.offsets) > tol).any(-1) & bones)[0]
    return out + [f"bone {mine.names[j]!r} {float(np.linalg.norm(other.offsets[j])):.3g} long, not "
                  f"{float(np.linalg.norm(mine.offsets[j])):.3g}" for j in off[:most]]
