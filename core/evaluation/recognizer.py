"""The motion recognizer: a small temporal convolution network that classifies action and style
from joint positions in a canonical frame (`canonical.py`).

It plays the role of the action-recognition network in Action2Motion/ACTOR/MDM evaluation: its
accuracy on generated clips measures whether they show what was asked for, and its pooled
embedding is the feature space of FID, precision/recall, diversity and multimodality. It reads
whole clips (a take starts at rest, performs and returns to rest: the judge must see all of it),
padded and masked in batches so that padding never changes what a clip scores.
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
from ..motion.clip import Clip
from .canonical import FeatureNorm, canonical_features

MAX_FRAMES = 480  # longer clips are scored as the mean over windows this long (half overlap)
MIN_CROP = 30  # frames: the shortest training crop (one second)


@dataclass
class RecognizerConfig:
    in_dim: int
    num_actions: int
    num_styles: int
    width: int = 128
    embed: int = 64
    blocks: int = 4  # residual blocks with dilations 1, 2, 4, 8
    kernel: int = 5
    dropout: float = 0.1


class ResBlock(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)
        self.norm = nn.GroupNorm(8, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, C, T), (B, 1, T)
        h = _masked_group_norm(self.conv1(x) * mask, mask, self.norm)
        return (x + self.conv2(F.gelu(h))) * mask


def _masked_group_norm(h: torch.Tensor, mask: torch.Tensor, norm: nn.GroupNorm) -> torch.Tensor:
    """GroupNorm over the valid frames only: padding must not move a clip's statistics."""
    b, c, t = h.shape
    g = h.reshape(b, norm.num_groups, -1)  # (B, G, C/G * T)
    m = mask.expand(b, c, t).reshape(b, norm.num_groups, -1)
    n = m.sum(-1, keepdim=True)
    mean = (g * m).sum(-1, keepdim=True) / n
    var = (((g - mean) * m) ** 2).sum(-1, keepdim=True) / n
    g = (g - mean) / torch.sqrt(var + norm.eps)
    return g.view(b, c, t) * norm.weight[:, None] + norm.bias[:, None]


class MotionRecognizer(nn.Module):
    def __init__(self, cfg: RecognizerConfig):
        super().__init__()
        self.cfg = cfg
        # Stride 2 halves the frame rate (30 -> 15 fps): plenty for recognising actions, half the compute.
        self.inp = nn.Conv1d(cfg.in_dim, cfg.width, 4, stride=2, padding=1)
        self.blocks = nn.ModuleList([ResBlock(cfg.width, cfg.kernel, 2**i) for i in range(cfg.blocks)])
        self.embed = nn.Linear(2 * cfg.width, cfg.embed)
        self.drop = nn.Dropout(cfg.dropout)
        self.action_head = nn.Linear(cfg.embed, cfg.num_actions)
        self.style_head = nn.Linear(cfg.embed, cfg.num_styles)

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, D) normalised features, (B,) valid frames -> (B, E) clip embedding."""
        h = self.inp(x.transpose(1, 2))  # (B, C, T/2)
        valid = torch.div(lengths, 2, rounding_mode="floor").clamp(min=1)
        mask = (torch.arange(h.shape[-1])[None] < valid[:, None]).float()[:, None]  # (B, 1, T/2)
        h = h * mask
        for block in self.blocks:
            h = block(h, mask)
        mean = h.sum(-1) / valid[:, None]
        peak = h.masked_fill(mask == 0, float("-inf")).amax(-1)
        return self.embed(F.gelu(torch.cat([mean, peak], dim=-1)))  # length-independent pooling

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, D), (B,) -> action logits (B, A), style logits (B, S), embedding (B, E)."""
        e = self.features(x, lengths)
        h = self.drop(F.gelu(e))
        return self.action_head(h), self.style_head(h), e


