"""Shipped weight files: tensors in safetensors (no pickle), everything else as JSON in its metadata.
Reading needs numpy only (`core.runtime.safetensors`); torch is imported where tensors are asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import GenAnimError
from ..runtime.safetensors import read_safetensors

if TYPE_CHECKING:
    import torch


def save_weights(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write tensors and a JSON-able `meta` dict to a .safetensors file (atomically)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp),
              metadata={"genanim": json.dumps(meta)})
    tmp.replace(path)


def read_weights(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of a file written by `save_weights`; GenAnimError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise GenAnimError(f"{path}: no such weights file")
    arrays, header = read_safetensors(path, "GenAnim weights file")
    try:
        meta = json.loads(header["genanim"])
    except (KeyError, ValueError) as e:
        raise GenAnimError(f"{path}: not a GenAnim weights file (no readable genanim metadata: {e})") from None
    return arrays, meta


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """`read_weights` with torch tensors."""
    import torch

    arrays, meta = read_weights(path)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}, meta
