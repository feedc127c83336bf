"""scripts/device_train.sh on the CPU: the data travels in pieces that fit a call and is joined and checked on
the other side; a run trains there, comes back exported and as a checkpoint in pieces, and resumes here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, SAMPLES

from core.training.train import CHECKPOINT, load_checkpoint

SCRIPT = REPO / "scripts" / "device_train.sh"
CONFIG = {"data": str(SAMPLES), "model": {"width": 32, "layers": 1, "heads": 2, "ff": 64}, "window": 40, "batch": 4,
          "steps": 4, "warmup": 2, "val_every": 2, "val_batches": 1, "checkpoint_every": 2, "threads": 1}


@pytest.mark.slow
def test_data_in_pieces_then_a_run_trained_there_resumes_here(tmp_path):
    shared = tmp_path / "shared" / "bandai-namco"
    shared.mkdir(parents=True)
    rng = np.random.default_rng(0)
    archives = {"dataset-1.tar.xz": rng.bytes(3000), "dataset-2-train.tar.xz": rng.bytes(7000)}
    for name, data in archives.items():
        (shared / name).write_bytes(data)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(CONFIG))
    env = {**os.environ, "GENANIM_DATA": str(tmp_path / "shared"), "DEVICE_PARTS": str(tmp_path / "parts"),
           "DEVICE_ROOM": "4000", "GENANIM_STASH": str(tmp_path / "stash"), "PYTHON": sys.executable, "DEVICE": "cpu",
           "OUT": str(tmp_path / "out"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    def sh(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env={**env, **extra}, capture_output=True,
                              text=True, timeout=300)

    assert sh("pack").returncode == 0
    parts = sorted((tmp_path / "parts").iterdir())
    assert len(parts) == 3  # 10,000 bytes in pieces of at most 4,000, as few as fit
    for part in parts:
        assert sum(f.stat().st_size for f in part.iterdir() if f.name != "MANIFEST") <= 4000

    def carried(k: int) -> str:  # what one call brings: that part alone
        view = tmp_path / f"call{k}"
        shutil.copytree(parts[k], view / parts[k].name)
        return str(view)

    # a piece never stashed: the join is refused in plain words
    r = sh("train", str(config), "1", DEVICE_PARTS=carried(2), GENANIM_STASH=str(tmp_path / "other"))
    assert r.returncode != 0 and "a data piece is missing or damaged" in r.stderr
    for k in (0, 1):
        assert sh("stash", DEVICE_PARTS=carried(k)).returncode == 0
    (tmp_path / "out").mkdir()
    r = sh("train", str(config), "5", DEVICE_PARTS=str(tmp_path / "call2"))
    assert r.returncode == 0, r.stderr
    for name, data in archives.items():
        assert (tmp_path / "stash" / "data" / "bandai-namco" / name).read_bytes() == data
    out = sorted(f.name for f in (tmp_path / "out").iterdir())
    assert {"tiny.safetensors", "tiny.md", "tiny.checkpoint.0"} <= set(out)
    # a later call, carrying no piece, goes on with the run and keeps the data joined before
    joined = [(tmp_path / "stash" / "data" / "bandai-namco" / name).stat().st_mtime_ns for name in archives]
    config.write_text(json.dumps({**CONFIG, "steps": 6}))
    r = sh("train", str(config), "5", DEVICE_PARTS=str(tmp_path / "none"))
    assert r.returncode == 0 and "resuming at step 4" in r.stderr, r.stderr
    assert [(tmp_path / "stash" / "data" / "bandai-namco" / name).stat().st_mtime_ns for name in archives] == joined

    run = tmp_path / "here"
    assert sh("fetch", str(tmp_path / "out"), str(run)).returncode == 0
    assert load_checkpoint(run / CHECKPOINT)["step"] == 6
    config.write_text(json.dumps({**CONFIG, "steps": 8}))
    resumed = subprocess.run([sys.executable, "-m", "core", "train", "--config", str(config), "--out", str(run),
                              "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and "resuming at step 6" in resumed.stderr, resumed.stderr
