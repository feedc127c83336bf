"""Issue 30: bad input on the command line gives one plain line and exit 2, never a traceback, a silent
NaN, an unbounded run or a clobbered file (text encodings, unwritable --out, follow's bounds, data stats,
progress bars, failed runs, in-betweening clips of another rig or frame rate, generation in batches)."""

from __future__ import annotations

import io
import os
import pathlib
import re
import shutil
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES
from tiny_model import WALK, train_tiny

from core.cli import main
from core.control.follow import PathError, read_path
from core.data.corpus import _parse_one
from core.errors import GenAnimError, MotionDataError
from core.generation import Generator, load_generator
from core.motion.bvh import read_bvh, write_bvh

CONTROLLER = Path(__file__).resolve().parents[1] / "weights" / "controller.safetensors"


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("run"))


def one_error_line(err: str) -> str:
    """The error of a failed command: the last line, on a line of its own, the only one (tqdm's carriage
    returns do not end a line in a log)."""
    lines = [line for line in err.split("\n") if line.strip()]
    assert "Traceback" not in err and lines and lines[-1].startswith("error: "), err
    assert sum("error" in line for line in lines) == 1, err
    return lines[-1]


# --- text input: byte order marks, Latin-1, tabs ---------------------------------------------------


def test_a_byte_order_mark_neither_hides_a_bvh_nor_a_path_point(tmp_path, capsys):
    bvh = tmp_path / "bom.bvh"
    bvh.write_bytes(b"\xef\xbb\xbf" + WALK.read_bytes())
    assert read_bvh(bvh).names == read_bvh(WALK).names
    assert main(["inspect", str(bvh), "--json"]) == 0
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf0,0\r\n1,0\r\n1,1\r\n")
    assert read_path(path).tolist() == [[0, 0], [1, 0], [1, 1]]


def test_latin1_joint_names_round_trip_without_replacement_characters(tmp_path):
    src = tmp_path / "latin.bvh"
    src.write_bytes(WALK.read_bytes().replace(b"JOINT Spine", "JOINT Épine".encode("latin-1"), 1))
    bvh = read_bvh(src)
    assert "Épine" in bvh.names
    write_bvh(bvh, tmp_path / "out.bvh")
    text = (tmp_path / "out.bvh").read_text(encoding="utf-8")  # written as UTF-8
    assert "\ufffd" not in text and "JOINT Épine" in text
    assert read_bvh(tmp_path / "out.bvh").names == bvh.names


def test_path_files_from_other_tools_read_as_written(tmp_path):
    for name, data in [("tabs.csv", b"x\tz\n0\t0\n2\t0\n"), ("semicolons.csv", b"0;0\n2;0\n"),
                       ("latin.csv", "# trajet d'essai \xe9t\xe9\n0,0\n2,0\n".encode("latin-1"))]:
        (tmp_path / name).write_bytes(data)
        assert read_path(tmp_path / name).tolist() == [[0, 0], [2, 0]], name


def test_follow_names_a_binary_or_malformed_path_file(tmp_path, capsys):
    binary = tmp_path / "path.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    assert main(["follow", str(binary), "--out", str(tmp_path / "o.bvh")]) == 2
    assert f"{binary}: not a text file" in one_error_line(capsys.readouterr().err)
    with pytest.raises(PathError, match="binary"):
        read_path(binary)
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"0,0\n\xff\xfe,1\n")
    assert main(["follow", str(odd), "--out", str(tmp_path / "o.bvh")]) == 2
    assert f"{odd}, line 2: expected two numbers" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o.bvh").exists()


# --- --out that cannot be written ----------------------------------------------------------------------


def _command(name: str, out: Path, tmp_path: Path) -> list[str]:
    path = tmp_path / "p.csv"
    path.write_text("0,0\n0,2\n")
    return {
        "generate": ["generate", "--model", str(tmp_path / "none.safetensors"), "--out", str(out)],
        "inbetween": ["inbetween", str(WALK), "--model", str(tmp_path / "none.safetensors"), "--from", "20",
                      "--to", "50", "--out", str(out / "fill.bvh")],
        "character": ["character", "--out", str(out)],
        "follow": ["follow", str(path), "--out", str(out / "walk.bvh")],
        "inspect": ["inspect", str(WALK), "--out", str(out / "copy.bvh")],
    }[name]


COMMANDS = ("generate", "inbetween", "character", "follow", "inspect")


