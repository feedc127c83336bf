"""Malformed BVH input: every problem raises exactly MotionDataError naming the file, line and problem."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import MotionDataError
from core.motion.bvh import CHANNEL_NAMES, format_bvh, parse_bvh, read_bvh, write_bvh
from core.motion.clip import Clip
from core.motion.skeleton import Skeleton

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "bandai-namco" / "samples").glob("*.bvh"))
NAME = "bad_clip.bvh"

SMALL = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 1 2 3
0.5 91 0 10 -20 30 4 5 6
"""
# line numbers in SMALL
L_CHANNELS_ROOT, L_SPINE_OFFSET, L_CHANNELS_SPINE = 5, 8, 9
L_MOTION, L_FRAMES, L_TIME, L_ROW1, L_ROW2 = 16, 17, 18, 19, 20


def expect_error(data, line, *words, path=NAME):
    """parse_bvh(data) raises exactly MotionDataError for `path`, at `line`, mentioning `words`."""
    with pytest.raises(MotionDataError) as info:
        parse_bvh(data, path=path)
    err = info.value
    assert type(err) is MotionDataError
    msg = str(err)
    assert msg.startswith(f"{path}, line {line}: ") if line is not None else msg.startswith(f"{path}: "), msg
    assert err.path == path and err.line == line
    for w in words:
        assert w.lower() in msg.lower(), (w, msg)
    return err


def replace_line(text: str, lineno: int, new: str) -> str:
    lines = text.split("\n")
    lines[lineno - 1] = new
    return "\n".join(lines)


def test_small_is_valid():
    bvh = parse_bvh(SMALL, path=NAME)
    assert bvh.motion.shape == (2, 9)
    assert SMALL.split("\n")[L_MOTION - 1] == "MOTION" and SMALL.split("\n")[L_ROW2 - 1].startswith("0.5")


# --- truncation ----------------------------------------------------------------------


def _last_content_line(text: str) -> int:
    lines = text.split("\n")
    return max((k for k, s in enumerate(lines, start=1) if s.strip()), default=1)


def _cut_points(data: bytes) -> list[int]:
    motion = data.index(b"MOTION")
    first_row = data.index(b"\n", data.index(b"Frame Time")) + 1
    second_row = data.index(b"\n", first_row) + 1
    line_starts = [m.end() for m in re.finditer(rb"\n", data[:second_row])]
    cuts = set(line_starts) | {k - 1 for k in line_starts}  # at and just before every line break
    cuts |= set(range(0, motion, 37))  # mid-line in the hierarchy
    cuts |= set(range(motion, first_row + 3))  # every byte of the MOTION header
    cuts |= set(range(first_row, second_row + 40, 13))  # mid-frame in the first rows
    rng = np.random.default_rng(0)
    cuts |= {int(k) for k in rng.integers(second_row, len(data) - 1, 40)}  # mid-file
    last_row = data.rindex(b"\n", 0, len(data) - 1) + 1
    cuts |= set(range(last_row, last_row + 30, 3)) | {len(data) - 5, len(data) - 2, len(data) - 1}
    return sorted(k for k in cuts if 0 <= k < len(data))


@pytest.mark.parametrize("path", [SAMPLES[0], SAMPLES[-1]], ids=lambda p: p.stem)
def test_truncated_sample_names_the_line_where_it_ends(path):
    data = path.read_bytes()
    full = parse_bvh(data)
    last_token = max(data.rstrip().rfind(b" "), data.rstrip().rfind(b"\t")) + 1
    cuts = _cut_points(data)
    assert len(cuts) > 300
    for cut in cuts:
        part = data[:cut]
        try:
            bvh = parse_bvh(part, path=NAME)
        except MotionDataError as err:
            assert type(err) is MotionDataError
            line = _last_content_line(part.decode())
            assert err.line == line, (cut, str(err), part[-60:])
            assert str(err).startswith(f"{NAME}, line {line}: ")
            continue
        # Only a cut inside the very last number leaves a readable file (a shorter number).
        assert cut >= last_token, (cut, part[-60:])
        assert bvh.motion.shape == full.motion.shape
        np.testing.assert_array_equal(bvh.motion[:, :-1], full.motion[:, :-1])


def test_truncation_messages():
    expect_error(SMALL[: SMALL.index("MOTION")], L_MOTION - 1, "no MOTION section", "truncated")
    expect_error(SMALL[: SMALL.index("JOINT Spine")], L_SPINE_OFFSET - 3, "ends inside an open block")
    expect_error(SMALL[: SMALL.index("OFFSET 0 10") + 10], L_SPINE_OFFSET, "OFFSET needs 3 numbers")
    expect_error(SMALL[: SMALL.index("Frame Time")], L_FRAMES, "lacks", "Frame Time")
    expect_error(SMALL[: SMALL.index("0 90 0")], L_TIME, "declares 2 frames but holds 0")
    expect_error(SMALL[: SMALL.index("0.5 91")], L_ROW1, "declares 2 frames but holds 1", "truncated")
    expect_error(SMALL[: SMALL.index("0.5 91") + 9], L_ROW2, "frame has 3 values", "9 channels")
    expect_error("", 1, "no ROOT")


