"""The motion recognizer: a small temporal convolution network that classifies
action and style from normalised representation features.

It plays the role of the action-recognition network in Action2Motion/ACTOR/MDM
evaluation: its accuracy on generated clips measures whether they show what
was asked for, and its pooled embedding is the feature space of FID,
diversity and multimodality.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import GenAnimError


@dataclass
class RecognizerConfig:
    in_dim: int
    num_actions: int
    num_styles: int
    width: int = 128
    embed: int = 64
    blocks: int = 4  # residual blocks with dilations 1, 2, 4, 8
    kernel: int = 5


class ResBlock(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)
        self.norm = nn.GroupNorm(8, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T) -> (B, C, T)
        return x + self.conv2(F.gelu(self.norm(self.conv1(x))))


class MotionRecognizer(nn.Module):
    def __init__(self, cfg: RecognizerConfig):
        super().__init__()
        self.cfg = cfg
        # Stride 2 halves the frame rate (30 -> 15 fps): plenty for recognising actions, half the compute.
        self.inp = nn.Conv1d(cfg.in_dim, cfg.width, 4, stride=2, padding=1)
        self.blocks = nn.Sequential(*[ResBlock(cfg.width, cfg.kernel, 2**i) for i in range(cfg.blocks)])
        self.embed = nn.Linear(2 * cfg.width, cfg.embed)
        self.action_head = nn.Linear(cfg.embed, cfg.num_actions)
        self.style_head = nn.Linear(cfg.embed, cfg.num_styles)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) normalised features -> (B, E) clip embedding."""
        h = self.blocks(self.inp(x.transpose(1, 2)))  # (B, C, T)
        pooled = torch.cat([h.mean(-1), h.amax(-1)], dim=-1)  # (B, 2C): length-independent
        return self.embed(F.gelu(pooled))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, D) -> action logits (B, A), style logits (B, S), embedding (B, E)."""
        e = self.features(x)
        h = F.gelu(e)
        return self.action_head(h), self.style_head(h), e


@dataclass
class Recognizer:
    """A trained recognizer with everything needed to use it on raw features."""

    model: MotionRecognizer
    mean: np.ndarray  # (D,) feature normalisation
    std: np.ndarray
    actions: list[str]
    styles: list[str]
    info: dict

    def _batches(self, sequences: list[np.ndarray], batch: int = 64):
        # Group equal lengths so no padding changes what the network sees.
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            length = min(len(sequences[i]) for i in idx)
            x = np.stack([self.normalise(sequences[i][:length]) for i in idx])
            yield idx, torch.from_numpy(x.astype(np.float32))

    def normalise(self, feats: np.ndarray) -> np.ndarray:
        return (feats - self.mean) / self.std

    @torch.no_grad()
    def predict(self, sequences: list[np.ndarray], window: int = 120) -> dict[str, np.ndarray]:
        """Per clip: action and style probabilities and the embedding, averaged over windows.

        sequences: list of (F, D) raw representation features. Long clips are cut
        into windows of `window` frames (the last one aligned to the end).
        """
        self.model.eval()
        pieces, owner = [], []
        for i, seq in enumerate(sequences):
            starts = list(range(0, max(len(seq) - window, 0) + 1, window // 2))
            if len(seq) > window and starts[-1] != len(seq) - window:
                starts.append(len(seq) - window)
            for s in starts:
                pieces.append(seq[s : s + window])
                owner.append(i)
        a_p = np.zeros((len(pieces), len(self.actions)), np.float32)
        s_p = np.zeros((len(pieces), len(self.styles)), np.float32)
        emb = np.zeros((len(pieces), self.model.cfg.embed), np.float32)
        for idx, x in self._batches(pieces):
            a, s, e = self.model(x)
            a_p[idx], s_p[idx], emb[idx] = a.softmax(-1).numpy(), s.softmax(-1).numpy(), e.numpy()
        owner = np.asarray(owner)
        out = {
            k: np.zeros((len(sequences), v.shape[1]), np.float32)
            for k, v in (("action", a_p), ("style", s_p), ("embedding", emb))
        }
        for k, v in (("action", a_p), ("style", s_p), ("embedding", emb)):
            np.add.at(out[k], owner, v)
            out[k] /= np.bincount(owner, minlength=len(sequences))[:, None]
        return out

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in self.model.state_dict().items()}
        tensors["norm.mean"] = torch.from_numpy(self.mean.astype(np.float32))
        tensors["norm.std"] = torch.from_numpy(self.std.astype(np.float32))
        meta = {
            "config": json.dumps(asdict(self.model.cfg)),
            "actions": json.dumps(self.actions),
            "styles": json.dumps(self.styles),
            "info": json.dumps(self.info),
        }
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> Recognizer:
        path = Path(path)
        if not path.exists():
            raise GenAnimError(f"{path}: recognizer weights not found")
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
        tensors = load_file(str(path))
        model = MotionRecognizer(RecognizerConfig(**json.loads(meta["config"])))
        mean, std = tensors.pop("norm.mean").numpy(), tensors.pop("norm.std").numpy()
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        model.eval()
        return cls(
            model,
            mean.astype(np.float64),
            std.astype(np.float64),
            json.loads(meta["actions"]),
            json.loads(meta["styles"]),
            json.loads(meta["info"]),
        )


def train_recognizer(
    sequences: list[np.ndarray],
    actions: np.ndarray,
    styles: np.ndarray,
    action_names: list[str],
    style_names: list[str],
    mean: np.ndarray,
    std: np.ndarray,
    steps: int = 2000,
    window: int = 120,
    batch: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> Recognizer:
    """Train on random windows of the training sequences (each (F, D) raw features)."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = RecognizerConfig(in_dim=len(mean), num_actions=len(action_names), num_styles=len(style_names))
    model = MotionRecognizer(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    std = np.where(std < 1e-6, 1.0, std)
    normed = [((s - mean) / std).astype(np.float32) for s in sequences]
    lengths = np.array([len(s) for s in normed])
    p = lengths / lengths.sum()  # every frame equally likely: long takes hold many distinct moments
    t0 = time.time()
    bar = tqdm(range(steps), desc="recognizer", disable=not progress)
    for _ in bar:
        idx = rng.choice(len(normed), size=batch, p=p)
        # Random lengths from 1 s up: validation clips can be short pieces of a take.
        win = int(min(rng.integers(30, window + 1), lengths[idx].min()))
        x = np.stack([_crop(normed[i], win, rng) for i in idx])
        x = torch.from_numpy(x)
        a, s, _ = model(x)
        loss = F.cross_entropy(a, torch.from_numpy(actions[idx])) + F.cross_entropy(s, torch.from_numpy(styles[idx]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # max pooling makes rare large gradients
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    info = {
        "steps": steps,
        "window": window,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "train_seconds": round(time.time() - t0, 1),
        "parameters": sum(q.numel() for q in model.parameters()),
    }
    model.eval()
    return Recognizer(model, mean, std, list(action_names), list(style_names), info)


def _crop(seq: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    start = rng.integers(0, len(seq) - length + 1)
    return seq[start : start + length]