@pytest.mark.parametrize("command", COMMANDS)
def test_out_under_a_file_is_one_plain_line_before_any_work(command, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    assert main(_command(command, tmp_path / "file" / "sub", tmp_path)) == 2
    assert f"{tmp_path / 'file'} is a file, not a folder" in one_error_line(capsys.readouterr().err)
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.parametrize("command", COMMANDS)
def test_out_in_an_unwritable_folder_is_one_plain_line_before_any_work(command, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    access = os.access
    # as root every folder is writable: what a user without write permission sees
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != locked and access(p, mode, **kw))
    assert main(_command(command, locked / "new", tmp_path)) == 2
    assert f"cannot write in {locked} (permission denied)" in one_error_line(capsys.readouterr().err)
    assert not any(locked.iterdir())


def test_out_that_is_a_folder_or_the_input_is_refused(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("0,0\n0,2\n")
    assert main(["follow", str(path), "--out", str(path), "--overwrite"]) == 2
    assert "own input" in one_error_line(capsys.readouterr().err) and path.read_text() == "0,0\n0,2\n"
    assert main(["follow", str(path), "--out", str(tmp_path)]) == 2
    assert "is a folder" in one_error_line(capsys.readouterr().err)
    clip = tmp_path / "clip.bvh"
    shutil.copy(WALK, clip)
    assert main(["inbetween", str(clip), "--from", "20", "--to", "50", "--out", str(clip), "--overwrite"]) == 2
    assert "own input" in one_error_line(capsys.readouterr().err) and clip.read_bytes() == WALK.read_bytes()


# --- follow: bounded work, and never silently short ------------------------------------------------------


@pytest.mark.parametrize("points, speed, words", [
    ("0,0\n1e9,0\n", "1.4", "longer than the limit of 1000 m"),
    ("0,0\n600,0\n0,0\n", "1.4", "longer than the limit of 1000 m"),
    ("0,0\n500,0\n", "0.3", "more than the limit of 15 minutes"),
])
def test_follow_refuses_a_path_beyond_its_limits_at_once(tmp_path, capsys, points, speed, words):
    path = tmp_path / "long.csv"
    path.write_text(points)
    assert main(["follow", str(path), "--speed", speed, "--out", str(tmp_path / "o.bvh")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(path) in line and words in line and not (tmp_path / "o.bvh").exists()


def test_follow_refuses_a_path_of_too_many_points(tmp_path, capsys):
    from core.control.follow import MAX_POINTS

    path = tmp_path / "dense.csv"
    path.write_text("".join(f"{i * 1e-4:.4f},0\n" for i in range(MAX_POINTS + 1)))
    assert main(["follow", str(path), "--out", str(tmp_path / "o.bvh")]) == 2
    assert f"more than {MAX_POINTS} points" in one_error_line(capsys.readouterr().err)


@pytest.mark.skipif(not CONTROLLER.is_file(), reason="no weights/controller.safetensors yet")
def test_follow_says_how_far_short_of_the_end_it_stopped_and_why(tmp_path, capsys, monkeypatch):
    import core.control.follow as follow

    monkeypatch.setattr(follow, "SLACK", 0.1)  # a take too short for the path, as a slow character gets
    path = tmp_path / "p.csv"
    path.write_text("0,0\n0,30\n")
    assert main(["follow", str(path), "--out", str(tmp_path / "o.bvh")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}: stopped" in err and "m short of the path's end" in err and "limit of" in err
    path.write_text("0,0\n0,3\n")  # reached: nothing to say
    assert main(["follow", str(path), "--out", str(tmp_path / "o2.bvh")]) == 0
    assert "short" not in capsys.readouterr().err


# --- data stats, progress bars ---------------------------------------------------------------------------------


def _folder(tmp_path: Path, broken: bytes | None = None) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("dataset-2_walk_normal_001", "dataset-2_run_active_001"):
        for ext in (".bvh", ".json"):
            shutil.copy(SAMPLES / f"{name}{ext}", folder / f"{name}{ext}")
    if broken is not None:
        (folder / "dataset-2_walk_active_001.bvh").write_bytes(broken)
    return folder


def test_an_unreadable_clip_is_one_plain_error(tmp_path, monkeypatch):
    """The corpus worker turns an unreadable file into a MotionDataError, which crosses the process boundary
    and prints as one line (test_corpus.py: test_bad_bvh_names_the_file). Called here in this process: the
    workers are started afresh and would not see the patch."""
    bad = _folder(tmp_path, WALK.read_bytes()) / "dataset-2_walk_active_001.bvh"
    read = pathlib.Path.read_bytes

    def read_bytes(self):  # as root every file is readable: what a user without read permission sees
        if self == bad:
            raise PermissionError(13, "Permission denied", str(self))
        return read(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    with pytest.raises(MotionDataError) as e:
        _parse_one(bad)
    assert str(e.value) == f"{bad}: cannot read file (Permission denied)"


def test_data_stats_on_a_fake_archive_is_one_plain_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENANIM_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "fake.tar.xz"
    fake.write_text("not an archive\n")
    assert main(["data", "stats", str(fake)]) == 2
    assert f"{fake}: not a tar archive" in one_error_line(capsys.readouterr().err)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("broken", [b"HIERARCHY\nROOT Hips\n{\n",  # while the bar runs; after it closed:
                                    re.sub(rb"Frame Time:\s*\S+", b"Frame Time: 0.001", WALK.read_bytes())])
def test_an_error_after_a_progress_bar_started_is_on_a_line_of_its_own(tmp_path, capsys, monkeypatch, broken):
    monkeypatch.setenv("GENANIM_CACHE", str(tmp_path / "cache"))
    folder = _folder(tmp_path, broken)
    with redirect_stderr(Terminal()) as terminal:  # bars show on a terminal only
        assert main(["data", "stats", str(folder)]) == 2
    err = terminal.getvalue()
    assert "reading clips" in err  # the bar was shown, then cleared: the error starts its line
    assert err.split("\r")[-1].startswith("error: ") and "dataset-2_walk_active_001.bvh" in err.split("\r")[-1]
    assert main(["data", "stats", str(folder)]) == 2  # in a log: no bar, the error alone
    assert "dataset-2_walk_active_001.bvh" in one_error_line(capsys.readouterr().err)


# --- generate and inbetween ----------------------------------------------------------------------------------


def test_a_failed_generate_leaves_no_empty_folder_behind(weights, tmp_path, capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise GenAnimError("the sampler failed")

    monkeypatch.setattr(Generator, "iter_generate", fail)  # what the command samples with
    out = tmp_path / "new" / "gen"
    assert main(["generate", "--model", str(weights), "--out", str(out)]) == 2
    assert "the sampler failed" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()  # a folder that was there stays
    assert main(["generate", "--model", str(weights), "--out", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine").is_dir()


def test_generate_draws_in_batches_the_clips_of_one_batch(weights, tmp_path, capsys, monkeypatch):
    gen = load_generator(str(weights), device="cpu")
    whole = gen.generate("walk", None, seconds=1, count=5, seed=3)
    monkeypatch.setattr(gen, "batch", 2)
    seen = []
    parts = gen.generate("walk", None, seconds=1, count=5, seed=3, progress=lambda f: seen.append(f) is None)
    assert [c.name for c in parts] == [c.name for c in whole]
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_allclose(a.rotations, b.rotations, atol=1e-5)
        np.testing.assert_allclose(a.translations, b.translations, atol=1e-4)
    assert seen[0] == 0 and seen[-1] == 1 and seen == sorted(seen)
    monkeypatch.setattr(Generator, "batch", 2)  # the command writes each batch before drawing the next
    assert main(["generate", "--model", str(weights), "--action", "walk", "--seconds", "1", "--count", "5",
                 "--seed", "3", "--out", str(tmp_path / "gen")]) == 0
    written = sorted(p.name for p in (tmp_path / "gen").glob("*.bvh"))
    assert written == [f"walk_any_seed{s}.bvh" for s in range(3, 8)]
    again = read_bvh(tmp_path / "gen" / "walk_any_seed7.bvh")
    assert again.num_frames == whole[4].num_frames


def test_inbetween_names_the_file_and_each_skeleton_difference_once(weights, tmp_path, capsys):
    names = read_bvh(WALK).names
    clip = tmp_path / "renamed.bvh"
    clip.write_bytes(WALK.read_bytes().replace(f"JOINT {names[9]}".encode(), b"JOINT Elsewhere", 1))
    assert main(["inbetween", str(clip), "--model", str(weights), "--from", "20", "--to", "50",
                 "--out", str(tmp_path / "o.bvh")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {clip}: the clip's skeleton is not the model's")
    assert f"no joint {names[9]!r}" in line and "joints the model lacks: 'Elsewhere'" in line
    assert line.count(names[9]) == 1 and line.count(names[0]) == 0  # no lists of every joint, twice


def test_inbetween_refuses_a_clip_at_another_frame_rate(weights, tmp_path, capsys):
    clip = tmp_path / "fast.bvh"
    text = WALK.read_text()
    start = text.index("Frame Time:")
    end = text.index("\n", start)
    clip.write_text(text[:start] + "Frame Time: 0.001" + text[end:])
    assert main(["inbetween", str(clip), "--model", str(weights), "--from", "20", "--to", "50",
                 "--out", str(tmp_path / "o.bvh")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(clip) in line and "1000 fps" in line and "resample" in line and "30 fps" in line
    assert not (tmp_path / "o.bvh").exists()


@pytest.mark.parametrize("flag, value, words", [
    ("--samples", "0", "samples must be from 1 to 64, got 0"),
    ("--samples", "100000", "samples must be from 1 to 64, got 100000"),
    ("--temperature", "nan", "temperature must be at least 0, got nan"),
    ("--seed", "-1", "seed must be from 0 to 1e+09, got -1"),
    ("--to", "20000", "the gap (frames from --from to --to) must be at most 3600, got 19980"),
])
def test_inbetween_rejects_settings_out_of_range(weights, tmp_path, capsys, flag, value, words):
    args = {"--from": "20", "--to": "50", flag: value}
    assert main(["inbetween", str(WALK), "--model", str(weights), *[x for kv in args.items() for x in kv],
                 "--out", str(tmp_path / "o.bvh")]) == 2
    assert words in one_error_line(capsys.readouterr().err) and not (tmp_path / "o.bvh").exists()