def _pad(sequences: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences (F_i, D) -> (B, T, D) zero-padded float32 and (B,) lengths."""
    lengths = [len(s) for s in sequences]
    x = np.zeros((len(sequences), max(lengths), sequences[0].shape[1]), np.float32)
    for i, s in enumerate(sequences):
        x[i, : len(s)] = s
    return torch.from_numpy(x), torch.tensor(lengths)


@dataclass
class Recognizer:
    """A trained recognizer with everything needed to use it on clips."""

    model: MotionRecognizer
    norm: FeatureNorm
    actions: list[str]
    styles: list[str]
    info: dict

    @torch.no_grad()
    def predict(self, clips: list[Clip] | list[np.ndarray], batch: int = 32) -> dict[str, np.ndarray]:
        """Per clip: action and style probabilities and the embedding.

        clips: `Clip`s, or their (F, D) `canonical_features`. A clip longer than `MAX_FRAMES` is
        scored as the mean over windows of that length (half overlap, the last aligned to its end).
        """
        self.model.eval()
        seqs = [c if isinstance(c, np.ndarray) else canonical_features(c) for c in clips]
        for c, seq in zip(clips, seqs, strict=True):
            if seq.shape[1] != self.model.cfg.in_dim:
                name = getattr(c, "name", "") or "a clip"
                raise GenAnimError(f"{name}: {(seq.shape[1] - 3) // 3} body joints, but the recognizer reads clips "
                                   f"of {(self.model.cfg.in_dim - 3) // 3} (another skeleton)")
        pieces, owner = [], []
        for i, seq in enumerate(seqs):
            starts = list(range(0, max(len(seq) - MAX_FRAMES, 0) + 1, MAX_FRAMES // 2))
            if len(seq) > MAX_FRAMES and starts[-1] != len(seq) - MAX_FRAMES:
                starts.append(len(seq) - MAX_FRAMES)
            pieces += [self.norm(seq[s : s + MAX_FRAMES]) for s in starts]
            owner += [i] * len(starts)
        outs = {"action": [], "style": [], "embedding": []}
        order = np.argsort([len(p) for p in pieces], kind="stable")  # similar lengths pad little
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            a, st, e = self.model(*_pad([pieces[i] for i in idx]))
            for k, v in (("action", a.softmax(-1)), ("style", st.softmax(-1)), ("embedding", e)):
                outs[k].append((idx, v.double().numpy()))
        owner = np.asarray(owner)
        result = {}
        for k, parts in outs.items():
            flat = np.zeros((len(pieces), parts[0][1].shape[1]))
            for idx, v in parts:
                flat[idx] = v
            total = np.zeros((len(seqs), flat.shape[1]))
            np.add.at(total, owner, flat)
            result[k] = total / np.bincount(owner, minlength=len(seqs))[:, None]
        return result

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in self.model.state_dict().items()}
        tensors["norm.mean"] = torch.from_numpy(self.norm.mean.astype(np.float32))
        tensors["norm.std"] = torch.from_numpy(self.norm.std.astype(np.float32))
        meta = {
            "config": json.dumps(asdict(self.model.cfg)),
            "input": "canonical joint positions v2",
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
        if meta.get("input") != "canonical joint positions v2":
            raise GenAnimError(f"{path}: recognizer weights of an older evaluation version; retrain them with "
                               "`python -m core evaluate train-recognizer`")
        tensors = load_file(str(path))
        model = MotionRecognizer(RecognizerConfig(**json.loads(meta["config"])))
        norm = FeatureNorm(tensors.pop("norm.mean").double().numpy(), tensors.pop("norm.std").double().numpy())
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        model.eval()
        return cls(model, norm, json.loads(meta["actions"]), json.loads(meta["styles"]), json.loads(meta["info"]))


def _augment(seq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(F, D) canonical features of another body size (positions and speeds x s) and tempo (x v)."""
    size, tempo = rng.uniform(0.9, 1.1), np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
    t = np.arange(0.0, len(seq) - 1 + 1e-9, tempo)  # resampled frame times
    i = t.astype(int)
    w = (t - i)[:, None]
    out = seq[i] * (1 - w) + seq[np.minimum(i + 1, len(seq) - 1)] * w
    out[:, :-1] *= size  # joint positions and root velocity; the turn rate keeps its scale
    out[:, -3:] *= tempo  # velocities are per second
    return out


def train_recognizer(
    sequences: list[np.ndarray],
    actions: np.ndarray,
    styles: np.ndarray,
    action_names: list[str],
    style_names: list[str],
    steps: int = 3000,
    batch: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> Recognizer:
    """Train on the (F, D) `canonical_features` of labelled clips (mirrors already added by the caller).

    Half the items of a batch are whole clips (up to `MAX_FRAMES`), half random crops of at least a
    second: the judge scores whole takes, and must still recognise a piece of one. Each item is scaled
    by a random body size (0.9 to 1.1) and played at a random speed (0.8 to 1.25): performers differ in
    both, and a judge that knew the training takes by their exact size and timing would hold them
    apart from unseen takes of the same label.
    """
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    norm = FeatureNorm.fit(sequences)
    cfg = RecognizerConfig(in_dim=sequences[0].shape[1], num_actions=len(action_names), num_styles=len(style_names))
    model = MotionRecognizer(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    lengths = np.array([len(s) for s in sequences])
    p = np.minimum(lengths, 240) / np.minimum(lengths, 240).sum()  # long takes hold more, up to a point
    t0 = time.time()
    bar = tqdm(range(steps), desc="recognizer", disable=not progress)
    model.train()
    for _ in bar:
        idx = rng.choice(len(sequences), size=batch, p=p)
        crops = []
        for k, i in enumerate(idx):
            seq = _augment(sequences[i], rng)
            n = len(seq)
            whole = k < batch // 2
            length = min(n, MAX_FRAMES) if whole else int(rng.integers(min(MIN_CROP, n), min(n, MAX_FRAMES) + 1))
            start = int(rng.integers(0, n - length + 1))
            crops.append(norm(seq[start : start + length]))
        a, s, _ = model(*_pad(crops))
        loss = F.cross_entropy(a, torch.from_numpy(actions[idx])) + F.cross_entropy(s, torch.from_numpy(styles[idx]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # max pooling makes rare large gradients
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    info = {
        "steps": steps,
        "max_frames": MAX_FRAMES,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "train_seconds": round(time.time() - t0, 1),
        "parameters": sum(q.numel() for q in model.parameters()),
    }
    model.eval()
    return Recognizer(model, norm, list(action_names), list(style_names), info)
