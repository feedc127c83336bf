"""Labels of one's own motion library: sidecar .json, a labels.csv manifest, ACTION/STYLE/ folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

from core.cli import main
from core.data.corpus import load_corpus
from core.data.labels import FolderLabeller
from core.evaluation.suite import load_folder

# (action, style) given to sample clip i, renamed my_take_00i.bvh
LABELS = [("strut", "mine"), ("strut", "calm"), ("sneak", "mine"), ("sneak", "calm")]


def _takes(folder: Path, count: int = len(LABELS)) -> list[Path]:
    """The first `count` sample clips as my_take_NNN.bvh in `folder` (their Bandai Namco .json left behind)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(sorted(SAMPLES.glob("*.bvh"))[:count]):
        dst = folder / f"my_take_{i:03d}.bvh"
        shutil.copyfile(src, dst)
        out.append(dst)
    return out


def _labels(corpus) -> dict[str, tuple[str, str]]:
    return {c.name: (c.action, c.style) for c in corpus.clips}


def _expected(names: list[str]) -> dict[str, tuple[str, str]]:
    return {n: lab for n, lab in zip(names, LABELS, strict=True)}


def test_sidecar_json_labels(tmp_path):
    lib = tmp_path / "lib"
    for p, (a, s) in zip(_takes(lib), LABELS, strict=True):
        p.with_suffix(".json").write_text(json.dumps({"action": a, "style": s}))
    (lib / "my_take_003.json").write_text(json.dumps({"action": "sneak"}))  # style optional
    corpus = load_corpus(str(lib), cache=tmp_path / "cache")
    want = _expected([f"my_take_{i:03d}" for i in range(4)])
    want["my_take_003"] = ("sneak", "none")
    assert _labels(corpus) == want and not corpus.unlabelled
    # `evaluate clips` folders are labelled by the same function
    s = load_folder(lib)
    assert s.actions == ["strut", "strut", "sneak", "sneak"] and s.styles == ["mine", "calm", "mine", None]


def test_labels_csv_manifest(tmp_path):
    lib = tmp_path / "lib"
    paths = _takes(lib / "session")
    rows = [f"session/{p.name},{a},{s}" for p, (a, s) in zip(paths, LABELS, strict=True)]
    (lib / "labels.csv").write_text("file,action,style\n" + "\n".join(rows) + "\n")
    corpus = load_corpus(str(lib), cache=tmp_path / "cache")
    assert _labels(corpus) == _expected([p.stem for p in paths])
    assert FolderLabeller(lib).label(paths[0]).source == "labels.csv"


def test_action_style_folders(tmp_path):
    lib = tmp_path / "lib"
    names = []
    for k, (a, s) in enumerate(LABELS):
        p = _takes(tmp_path / "tmp" / str(k), k + 1)[k]
        dst = lib / a / s / p.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(p, dst)
        names.append(p.stem)
    corpus = load_corpus(str(lib), cache=tmp_path / "cache")
    assert _labels(corpus) == _expected(names)
    # ACTION/*.bvh: no style
    flat = tmp_path / "flat"
    _takes(flat / "strut", 1)
    assert FolderLabeller(flat).label(flat / "strut" / "my_take_000.bvh").style is None


def test_bandai_namco_names_and_sidecars_still_label(tmp_path):
    lab = FolderLabeller(SAMPLES).label(SAMPLES / "dataset-2_walk-turn-left_elderly_001.bvh")
    assert (lab.action, lab.style, lab.dataset, lab.take) == ("walk-turn-left", "elderly", "dataset-2", 1)


def test_data_stats_names_unlabelled_clip(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENANIM_CACHE", str(tmp_path / "cache"))
    lib = tmp_path / "lib"
    for p, (a, s) in zip(_takes(lib), LABELS, strict=True):
        p.with_suffix(".json").write_text(json.dumps({"action": a, "style": s}))
    (lib / "my_take_002.json").unlink()
    assert main(["data", "stats", str(lib)]) == 0
    out = capsys.readouterr().out
    assert "strut" in out and "mine" in out  # per-label counts
    line = next(ln for ln in out.splitlines() if "my_take_002.bvh" in ln)
    assert "no my_take_002.json beside it" in line and "no labels.csv" in line
    # training-side loads leave it out with one warning line pointing to `data stats`
    load_corpus(str(lib))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 clip(s)" in err[0] and "data stats" in err[0]


def test_train_data_overrides_config(tmp_path, monkeypatch):
    from core.training.train import CHECKPOINT, load_checkpoint

    monkeypatch.setenv("GENANIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    lib = tmp_path / "lib"
    for p, (a, s) in zip(_takes(lib, 8), LABELS * 2, strict=True):
        p.with_suffix(".json").write_text(json.dumps({"action": a, "style": s}))
    run = tmp_path / "run"
    config = REPO / "configs" / "diffusion_tiny.json"
    assert json.loads(config.read_text())["data"] != str(lib)
    assert main(["train", "--config", str(config), "--data", str(lib), "--steps", "2", "--out", str(run),
                 "--device", "cpu"]) == 0
    stored = load_checkpoint(run / CHECKPOINT)["config"]
    assert stored["data"] == str(lib) and stored["steps"] == 2


@pytest.mark.parametrize("header", ["name,action,style", "file,mood"])
def test_bad_manifest_header_is_named(tmp_path, header):
    lib = tmp_path / "lib"
    _takes(lib, 1)
    (lib / "labels.csv").write_text(header + "\nmy_take_000.bvh,a,b\n")
    corpus_err = pytest.raises(Exception, match="labels.csv: expected a header row file,action,style")
    with corpus_err:
        FolderLabeller(lib).label(lib / "my_take_000.bvh")