# --- bad values ------------------------------------------------------------------------


@pytest.mark.parametrize("row,count", [("0 90 0 0 0 0 1 2", 8), ("0 90 0 0 0 0 1 2 3 4", 10), ("7", 1)])
def test_wrong_channel_count_on_a_line(row, count):
    expect_error(replace_line(SMALL, L_ROW2, row), L_ROW2, f"frame has {count} values", "declares 9 channels")
    expect_error(replace_line(SMALL, L_ROW1, row), L_ROW1, f"frame has {count} values")


@pytest.mark.parametrize("token", ["abc", "1.2.3", "1,5", "--1", "0x10", "1e", "\u00e9"])
def test_non_numeric_motion_value(token):
    expect_error(replace_line(SMALL, L_ROW2, f"0.5 91 0 10 -20 {token} 4 5 6"), L_ROW2, "expected a number")


@pytest.mark.parametrize("token", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e400"])
def test_nan_and_inf_in_motion(token):
    expect_error(replace_line(SMALL, L_ROW1, f"0 90 0 0 {token} 0 1 2 3"), L_ROW1, "NaN or infinite")
    expect_error(replace_line(SMALL, L_ROW2, f"0.5 91 0 10 -20 30 4 5 {token}"), L_ROW2, "NaN or infinite")


@pytest.mark.parametrize("token", ["nan", "inf", "-Infinity", "1e999"])
def test_nan_and_inf_in_offsets_and_frame_time(token):
    expect_error(replace_line(SMALL, L_SPINE_OFFSET, f"    OFFSET 0 {token} 0"), L_SPINE_OFFSET, "not finite")
    expect_error(replace_line(SMALL, L_TIME, f"Frame Time: {token}"), L_TIME, "not finite")


def test_non_numeric_offset():
    expect_error(replace_line(SMALL, L_SPINE_OFFSET, "    OFFSET 0 ten 0"), L_SPINE_OFFSET, "expected a number", "ten")
    expect_error(replace_line(SMALL, L_SPINE_OFFSET, "    OFFSET 0 10"), L_SPINE_OFFSET, "OFFSET needs 3 numbers")
    expect_error(replace_line(SMALL, L_SPINE_OFFSET, "    OFFSET 0 10 0 4"), L_SPINE_OFFSET, "unexpected '4'")


# --- files ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "missing.bvh"
    with pytest.raises(MotionDataError) as info:
        read_bvh(path)
    assert type(info.value) is MotionDataError
    assert str(info.value).startswith(f"{path}: cannot read file")
    assert info.value.line is None


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(MotionDataError) as info:
        read_bvh(tmp_path)
    assert type(info.value) is MotionDataError
    assert str(info.value).startswith(f"{tmp_path}: cannot read file")


def test_read_bvh_names_the_file_in_parse_errors(tmp_path):
    path = tmp_path / "broken.bvh"
    path.write_text(replace_line(SMALL, L_ROW2, "1 2"))
    with pytest.raises(MotionDataError) as info:
        read_bvh(path)
    assert str(info.value).startswith(f"{path}, line {L_ROW2}: frame has 2 values")


def test_write_to_an_impossible_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MotionDataError) as info:
        write_bvh(parse_bvh(SMALL), blocker / "out.bvh")
    assert type(info.value) is MotionDataError
    assert str(info.value).startswith(str(blocker / "out.bvh"))


def test_not_a_bvh_file():
    expect_error(b"\x89PNG\r\n\x1a\n\x00\x00", 1, "unexpected")
    expect_error("just some text\nand more\n", 1, "unexpected 'just'")


# --- header ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line,new,words",
    [
        (L_FRAMES, "Frames 2", ("expected 'Frames:'",)),
        (L_FRAMES, "Frames: two", ("frame count", "not an integer")),
        (L_FRAMES, "Frames: 2.0", ("not an integer",)),
        (L_FRAMES, "Frames: -1", ("negative frame count",)),
        (L_FRAMES, "Frames:", ("not an integer",)),
        (L_TIME, "Frame Time: 0", ("frame time must be positive",)),
        (L_TIME, "Frame Time: -0.03", ("must be positive",)),
        (L_TIME, "Frame Time: fast", ("expected a number", "fast")),
        (L_TIME, "FrameTime: 0.03", ("expected 'Frames:'",)),
        (L_FRAMES, "Frames: 3", ("declares 3 frames but holds 2",)),
    ],
)
def test_bad_header_lines(line, new, words):
    text = replace_line(SMALL, line, new)
    where = L_ROW2 if "holds 2" in words[0] else line
    expect_error(text, where, *words)


