"""The motion diffusion denoiser (`core.models.diffusion.Denoiser`) in numpy: the same forward pass on the
same state dict, for sampling without torch."""

from __future__ import annotations

import numpy as np

from .nn import conv1d, gelu, layer_norm, linear, self_attention, silu, sinusoid


class NumpyDenoiser:
    """x_t, t, labels, constraints -> x0 estimate, as `core.models.sampler.Denoise`.

    state: the network's state dict (float32 arrays); arch: its DenoiserConfig as a dict."""

    def __init__(self, state: dict[str, np.ndarray], arch: dict):
        self.state = {k: v.astype(np.float32) for k, v in state.items()}
        self.arch = arch
        w = arch["width"]
        self.pos = sinusoid(arch["max_tokens"] + 1, w)
        self.tpos = sinusoid(arch["timesteps"], w)

    def __call__(self, x_t, t, action, style, known, mask, whole=None, prev=None):
        # x_t, known, mask: (B, L, D); t, action, style: (B,) int (label -1 = none); whole: (B,) bool or None;
        # prev: (B, L, D) the previous step's x0 estimate or None (self-conditioned networks)
        st, arch = self.state, self.arch
        b, n, d = x_t.shape
        p = arch["patch"]
        n_tok = -(-n // p)
        if n_tok > arch["max_tokens"]:
            raise ValueError(f"window of {n} frames exceeds the model's {arch['max_tokens'] * p}")
        a = np.where(action < 0, arch["num_actions"], action)
        s = np.where(style < 0, arch["num_styles"], style)
        cond = linear(silu(linear(self.tpos[t], st, "time.0")), st, "time.2")  # (B, W)
        cond = cond + st["action.weight"][a] + st["style.weight"][s]
        if arch.get("whole_takes"):
            cond = cond + st["take.weight"][np.zeros(b, np.int64) if whole is None else whole.astype(np.int64)]
        h = [x_t, known * mask, mask]
        if arch.get("self_condition"):
            h.append(np.zeros_like(x_t) if prev is None else prev)
        frames = np.concatenate(h, -1).astype(np.float32)  # (B, L, kD), k = 3 or 4 inputs
        h = np.pad(frames, ((0, 0), (0, n_tok * p - n), (0, 0))).reshape(b, n_tok, -1)  # (B, N, P*kD)
        h = np.concatenate([cond[:, None], linear(h, st, "inp")], 1) + self.pos[: n_tok + 1]  # (B, 1 + N, W)
        for i in range(arch["layers"]):  # pre-norm encoder layers
            name = f"encoder.layers.{i}"
            h = h + self_attention(layer_norm(h, st, f"{name}.norm1"), st, f"{name}.self_attn", arch["heads"])
            h = h + linear(gelu(linear(layer_norm(h, st, f"{name}.norm2"), st, f"{name}.linear1")), st,
                           f"{name}.linear2")
        h = layer_norm(h[:, 1:], st, "norm")  # (B, N, W)
        x0 = linear(h, st, "out").reshape(b, n_tok * p, d)[:, :n]  # (B, L, D)
        if arch.get("frame_head"):
            u = np.concatenate([frames, np.repeat(h, p, axis=1)[:, :n]], -1).transpose(0, 2, 1)  # (B, kD + W, L)
            scale, shift = np.split(linear(cond, st, "frame_film")[..., None], 2, axis=1)  # (B, H, 1) each
            u = silu(conv1d(u, st, "frame_in") * (1 + scale) + shift)
            x0 = x0 + conv1d(u, st, "frame_out", padding=1).transpose(0, 2, 1)
        return (x0 + conv1d(x0.transpose(0, 2, 1), st, "refine", padding=2).transpose(0, 2, 1)).astype(np.float32)
