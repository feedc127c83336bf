"""`scripts/latent_diagnosis.py`: the waves' hand speed and the decodes of the encoder's posterior means."""

from __future__ import annotations

import sys

import numpy as np
from conftest import REPO, SAMPLES
from test_families import tiny

from core.data.corpus import load_corpus
from core.evaluation.suite import ClipSet
from core.generation import load_generator
from core.motion.clip import load_clip
from core.training.families import ema_vae
from core.training.train import CHECKPOINT, export_weights, load_checkpoint, train

sys.path.insert(0, str(REPO / "scripts"))
import latent_diagnosis  # noqa: E402

WAVE = "dataset-2_wave-right-hand_feminine_001"


def waves(clip) -> ClipSet:
    return ClipSet("w", [clip], ["wave-right-hand"], ["feminine"])


def test_wave_hand_speed_falls_when_the_swing_slows_or_freezes():
    clip = load_clip(SAMPLES / f"{WAVE}.bvh")
    real = latent_diagnosis.wave_hand_speed(waves(clip))
    assert 0.5 < real < 20  # cm per frame
    slow = load_clip(SAMPLES / f"{WAVE}.bvh")
    slow.rotations, slow.translations = (np.repeat(v, 2, axis=0) for v in (slow.rotations, slow.translations))
    assert latent_diagnosis.wave_hand_speed(waves(slow)) < 0.6 * real  # each swing over twice the frames
    frozen = load_clip(SAMPLES / f"{WAVE}.bvh")
    frozen.rotations[:] = frozen.rotations[:1]
    frozen.translations[:] = frozen.translations[:1]
    assert latent_diagnosis.wave_hand_speed(waves(frozen)) == 0.0


def test_posterior_decodes_give_each_clip_its_length_and_labels(tmp_path):
    train(tiny("cvae", steps=2), tmp_path / "run", progress=False)
    export_weights(tmp_path / "run" / CHECKPOINT, tmp_path / "cvae.safetensors")
    gen = load_generator(str(tmp_path / "cvae.safetensors"), "cpu")
    vae = ema_vae(load_checkpoint(tmp_path / "run" / CHECKPOINT))
    names = [WAVE, "dataset-2_walk_normal_001"]
    ref = ClipSet("r", [load_clip(SAMPLES / f"{n}.bvh") for n in names], ["wave-right-hand", "walk"],
                  ["feminine", "normal"])
    got = latent_diagnosis.posterior_decodes(gen, vae.encoder, ref, load_corpus(str(SAMPLES)).vocabulary, 1.5)
    assert [c.num_frames for c in got.clips] == [c.num_frames for c in ref.clips]
    assert got.actions == ref.actions and got.styles == ref.styles
    assert all(np.isfinite(c.global_positions()).all() for c in got.clips)


def test_weakest_actions_lists_the_least_recognised_first():
    from types import SimpleNamespace

    labels = ["walk", "walk", "wave", "wave", "run"]
    probs = np.eye(3)[[0, 0, 0, 1, 2]]  # the recognizer's classes: walk, wave, run; one wave taken for a walk
    scored = SimpleNamespace(action_probs=probs, clip_set=SimpleNamespace(actions=labels))
    assert latent_diagnosis.weakest_actions(scored, ["walk", "wave", "run"], 2) == "wave 0.50, run 1.00"