def test_more_rows_than_frames_names_the_first_extra_row():
    expect_error(replace_line(SMALL, L_FRAMES, "Frames: 1"), L_ROW2, "declares 1 frames but holds 2")


def test_garbage_between_motion_and_frames():
    text = SMALL.replace("MOTION\n", "MOTION\nhello\n")
    expect_error(text, L_MOTION + 1, "expected 'Frames:'", "hello")


# --- hierarchy -----------------------------------------------------------------------


def test_unbalanced_braces():
    extra = SMALL.replace("  }\n}\nMOTION", "  }\n}\n}\nMOTION")
    expect_error(extra, L_MOTION, "unbalanced '}'")
    missing = SMALL.replace("  }\n}\nMOTION", "  }\nMOTION")
    expect_error(missing, L_MOTION - 1, "missing '}'")
    stray = replace_line(SMALL, L_CHANNELS_ROOT, "  {")
    expect_error(stray, L_CHANNELS_ROOT, "unexpected '{'")


@pytest.mark.parametrize("chans", ["Xrotation Yrot Zrotation", "Xrotation Yrotation Wrotation", "X Y Z",
                                   "Xrotation Yrotation rotation"])
def test_unknown_channel_names(chans):
    bad = chans.split()[[c.lower() in {n.lower() for n in CHANNEL_NAMES} for c in chans.split()].index(False)]
    expect_error(replace_line(SMALL, L_CHANNELS_SPINE, f"    CHANNELS 3 {chans}"), L_CHANNELS_SPINE,
                 "unknown channel", bad)


@pytest.mark.parametrize(
    "new,words",
    [
        ("    CHANNELS 4 Zrotation Xrotation Yrotation", ("CHANNELS says 4 but lists 3",)),
        ("    CHANNELS 2 Zrotation Xrotation Yrotation", ("unexpected 'Yrotation'",)),
        ("    CHANNELS three Zrotation Xrotation Yrotation", ("not an integer",)),
        ("    CHANNELS -1", ("CHANNELS says -1",)),
        ("    CHANNELS 7 Zrotation Xrotation Yrotation Xrotation Yrotation Zrotation Xposition", ("CHANNELS says 7",)),
        ("    CHANNELS 3 Zrotation Xrotation Zrotation", ("listed twice",)),
        ("    CHANNELS", ("without a count",)),
    ],
)
def test_bad_channels_lines(new, words):
    expect_error(replace_line(SMALL, L_CHANNELS_SPINE, new), L_CHANNELS_SPINE, *words)


def test_structure_errors():
    expect_error(SMALL.replace("ROOT Hips", "ROOT"), 2, "ROOT without a name")
    expect_error(SMALL.replace("JOINT Spine", "JOINT Hips"), 6, "'Hips' used twice")
    expect_error(SMALL.replace("ROOT Hips", "JOINT Hips"), 2, "JOINT outside of any ROOT")
    expect_error(SMALL.replace("JOINT Spine", "ROOT Spine"), 6, "a second ROOT")
    expect_error(SMALL.replace("OFFSET 0 0 0\n", ""), 14, "'Hips' has no OFFSET")
    expect_error(SMALL.replace("OFFSET 0 5 0", ""), 13, "End Site has no OFFSET")
    expect_error(SMALL.replace("OFFSET 0 5 0", "CHANNELS 1 Xrotation"), 12, "CHANNELS outside of a joint")
    expect_error(SMALL.replace("OFFSET 0 5 0", "JOINT Tip"), 12, "joint inside an End Site")
    expect_error(SMALL.replace("HIERARCHY\n", "OFFSET 1 2 3\n"), 1, "OFFSET outside of a joint")
    expect_error(SMALL.replace("HIERARCHY\n", "CHANNELS 1 Xrotation\n"), 1, "CHANNELS outside of a joint")
    expect_error(SMALL.replace("HIERARCHY\n", "End Site\n"), 1, "End Site outside of a joint")
    expect_error(SMALL.replace("HIERARCHY\n", "HIERARCHY\nMOTIONS\n"), 2, "unexpected 'MOTIONS'")
    expect_error("HIERARCHY\nMOTION\nFrames: 0\nFrame Time: 1\n", 2, "no ROOT joint")


