"""Shipped weight files: tensors in safetensors (no pickle), everything else as JSON in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import GenAnimError
from ..motion.skeleton import Skeleton


def skeleton_to_json(skel: Skeleton) -> dict:
    return {
        "names": list(skel.names),
        "parents": skel.parents.tolist(),
        "offsets": skel.offsets.tolist(),
        "end_sites": {str(k): np.asarray(v).tolist() for k, v in skel.end_sites.items()},
        "channels": [list(c) for c in skel.channels],
    }


def skeleton_from_json(d: dict) -> Skeleton:
    return Skeleton(
        tuple(d["names"]),
        np.array(d["parents"]),
        np.array(d["offsets"]),
        {int(k): np.array(v) for k, v in d["end_sites"].items()},
        tuple(tuple(c) for c in d["channels"]),
    )


def save_weights(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write tensors and a JSON-able `meta` dict to a .safetensors file (atomically)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp),
              metadata={"genanim": json.dumps(meta)})
    tmp.replace(path)


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, meta) of a file written by `save_weights`; GenAnimError if it is not one."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise GenAnimError(f"{path}: no such weights file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["genanim"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except (OSError, KeyError, ValueError, SafetensorError) as e:
        raise GenAnimError(f"{path}: not a GenAnim weights file ({e})") from None
    return tensors, meta
