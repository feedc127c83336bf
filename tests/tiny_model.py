"""A diffusion model trained for seconds on the sample clips: what the generation and command tests run.
(Not in conftest.py: tests/blender has a conftest of its own, and a full run imports only one of them.)"""

from __future__ import annotations

from pathlib import Path

from conftest import SAMPLES

WALK = SAMPLES / "dataset-2_walk_normal_001.bvh"
TINY = {
    "data": str(SAMPLES), "model": {"width": 32, "layers": 1, "heads": 2, "ff": 64, "dropout": 0.0},
    "window": 40, "batch": 4, "steps": 3, "warmup": 1, "val_every": 3, "val_batches": 1, "threads": 1,
    "sample_steps": 4,
}


def train_tiny(run: Path) -> Path:
    """Train TINY into `run` and export its weights; their path."""
    from core.training.config import TrainConfig
    from core.training.train import export_weights, train

    train(TrainConfig.from_dict(TINY), run, progress=False)
    export_weights(run / "checkpoint.pt", run / "tiny.safetensors")
    return run / "tiny.safetensors"