def test_declaration_must_open_a_block():
    # "JOINT A" then "JOINT B" without "{": used to crash with a numpy ValueError.
    text = SMALL.replace("  JOINT Spine\n", "  JOINT Arm\n  JOINT Spine\n")
    expect_error(text, 7, "expected '{' after joint 'Arm'", "JOINT")
    # an OFFSET between "JOINT Spine" and "{" used to silently replace the parent's offset
    text = SMALL.replace("  JOINT Spine\n", "  JOINT Spine\n  OFFSET 9 9 9\n")
    expect_error(text, 7, "expected '{' after joint 'Spine'", "OFFSET")
    text = SMALL.replace("    End Site\n", "    End Site\n    }\n")
    expect_error(text, 11, "expected '{' after End Site")


# --- Skeleton and Clip --------------------------------------------------------------


def test_unknown_joint_name_in_skeleton():
    skel = Skeleton(("Hips", "Spine"), np.array([-1, 0]), np.zeros((2, 3)))
    assert skel.index("Spine") == 1
    for name in ("Head", "hips", "", "Spine "):
        with pytest.raises(MotionDataError) as info:
            skel.index(name)
        assert type(info.value) is MotionDataError
        assert repr(name) in str(info.value) and "Hips, Spine" in str(info.value)


def test_clip_of_a_file_without_frames():
    text = replace_line(SMALL, L_FRAMES, "Frames: 0").split("0 90 0")[0]
    with pytest.raises(MotionDataError) as info:
        Clip.from_bvh(parse_bvh(text, path=NAME))
    assert type(info.value) is MotionDataError and str(info.value) == f"{NAME}: the file has no frames"


# --- fuzzing ---------------------------------------------------------------------------


SMALL_BYTES = SMALL.encode()
SOUP = ["HIERARCHY", "ROOT", "JOINT", "End", "Site", "OFFSET", "CHANNELS", "MOTION", "Frames:", "Frame", "Time:",
        "{", "}", "\n", "\n", " ", "\t", "\r\n", "0", "1", "3", "6", "-2.5", "1e5", "nan", "inf", "-", ".", "7",
        "Xposition", "Yrotation", "Zrotation", "xrotation", "Hips", "A", "B", "\x00", "\u00e9", "1e999", "1_0"]


def _check_parse(data) -> None:
    try:
        bvh = parse_bvh(data, path=NAME)
    except MotionDataError as err:
        assert type(err) is MotionDataError
        assert str(err).startswith(NAME)
        assert err.line is None or err.line >= 1
        return
    num_j = len(bvh.names)
    assert num_j >= 1 and len(bvh.parents) == num_j and len(bvh.channels) == num_j
    assert bvh.offsets.shape == (num_j, 3) and np.isfinite(bvh.offsets).all()
    assert all(p < j for j, p in enumerate(bvh.parents))
    assert bvh.motion.shape == (bvh.num_frames, sum(len(c) for c in bvh.channels))
    assert bvh.motion.dtype == np.float64 and np.isfinite(bvh.motion).all()
    assert np.isfinite(bvh.frame_time) and bvh.frame_time > 0
    # what was read can be written and read back unchanged
    again = parse_bvh(format_bvh(bvh))
    assert again.names == bvh.names and again.channels == bvh.channels
    np.testing.assert_array_equal(again.motion, bvh.motion)
    np.testing.assert_array_equal(again.offsets, bvh.offsets)
    if bvh.num_frames:
        Clip.from_bvh(bvh)


_mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(SMALL_BYTES)), st.integers(1, 40), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, len(SMALL_BYTES)), st.just(0), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("insert"), st.integers(0, len(SMALL_BYTES)), st.just(0),
              st.sampled_from(SOUP).map(lambda s: s.encode())),
    st.tuples(st.just("replace"), st.integers(0, len(SMALL_BYTES)), st.integers(1, 4),
              st.binary(min_size=1, max_size=4)),
)

FUZZ = settings(max_examples=200, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


@FUZZ
@given(st.lists(_mutation, min_size=1, max_size=6))
def test_fuzz_mutated_small_bvh(mutations):
    data = bytearray(SMALL_BYTES)
    for kind, pos, n, payload in mutations:
        pos = min(pos, len(data))
        if kind == "delete":
            del data[pos:pos + n]
        elif kind == "insert":
            data[pos:pos] = payload
        else:
            data[pos:pos + n] = payload
    _check_parse(bytes(data))


@FUZZ
@given(st.lists(st.sampled_from(SOUP), max_size=60).map(" ".join))
def test_fuzz_token_soup(text):
    _check_parse(text)


@FUZZ
@given(st.lists(st.sampled_from(SOUP), max_size=30).map(" ".join), st.sampled_from(["hier", "motion", "end"]))
def test_fuzz_token_soup_inside_a_valid_file(soup, where):
    if where == "hier":
        text = SMALL.replace("  JOINT Spine", soup + "\n  JOINT Spine")
    elif where == "motion":
        text = SMALL.replace("Frames:", soup + "\nFrames:")
    else:
        text = SMALL + soup
    _check_parse(text)
