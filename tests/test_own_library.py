"""A studio's own library on its own skeleton, end to end: train, export, generate, judge (issue: any skeleton).

The library is made from the sample clips: other joint names, no toe joints, 60 fps, labels of its own,
given as sidecar .json files, a labels.csv manifest or ACTION/STYLE/ folders."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.motion.clip import load_clip

sys.path.insert(0, str(Path(__file__).parent / "blender"))
from library import TINY_CONFIG, build_library  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("layout", ["sidecar", "csv", "folders"])
def test_a_library_on_its_own_skeleton_trains_generates_and_is_judged(tmp_path, capsys, layout):
    lib = build_library(tmp_path / "lib", layout)
    assert main(["data", "stats", str(lib)]) == 0
    stats = capsys.readouterr().out
    assert "fps: 60" in stats and "joints: 20" in stats and "strut" in stats and "greet" in stats
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    run, weights = tmp_path / "run", tmp_path / "mine.safetensors"
    assert main(["train", "--config", str(config), "--data", str(lib), "--out", str(run)]) == 0
    assert main(["export", str(run), "--out", str(weights), "--config", str(config)]) == 0
    assert main(["generate", "--model", str(weights), "--action", "strut", "--style", "mine", "--seconds", "2",
                 "--count", "2", "--out", str(tmp_path / "gen")]) == 0
    made = sorted((tmp_path / "gen").glob("*.bvh"))
    first = load_clip(made[0])
    want = load_clip(next(lib.rglob("my_take_000.bvh")))
    assert first.skeleton.names == want.skeleton.names
    assert np.array_equal(first.skeleton.parents, want.skeleton.parents)
    assert abs(first.fps - 60) < 1e-3 and first.num_frames == 120
    recognizer = tmp_path / "judge.safetensors"
    assert main(["evaluate", "train-recognizer", "--data", str(lib), "--steps", "5", "--out", str(recognizer)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "clips", str(tmp_path / "gen"), "--data", str(lib), "--recognizer", str(recognizer),
                 "--reference", str(lib)]) == 0
    table = capsys.readouterr().out
    assert "| gen " in table and "| strut " in table  # the generated set's row and its action's row


def unnamed_library(folder: Path) -> Path:
    """The sidecar library with sides named so that no convention pairs them ("upperarm_a", "upperarm_b") and
    no joint named foot, toe or ankle ("sole_a")."""
    lib = build_library(folder, "sidecar")
    for path in lib.glob("*.bvh"):
        text = path.read_text().replace("_l\n", "_a\n").replace("_r\n", "_b\n")
        path.write_text(text.replace("foot_", "sole_"))
    return lib


def test_a_skeleton_without_left_right_or_foot_names_trains_without_mirrors_or_contacts(tmp_path):
    from core.data.corpus import load_corpus
    from core.training.data import encode_segments

    lib = unnamed_library(tmp_path / "lib")
    corpus = load_corpus(str(lib), cache=tmp_path / "cache")
    assert "upperarm_a" in corpus.skeleton.names
    with pytest.warns(UserWarning) as warned:
        raw, actions, _ = encode_segments(corpus, "train", augment=True, min_frames=1)
    said = " ".join(str(w.message) for w in warned)
    assert "no left/right joint pairs" in said and "no foot joints" in said
    assert len(raw) == len(corpus.segments("train"))  # each take once: no mirrored copies


SIDES = ("clavicle", "upperarm", "forearm", "hand", "thigh", "calf", "sole")


def test_a_library_names_its_left_right_pairs_and_feet_in_skeleton_json(tmp_path, capsys):
    """Without the notes this library neither mirrors nor can be judged (no hips to face by); with them it
    trains with mirrored copies and foot contacts, its weights keep them, and its generated clips are judged."""
    import warnings

    from core.data.corpus import load_corpus
    from core.motion.representation import representation_for
    from core.training.data import encode_segments

    lib = unnamed_library(tmp_path / "lib")
    notes = {"mirror_pairs": [[f"{n}_a", f"{n}_b"] for n in SIDES], "foot_joints": ["sole_a", "sole_b"]}
    (lib / "skeleton.json").write_text(json.dumps(notes))
    assert main(["data", "stats", str(lib)]) == 0
    stats = capsys.readouterr().out
    assert "left/right pairs (skeleton.json): clavicle_a/clavicle_b" in stats
    assert "foot joints (skeleton.json): sole_a, sole_b" in stats

    corpus = load_corpus(str(lib), cache=tmp_path / "cache")
    rep = representation_for(corpus.skeleton)
    assert [corpus.skeleton.names[j] for j in rep.feet] == ["sole_a", "sole_b"]
    assert rep.across @ (corpus.skeleton.offsets[corpus.skeleton.index("thigh_a")]
                         - corpus.skeleton.offsets[corpus.skeleton.index("thigh_b")]) > 0  # the first is left
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither "no left/right pairs" nor "no foot joints"
        raw, _, _ = encode_segments(corpus, "train", augment=True, min_frames=1)
    assert len(raw) == 2 * len(corpus.segments("train"))  # each take and its mirror

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_CONFIG))
    run, weights, gen = tmp_path / "run", tmp_path / "mine.safetensors", tmp_path / "gen"
    assert main(["train", "--config", str(config), "--data", str(lib), "--out", str(run)]) == 0
    assert main(["export", str(run), "--out", str(weights), "--config", str(config)]) == 0
    assert main(["generate", "--model", str(weights), "--action", "strut", "--seconds", "2", "--out", str(gen)]) == 0
    assert json.loads((gen / "skeleton.json").read_text()) == notes  # the clips carry the notes on
    recognizer = tmp_path / "judge.safetensors"
    assert main(["evaluate", "train-recognizer", "--data", str(lib), "--steps", "5", "--out", str(recognizer)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "clips", str(gen), "--data", str(lib), "--recognizer", str(recognizer),
                 "--reference", str(lib)]) == 0
    assert "| gen " in capsys.readouterr().out


def test_skeleton_json_naming_a_joint_the_library_lacks_is_an_error_naming_both(tmp_path, capsys):
    lib = unnamed_library(tmp_path / "lib")
    (lib / "skeleton.json").write_text(json.dumps({"mirror_pairs": [["thigh_a", "thigh_left"]]}))
    assert main(["data", "stats", str(lib)]) != 0
    err = capsys.readouterr().err
    assert "skeleton.json" in err and "thigh_left" in err
    (lib / "skeleton.json").write_text(json.dumps({"foot_joints": "sole_a"}))
    assert main(["data", "stats", str(lib)]) != 0
    assert "foot_joints must be a list" in capsys.readouterr().err
