"""Archive extraction cache, corpus loading, split, windows and normalisation statistics."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES
from test_labels import D1_ACTIONS, D1_STYLES, D2_ACTIONS, D2_STYLES, write_cfg

from core.data import archives
from core.data import corpus as corpus_mod
from core.data.archives import MARKER, cache_root, extract_archive
from core.data.corpus import ClipInfo, _fast_bvh, clip_arrays, load_corpus, split_segments
from core.data.errors import ArchiveError, CorpusError, DataError
from core.errors import MotionDataError
from core.motion.clip import load_clip, save_clip
from core.motion.representation import encode
from core.motion.rotations import quat_to_matrix


@pytest.fixture
def samples(tmp_path) -> Path:
    """The sample clips with their .json files in a folder of their own (no cfg/ lists)."""
    folder = tmp_path / "samples"
    shutil.copytree(SAMPLES, folder)
    for p in folder.iterdir():
        p.chmod(0o644)
    return folder


def dataset_tree(root: Path) -> Path:
    """Samples laid out like the archives: <name>/{cfg,data} per dataset."""
    for ds, actions, styles in (("1", D1_ACTIONS, D1_STYLES), ("2", D2_ACTIONS, D2_STYLES)):
        top = root / f"Bandai-Namco-Research-Motiondataset-{ds}"
        write_cfg(top, f"dataset-{ds}", actions, styles)
        (top / "data").mkdir(parents=True)
        for p in SAMPLES.glob(f"dataset-{ds}_*"):
            shutil.copy(p, top / "data" / p.name)
    return root


def make_tar(path: Path, folder: Path) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=p.name)
    return path


# --- archives ---------------------------------------------------------------------


def test_cache_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GENANIM_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("GENANIM_CACHE")
    assert cache_root() == archives.REPO_ROOT / ".cache" / "genanim"


def test_extract_verify_and_reextract(tmp_path, monkeypatch):
    archive = make_tar(tmp_path / "tiny.tar.xz", dataset_tree(tmp_path / "tree"))
    cache = tmp_path / "cache"
    dest = extract_archive(archive, cache)
    marker = json.loads((dest / MARKER).read_text())
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file() and p.name != MARKER)
    assert marker["files"] == len(files) == 16 + 4
    assert marker["size"] == archive.stat().st_size and len(marker["sha256"]) == 64
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left

    # A valid extraction is reused without opening the archive.
    def no_open(*a, **k):
        raise AssertionError("re-extracted")

    with monkeypatch.context() as m:
        m.setattr(archives.tarfile, "open", no_open)
        assert extract_archive(archive, cache) == dest

    # A lost file, a lost marker (interrupted extraction) or a changed archive: extracted again.
    victim = next(dest.rglob("*.bvh"))
    victim.unlink()
    extract_archive(archive, cache)
    assert victim.is_file()
    (dest / MARKER).unlink()
    extract_archive(archive, cache)
    assert (dest / MARKER).is_file()
    (tmp_path / "tree" / "extra.txt").write_text("new")
    make_tar(archive, tmp_path / "tree")
    os.utime(archive, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert (extract_archive(archive, cache) / "extra.txt").is_file()


def test_corrupt_archive_is_an_error(tmp_path):
    archive = make_tar(tmp_path / "tiny.tar.xz", dataset_tree(tmp_path / "tree"))
    data = archive.read_bytes()
    bad = tmp_path / "bad.tar.xz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="bad.tar.xz"):
        extract_archive(bad, tmp_path / "cache")
    assert not (tmp_path / "cache" / "archives" / "bad").exists()


# --- loading ----------------------------------------------------------------------


def test_fast_reader_matches_clip_from_bvh():
    for p in sorted(SAMPLES.glob("*.bvh")):
        ref = load_clip(p)
        rot, trans = clip_arrays(_fast_bvh(p, p.read_bytes()))
        np.testing.assert_allclose(quat_to_matrix(rot), ref.rotation_matrices(), atol=1e-12)
        np.testing.assert_array_equal(trans, ref.translations)


def test_load_folder_by_file_names(samples, tmp_path):
    corpus = load_corpus(samples, cache=tmp_path / "cache")
    assert len(corpus) == 8 and corpus.skeleton.num_joints == 22
    assert corpus.fps == pytest.approx(30, abs=1e-3)
    by_name = {c.name: c for c in corpus.clips}
    info = by_name["dataset-2_walk-turn-left_elderly_001"]
    assert (info.dataset, info.action, info.style, info.take) == ("dataset-2", "walk-turn-left", "elderly", 1)
    i = corpus.clips.index(info)
    item = corpus[i]
    ref = load_clip(samples / f"{info.name}.bvh")
    assert item.action == "walk-turn-left" and item.clip.num_frames == ref.num_frames
    np.testing.assert_allclose(item.clip.global_positions(), ref.global_positions(), atol=0.01)
    assert set(corpus.counts("dataset")) == {"dataset-1", "dataset-2"}
    assert corpus.vocabulary.action_id("walk") >= 0
    # Warm: same corpus from the packed cache.
    warm = load_corpus(samples, cache=tmp_path / "cache")
    assert warm.cache_dir == corpus.cache_dir and warm.clips == corpus.clips
    assert isinstance(warm.rotations, np.memmap)


def test_cache_invalidated_when_sources_change(samples, tmp_path):
    cache = tmp_path / "cache"
    first = load_corpus(samples, cache=cache)
    for suffix in (".bvh", ".json"):
        (samples / f"dataset-2_run_active_001{suffix}").unlink()
    second = load_corpus(samples, cache=cache)
    assert len(second) == 7 and second.cache_dir != first.cache_dir
    assert not first.cache_dir.exists()  # the stale cache of the same folder is gone


def test_a_second_job_keeps_the_cache_a_first_job_is_reading(samples, tmp_path):
    # Two jobs started together both pack the same sources; the one finishing last must not delete
    # the arrays the first is already reading (it did: "rotations.npy: No such file or directory").
    cache = tmp_path / "cache"
    first = load_corpus(samples, cache=cache)
    rot = first.cache_dir / "rotations.npy"
    inode = rot.stat().st_ino
    second = corpus_mod._build([samples], cache, first.cache_dir, 1, False, replace=False)
    assert rot.stat().st_ino == inode and second.clips == first.clips
    refreshed = load_corpus(samples, cache=cache, refresh=True)  # a refresh does replace it ...
    assert rot.stat().st_ino != inode
    np.testing.assert_array_equal(first.rotations, refreshed.rotations)  # ... and the old arrays stay readable
    assert sorted(p.name for p in (cache / "corpus").iterdir()) == [first.cache_dir.name]  # no leftovers
    rot.write_bytes(b"damaged")
    assert load_corpus(samples, cache=cache).rotations.shape == first.rotations.shape  # a damaged one is rebuilt


def test_cli_stats(samples, tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("GENANIM_CACHE", str(tmp_path / "cache"))
    assert main(["data", "stats", str(samples), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["clips"] == 8 and stats["clips_per_action"]["walk"] == 2
    assert stats["frames"] == stats["train_frames"] + stats["val_frames"]
    assert main(["data", "stats", str(samples)]) == 0
    out = capsys.readouterr().out
    assert "clips: 8" in out and "walk-turn-left" in out
    assert main(["data", "stats", str(tmp_path / "nowhere")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_load_archive_with_json_labels(tmp_path):
    tree = dataset_tree(tmp_path / "tree")
    # Rename a clip: its labels must now come from the .json sidecar and cfg/ lists, not the name.
    data = tree / "Bandai-Namco-Research-Motiondataset-2" / "data"
    for suffix in (".bvh", ".json"):
        (data / f"dataset-2_run_active_001{suffix}").rename(data / f"take-a{suffix}")
    archive = make_tar(tmp_path / "tiny.tar.xz", tree)
    corpus = load_corpus(archive, cache=tmp_path / "cache")
    info = next(c for c in corpus.clips if c.name == "take-a")
    assert (info.dataset, info.action, info.style) == ("dataset-2", "run", "active")
    assert info.source.startswith("tiny/Bandai-Namco-Research-Motiondataset-2/data/")
    # The vocabulary is the union of both cfg/ lists, same words once.
    assert len(corpus.vocabulary.actions) == 25 and len(corpus.vocabulary.styles) == 19


def test_a_copy_of_the_same_archive_reuses_the_caches(tmp_path, monkeypatch):
    # A new download or a remounted share gives the same archive a new mtime: neither the extraction
    # nor the packed corpus is made again (the corpus was rebuilt at every session's start).
    archive = make_tar(tmp_path / "tiny.tar.xz", dataset_tree(tmp_path / "tree"))
    cache = tmp_path / "cache"
    first = load_corpus(archive, cache=cache)
    os.utime(archive, ns=(time.time_ns(), time.time_ns() + 10**9))
    with monkeypatch.context() as m:
        m.setattr(corpus_mod, "_build", lambda *a, **k: pytest.fail("corpus packed again"))
        assert load_corpus(archive, cache=cache).cache_dir == first.cache_dir
        hashed = []
        m.setattr(archives, "file_sha256", lambda path: hashed.append(path) or "")
        load_corpus(archive, cache=cache)  # the new mtime was noted: no hashing either
        assert not hashed
    # Other contents under the same name are another corpus.
    (tmp_path / "tree" / "extra.txt").write_text("new")
    make_tar(archive, tmp_path / "tree")
    assert load_corpus(archive, cache=cache).cache_dir != first.cache_dir


def test_mixed_skeletons_is_an_error(samples, tmp_path):
    path = samples / "dataset-1_kick_normal_001.bvh"
    clip = load_clip(path)
    j = clip.skeleton.index("LowerArm_L")
    clip.translations[:, j] *= 1.3  # a longer upper arm (all joints carry position channels)
    save_clip(clip, path)
    with pytest.raises(CorpusError, match="dataset-1_kick_normal_001.bvh: skeleton differs"):
        load_corpus(samples, cache=tmp_path / "cache")


def test_bad_bvh_names_the_file(samples, tmp_path):
    path = samples / "dataset-2_walk_normal_001.bvh"
    lines = path.read_text().splitlines()
    lines[-3] = lines[-3].replace(" ", " nan ", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(MotionDataError, match=r"dataset-2_walk_normal_001.bvh, line \d+"):
        load_corpus(samples, cache=tmp_path / "cache")


def test_a_failed_build_stops_its_workers(samples, tmp_path):
    """A bad clip among many: the error comes back, and no worker process is left behind."""
    for i in range(2, 40):
        shutil.copy(samples / "dataset-2_walk_normal_001.bvh", samples / f"dataset-2_walk_normal_{i:03d}.bvh")
    (samples / "dataset-2_walk_normal_002.bvh").write_text("HIERARCHY\nnot a skeleton\n")
    with pytest.raises(MotionDataError, match="dataset-2_walk_normal_002.bvh"):
        load_corpus(samples, cache=tmp_path / "cache")
    assert not multiprocessing.active_children()


def test_unlabelled_file_is_left_out_and_named(samples, tmp_path, capsys):
    shutil.copy(samples / "dataset-2_walk_normal_001.bvh", samples / "my clip.bvh")
    corpus = load_corpus(samples, cache=tmp_path / "cache")
    assert "my clip" not in [c.name for c in corpus.clips] and len(corpus) == 8
    assert [f for f, _ in corpus.unlabelled] == ["samples/my clip.bvh"]
    assert "1 clip(s)" in capsys.readouterr().err


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_corpus(tmp_path / "nowhere", cache=tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no .bvh files"):
        load_corpus(tmp_path / "empty", cache=tmp_path / "cache")


# --- split, windows, statistics ---------------------------------------------------


def fake_clips() -> list[ClipInfo]:
    clips, start = [], 0
    for take in range(1, 21):  # a dataset-2 style group: 20 takes
        n = 50 + take
        name = f"dataset-2_walk_normal_{take:03d}"
        clips.append(ClipInfo(name, "dataset-2", "walk", "normal", take, "", start, start + n))
        start += n
    for action in ("bow", "kick"):  # dataset-1 style: one take each
        clips.append(ClipInfo(f"dataset-1_{action}_happy_001", "dataset-1", action, "happy", 1, "", start, start + 101))
        start += 101
    return clips


def test_split_rule_deterministic_and_disjoint():
    clips = fake_clips()
    train, val = split_segments(clips, "train"), split_segments(clips, "val")
    names = lambda segs, cl: {(cl[s.clip].name, s.start, s.stop) for s in segs}  # noqa: E731
    # Whole takes held out: the two highest take numbers of the 20.
    val_takes = sorted(clips[s.clip].take for s in val if clips[s.clip].dataset == "dataset-2")
    assert val_takes == [19, 20]
    assert all(s.start == 0 and s.stop == clips[s.clip].num_frames for s in val if s.clip < 20)
    # One-take groups: the last 20% of frames.
    d1 = [(s.start, s.stop) for s in val if clips[s.clip].dataset == "dataset-1"]
    assert d1 == [(80, 101), (80, 101)]
    # Disjoint, and together every frame once.
    covered = {}
    for s in train + val:
        for f in range(s.start, s.stop):
            assert (s.clip, f) not in covered
            covered[(s.clip, f)] = True
    assert len(covered) == sum(c.num_frames for c in clips)
    # Deterministic whatever the order of the clips.
    shuffled = clips[:]
    random.Random(0).shuffle(shuffled)
    assert names(split_segments(shuffled, "val"), shuffled) == names(val, clips)
    assert names(split_segments(shuffled, "train"), shuffled) == names(train, clips)
    # Every label in both splits.
    for segs in (train, val):
        assert {clips[s.clip].action for s in segs} == {"walk", "bow", "kick"}
    with pytest.raises(DataError, match="unknown split"):
        split_segments(clips, "test")


def test_windows_and_stats(samples, tmp_path):
    corpus = load_corpus(samples, cache=tmp_path / "cache")
    train = corpus.segments("train")
    win = corpus.windows("train", length=32, stride=16)
    expected = sum(max(0, (s.num_frames - 32) // 16 + 1) for s in train)
    assert len(win) == expected and win.rotations.shape == (expected, 32, 22, 4)
    assert win.translations.dtype == np.float32
    k = 3
    seg_clip = corpus.clip(int(win.clip[k]))
    np.testing.assert_allclose(win.rotations[k], seg_clip.rotations[win.start[k]: win.start[k] + 32], atol=1e-6)
    assert corpus.vocabulary.actions[win.action[k]] == corpus.clips[win.clip[k]].action

    # A stand-in encoder: the statistics are those of all train frames.
    def stand_in(clip):
        return clip.global_positions().reshape(clip.num_frames, -1)

    stats = corpus.feature_stats(stand_in)
    frames = np.concatenate([stand_in(corpus.segment_clip(s)) for s in train])
    assert stats.frames == len(frames)
    np.testing.assert_allclose(stats.mean, frames.mean(0), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(stats.std, np.where(frames.std(0) < 1e-6, 1, frames.std(0)), rtol=1e-4, atol=1e-3)
    stats.save(tmp_path / "stats.npz")
    np.testing.assert_array_equal(type(stats).load(tmp_path / "stats.npz").std, stats.std)

    # The learning representation: features in windows, normalised to zero mean over train.
    rep_stats = corpus.feature_stats()
    feats = corpus.windows("train", 32, 32, encode=encode)
    assert feats.features.shape[1:] == (32, rep_stats.mean.shape[0])
    assert np.isfinite(rep_stats.normalise(feats.features)).all()


@pytest.mark.slow
def test_full_shared_archives(tmp_path, monkeypatch):
    corpus = load_corpus("bandai-namco", cache=tmp_path / "cache")
    assert len(corpus) == 2787 and corpus.counts("dataset") == {"dataset-1": 174, "dataset-2": 2613}
    assert len(corpus.vocabulary.actions) == 25 and len(corpus.vocabulary.styles) == 19
    train, val = corpus.segments("train"), corpus.segments("val")
    for key in ("action", "style"):
        assert {getattr(corpus.clips[s.clip], key) for s in train} == {getattr(corpus.clips[s.clip], key) for s in val}
    held = [s for s in val if corpus.clips[s.clip].dataset == "dataset-2"]
    assert 0.08 < len(held) / 2613 < 0.13
    # Warm: read from the packed cache (how fast is bench/bench_data.py's business, not a test's).
    monkeypatch.setattr(corpus_mod, "_build", lambda *a, **k: pytest.fail("corpus packed again"))
    warm = load_corpus("bandai-namco", cache=tmp_path / "cache")
    assert warm.clips == corpus.clips and isinstance(warm.rotations, np.memmap)
