"""The controller network's decoder (`core.control.model.ControllerNet.decode`) in numpy: the live
controller runs one frame at a time, where numpy's per-call cost is below torch's, so every backend
steps with this one; training keeps the torch network."""

from __future__ import annotations

import numpy as np

from .nn import linear


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


class NumpyControllerNet:
    """state: the network's state dict (float32 arrays); cfg: its ControllerConfig as a dict."""

    def __init__(self, state: dict[str, np.ndarray], cfg: dict):
        self.state = {k: v.astype(np.float32) for k, v in state.items()}
        self.cfg = cfg
        self.layers = sum(1 for k in self.state if k.startswith("decoder.layers.") and k.endswith(".weight"))

    def decode(self, z: np.ndarray, x: np.ndarray, control: np.ndarray, style: np.ndarray,
               action: np.ndarray) -> np.ndarray:
        """z (B, latent), x (B, D), control (B, C), style/action (B,) ids or -1 -> next frame (B, D)."""
        st = self.state
        h = np.concatenate([x, control, st["style.weight"][style + 1], st["action.weight"][action + 1]], -1)
        for i in range(self.layers):  # every layer also sees z
            h = elu(linear(np.concatenate([h, z], -1), st, f"decoder.layers.{i}"))
        return (x + linear(np.concatenate([h, z], -1), st, "decoder.out")).astype(np.float32)
