"""The VAE / GAN families' temporal convolutional decoder (`core.models.temporal.Decoder`) in numpy: the
same forward pass on the same state dict, for sampling without torch."""

from __future__ import annotations

import numpy as np

from .nn import conv1d, linear, phase_channels, silu

GROUPS = 8  # GroupNorm groups of every decoder layer


def latent_rate(widths) -> int:
    """Frames per latent step of a decoder of these widths (one x2 upsampling after each but the first)."""
    return 2 ** (len(widths) - 1)


def group_norm(x: np.ndarray, state: dict[str, np.ndarray], name: str, eps: float = 1e-5) -> np.ndarray:
    """torch.nn.GroupNorm(GROUPS, C) `name` of x (B, C, T)."""
    b, c, t = x.shape
    g = x.reshape(b, GROUPS, -1)
    g = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)
    return g.reshape(b, c, t) * state[f"{name}.weight"][:, None] + state[f"{name}.bias"][:, None]


def upsample2(x: np.ndarray) -> np.ndarray:
    """Linear interpolation to twice the length along the last axis (torch's F.interpolate, linear,
    align_corners False)."""
    n = x.shape[-1]
    src = np.maximum((np.arange(2 * n) + 0.5) / 2 - 0.5, 0)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo).astype(x.dtype)
    return x[..., lo] * (1 - w) + x[..., hi] * w


class NumpyDecoder:
    """z (B, latent, T) + labels (B,) int (-1: none) [+ clip lengths (B,) frames] -> features (B, T * rate, dim).

    state: the decoder's state dict (float32 arrays); arch: its ConvConfig as a dict."""

    def __init__(self, state: dict[str, np.ndarray], arch: dict):
        self.state = {k: v.astype(np.float32) for k, v in state.items()}
        self.arch = arch
        k = arch["kernel"]
        if k % 2 == 0:
            raise ValueError(f"kernel {k}: the decoder pads k // 2 each side, which keeps lengths only for odd kernels")

    def __call__(self, z: np.ndarray, action: np.ndarray, style: np.ndarray,
                 lengths: np.ndarray | None = None) -> np.ndarray:
        st, arch = self.state, self.arch
        rate, pairs = latent_rate(arch["widths"]), arch.get("phase", 0)
        if pairs:  # where each latent step sits in its clip of `lengths` frames (default: all of them)
            lengths = np.full(len(z), z.shape[-1] * rate) if lengths is None else lengths
            z = np.concatenate([z, phase_channels(lengths, z.shape[-1], rate, pairs)], 1)
        pad = arch["kernel"] // 2
        a = np.where(action < 0, arch["num_actions"], action)
        s = np.where(style < 0, arch["num_styles"], style)
        c = st["labels.action.weight"][a] + st["labels.style.weight"][s]  # (B, label_width)
        h = conv1d(z.astype(np.float32), st, "inp")  # (B, w0, T)
        for i in range(len(arch["widths"])):
            if i:  # linear, not nearest: latent steps blend instead of jumping at their borders
                h = conv1d(upsample2(h), st, f"stages.{i}.0", padding=pad)  # (B, w_i, T * 2**i)
            for j in range(1, arch["blocks"] + 1):
                name = f"stages.{i}.{j}"
                r = conv1d(silu(group_norm(h, st, f"{name}.n1")), st, f"{name}.c1", padding=pad)
                r = r + linear(c, st, f"{name}.cond")[..., None]
                h = h + conv1d(silu(group_norm(r, st, f"{name}.n2")), st, f"{name}.c2", padding=pad)
        h = conv1d(silu(group_norm(h, st, "out.0")), st, "out.2")  # (B, dim, T * rate)
        return h.transpose(0, 2, 1).astype(np.float32)
