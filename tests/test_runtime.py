"""The numpy runtime against torch on the shipped weights: every file reads as the safetensors package
reads it, and every diffusion model samples the same motion on both backends (issue: zero-install
add-on). A new model cannot ship without its numpy path: this test runs on every file in weights/."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, SAMPLES

from core.errors import GenAnimError
from core.generation import load_generator
from core.models.weights import read_weights
from core.motion.clip import load_clip
from core.runtime.safetensors import read_safetensors

WEIGHTS = sorted((REPO / "weights").glob("*.safetensors"))


def _kind(path) -> str | None:
    try:
        return read_weights(path)[1].get("kind")
    except GenAnimError:  # the recognizer's file has metadata of its own
        return None


DIFFUSION = [p for p in WEIGHTS if _kind(p) == "diffusion"]
LATENT = [p for p in WEIGHTS if _kind(p) in ("vae", "cvae", "gan", "cgan")]
WALK = SAMPLES / "dataset-2_walk_normal_001.bvh"


@pytest.mark.parametrize("path", WEIGHTS, ids=lambda p: p.name)
def test_numpy_reader_reads_what_safetensors_reads(path):
    from safetensors.numpy import load_file

    mine, _ = read_safetensors(path)
    theirs = load_file(str(path))
    assert mine.keys() == theirs.keys()
    for k, v in theirs.items():
        assert mine[k].dtype == v.dtype and np.array_equal(mine[k], v), k


@pytest.mark.parametrize("path", DIFFUSION, ids=lambda p: p.name)
def test_numpy_diffusion_matches_torch(path):
    """The denoised output on the same inputs (fp32) within 1e-4, and a generated clip's and an
    in-between's joint positions within 0.1 mm of the torch backend's with the same seed."""
    gens = [load_generator(str(path), "cpu", backend=b) for b in ("torch", "numpy")]
    rng = np.random.default_rng(0)
    n, d = 96, gens[0].mean.shape[0]
    x, known = rng.standard_normal((2, 2, n, d), np.float32)
    mask = (rng.random((2, n, d)) < 0.2).astype(np.float32)
    args = (x, np.array([900, 20]), np.array([0, -1]), np.array([1, -1]), known, mask, np.array([True, False]))
    torch_x0, numpy_x0 = (g.denoise(*args) for g in gens)
    assert np.abs(torch_x0 - numpy_x0).max() <= 1e-4

    clips = [g.generate("walk", "normal", 3.0, count=2, seed=4)[1] for g in gens]
    assert np.abs(clips[0].global_positions() - clips[1].global_positions()).max() <= 0.01  # cm
    src = load_clip(WALK)
    filled = [g.inbetween(src, 20, 50, samples=2) for g in gens]
    assert np.abs(filled[0].global_positions() - filled[1].global_positions()).max() <= 0.01


@pytest.mark.parametrize("path", LATENT, ids=lambda p: p.name)
def test_numpy_latent_decoders_match_torch(path):
    """The decoded features of the same latents within 1e-4, and a generated clip's joint positions
    within 0.1 mm of the torch backend's with the same seed (prior, guidance and clean-up included)."""
    gens = [load_generator(str(path), "cpu", backend=b) for b in ("torch", "numpy")]
    z = np.random.default_rng(0).standard_normal((2, gens[0].arch["latent"], 7)).astype(np.float32)
    labels = (np.array([0, -1]), np.array([1, -1]))
    for lengths in (None, np.array([50, 37])):  # clips of all 56 frames, or shorter (where phase channels end)
        assert np.abs(gens[0].decode(z, *labels, lengths) - gens[1].decode(z, *labels, lengths)).max() <= 1e-4
    action = ("walk", "normal") if gens[0].conditional else (None, None)
    clips = [g.generate(*action, 3.0, count=2, seed=4)[1] for g in gens]
    assert np.abs(clips[0].global_positions() - clips[1].global_positions()).max() <= 0.01  # cm


def test_numpy_controller_matches_torch():
    """The live controller's numpy decoder against the torch network it was trained as, on the shipped
    weights: the next frame within 1e-4 for random states, controls, latents and labels."""
    import torch

    from core.control.model import ControllerConfig, ControllerNet
    from core.runtime.controller import NumpyControllerNet

    arrays, meta = read_weights(REPO / "weights" / "controller.safetensors")
    state = {k[len("model."):]: v.astype(np.float32) for k, v in arrays.items() if k.startswith("model.")}
    net = ControllerNet(ControllerConfig(**meta["model"]))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    rng = np.random.default_rng(0)
    cfg = net.cfg
    z, x = rng.standard_normal((2, cfg.latent), np.float32), rng.standard_normal((2, cfg.dim), np.float32)
    control = rng.standard_normal((2, net.decoder.layers[0].in_features - cfg.dim - 2 * cfg.emb - cfg.latent),
                                  np.float32)
    style, action = np.array([0, -1]), np.array([3, -1])
    with torch.no_grad():
        ref = net.decode(*(torch.from_numpy(v) for v in (z, x, control, style, action))).numpy()
    assert np.abs(NumpyControllerNet(state, meta["model"]).decode(z, x, control, style, action) - ref).max() <= 1e-4


def test_generate_and_inbetween_run_without_torch(tmp_path):
    """With torch and safetensors unimportable (a stock Blender), the models still generate and fill gaps,
    and asking for the torch backend says plainly that it is missing."""
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['safetensors'] = None\n"
        "from core.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def run(*argv):
        return subprocess.run([sys.executable, "-c", code, *argv], cwd=REPO, capture_output=True, text=True,
                              timeout=600)

    r = run("generate", "--action", "walk", "--seconds", "2", "--out", str(tmp_path / "gen"))
    assert r.returncode == 0, r.stderr
    assert load_clip(next((tmp_path / "gen").glob("*.bvh"))).num_frames == 60
    r = run("inbetween", str(WALK), "--from", "20", "--to", "50", "--out", str(tmp_path / "fill.bvh"),
            "--samples", "2")
    assert r.returncode == 0, r.stderr
    r = run("generate", "--backend", "torch", "--out", str(tmp_path / "t"))
    assert r.returncode == 2 and "PyTorch is not installed" in r.stderr and "Traceback" not in r.stderr
    r = run("generate", "--model", "cvae", "--action", "walk", "--out", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
