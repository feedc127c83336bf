"""CPU inference optimisations of the diffusion denoiser, measured by `bench/bench_optimise.py`:
structured magnitude pruning of the transformer's MLP units and dynamic int8 quantisation."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from .diffusion import Denoiser, DenoiserConfig


def prune_mlp(model: Denoiser, keep: float) -> Denoiser:
    """A smaller denoiser keeping the `keep` fraction of each layer's MLP units with the largest
    magnitude (|w_in row| * |w_out column|): whole units go, so the matrices shrink and the CPU does
    less work (unstructured zeros would not speed up dense kernels)."""
    cfg = model.cfg
    ff = max(1, round(cfg.ff * keep))
    small = Denoiser(DenoiserConfig(**{**cfg.to_dict(), "ff": ff}))
    state = model.state_dict()
    for i, layer in enumerate(model.encoder.layers):
        score = layer.linear1.weight.norm(dim=1) * layer.linear2.weight.norm(dim=0)  # (ff,)
        top = score.topk(ff).indices.sort().values
        p = f"encoder.layers.{i}."
        state[p + "linear1.weight"] = layer.linear1.weight[top]
        state[p + "linear1.bias"] = layer.linear1.bias[top]
        state[p + "linear2.weight"] = layer.linear2.weight[:, top]
    small.load_state_dict(state)
    return small.eval()


def quantize_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of every nn.Linear (weights int8, activations quantised per batch).
    The transformer's fused fast path cannot take quantised weights; the caller must disable it
    (`torch.backends.mha.set_fastpath_enabled(False)`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eager-mode quantisation is deprecated in favour of torchao
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
