"""BVH reading and writing: exact round trips of samples and synthetic files; Clip <-> BVH."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from core.motion.bvh import BVH, format_bvh, parse_bvh, read_bvh, write_bvh
from core.motion.clip import Clip, load_clip, save_clip

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "bandai-namco" / "samples").glob("*.bvh"))
TAIT_BRYAN = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def assert_same_bvh(a: BVH, b: BVH, exact: bool = True) -> None:
    assert a.names == b.names
    np.testing.assert_array_equal(a.parents, b.parents)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    assert [tuple(c) for c in a.channels] == [tuple(c) for c in b.channels]
    assert sorted(a.end_sites) == sorted(b.end_sites)
    for j in a.end_sites:
        np.testing.assert_array_equal(a.end_sites[j], b.end_sites[j])
    assert a.frame_time == b.frame_time
    assert a.motion.shape == b.motion.shape
    if exact:
        np.testing.assert_array_equal(a.motion, b.motion)


def file_values(path: Path) -> np.ndarray:
    """The motion numbers exactly as printed in the file, parsed independently of the reader."""
    lines = path.read_text().splitlines()
    start = next(k for k, s in enumerate(lines) if s.strip() == "MOTION") + 3
    return np.array([[float(t) for t in s.split()] for s in lines[start:] if s.strip()])


@pytest.fixture(scope="module", params=SAMPLES, ids=[p.stem for p in SAMPLES])
def sample(request):
    return request.param, read_bvh(request.param)


def test_sample_is_read_as_printed(sample):
    path, bvh = sample
    assert bvh.path == str(path)
    assert len(bvh.names) == len(bvh.parents) == len(bvh.offsets) == len(bvh.channels)
    assert all(p < j for j, p in enumerate(bvh.parents)) and bvh.parents[0] == -1
    assert bvh.motion.shape == (bvh.num_frames, sum(len(c) for c in bvh.channels))
    np.testing.assert_array_equal(bvh.motion, file_values(path))
    text = path.read_text()
    assert bvh.frame_time == float(text.split("Frame Time:")[1].split()[0])
    assert bvh.num_frames == int(text.split("Frames:")[1].split()[0])
    assert text.count("End Site") == len(bvh.end_sites)
    assert text.count("JOINT") + text.count("ROOT") == len(bvh.names)


def test_sample_round_trip_is_exact(sample, tmp_path):
    path, bvh = sample
    text = format_bvh(bvh)
    again = parse_bvh(text)
    assert_same_bvh(bvh, again)
    assert again.precision == bvh.precision
    # and through a file, twice: the text is stable
    out = tmp_path / "sub" / "again.bvh"
    write_bvh(again, out)
    third = read_bvh(out)
    assert_same_bvh(bvh, third)
    assert out.read_text() == text


SYNTHETIC = """HIERARCHY
ROOT pelvis
{
\tOFFSET 1.5 -2.25 0.125
\tCHANNELS 6 Zposition Yrotation Xposition Xrotation Yposition Zrotation
\tJOINT spine
\t{
\t\tOFFSET 0 10 1e-3
\t\tCHANNELS 3 Xrotation Yrotation Zrotation
\t\tJOINT head
\t\t{
\t\t\tOFFSET 0 5.5 0
\t\t\tCHANNELS 2 Yrotation Xrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0 3 0
\t\t\t}
\t\t}
\t\tJOINT arm.L
\t\t{
\t\t\tOFFSET 4 0 0
\t\t\tCHANNELS 3 Yrotation Zrotation Xrotation
\t\t\tJOINT hand.L
\t\t\t{
\t\t\t\tOFFSET 3 0 0
\t\t\t\tCHANNELS 1 Zrotation
\t\t\t\tEnd Site
\t\t\t\t{
\t\t\t\t\tOFFSET 1 0 0
\t\t\t\t}
\t\t\t}
\t\t}
\t}
\tJOINT leg
\t{
\t\tOFFSET -1 -8 0
\t\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
\t\tJOINT foot
\t\t{
\t\t\tOFFSET 0 -8 0
\t\t\tCHANNELS 0
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0 0 2
\t\t\t}
\t\t}
\t}
}
MOTION
Frames:   3
Frame Time: 0.0123456789
1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1 -8 0 0.5 -0.25 0.125
0.1 -0.2 30.5 -45 90 180 -180 0.001 -90 1 2 3 4 5 6 7 -8 0 0 0 0
-1.5 2.75 0 0 0 0 0 0 0 0 0 0 0 0 0 -8.5 1 0 1 2 3
"""


def test_synthetic_bvh_is_read_correctly():
    bvh = parse_bvh(SYNTHETIC, path="synthetic.bvh")
    assert bvh.names == ["pelvis", "spine", "head", "arm.L", "hand.L", "leg", "foot"]
    np.testing.assert_array_equal(bvh.parents, [-1, 0, 1, 1, 3, 0, 5])
    assert bvh.channels[0] == ("Zposition", "Yrotation", "Xposition", "Xrotation", "Yposition", "Zrotation")
    assert bvh.channels[2] == ("Yrotation", "Xrotation") and bvh.channels[4] == ("Zrotation",)
    assert bvh.channels[6] == ()
    np.testing.assert_array_equal(bvh.offsets[0], [1.5, -2.25, 0.125])
    np.testing.assert_array_equal(bvh.offsets[1], [0, 10, 0.001])
    assert sorted(bvh.end_sites) == [2, 4, 6]
    np.testing.assert_array_equal(bvh.end_sites[6], [0, 0, 2])
    assert bvh.frame_time == 0.0123456789
    assert bvh.motion.shape == (3, 21)
    assert [s.stop - s.start for s in bvh.channel_slices()] == [6, 3, 2, 3, 1, 6, 0]
    assert bvh.motion[1, 2] == 30.5 and bvh.motion[0, -1] == 0.125
    assert bvh.precision == 3


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_synthetic_bvh_round_trip(newline):
    bvh = parse_bvh(SYNTHETIC.replace("\n", newline))
    again = parse_bvh(format_bvh(bvh))
    assert_same_bvh(bvh, again)
    assert_same_bvh(bvh, parse_bvh(SYNTHETIC))


def test_rows_with_different_decimals_round_trip():
    # The precision to write must cover every row, not just the first (a writer using %g prints
    # 6 significant digits: many decimals for small values, few for large ones).
    text = SYNTHETIC.replace("0.5 -0.25 0.125\n", "0.5 -0.25 0.1\n")
    text = text.replace("-8.5 1 0 1 2 3", "-8.5 1 0 1.123456789 2 3")
    bvh = parse_bvh(text)
    assert bvh.motion[2, -3] == 1.123456789
    assert_same_bvh(bvh, parse_bvh(format_bvh(bvh)))
    # an exponent in a later row only
    text = SYNTHETIC.replace("-8.5 1 0 1 2 3", "-8.5 1 0 1.5e-07 2 3")
    bvh = parse_bvh(text)
    assert bvh.motion[2, -3] == 1.5e-07
    assert_same_bvh(bvh, parse_bvh(format_bvh(bvh)))


def test_blank_lines_and_indentation_around_motion():
    text = SYNTHETIC.replace("}\nMOTION\nFrames:", "}\n\n  \nMOTION\n\nFrames:").replace("Frame Time:", "\nFrame Time:")
    bvh = parse_bvh(text)
    assert_same_bvh(parse_bvh(SYNTHETIC), bvh)
    text = SYNTHETIC.replace("\n1 2 3 4", "\n\n1 2 3 4") + "\n\n"
    assert_same_bvh(parse_bvh(SYNTHETIC), parse_bvh(text))


def test_keywords_and_channels_are_case_insensitive():
    text = SYNTHETIC.replace("JOINT", "joint").replace("OFFSET", "offset").replace("End Site", "end site")
    text = text.replace("Xrotation", "XROTATION").replace("Frame Time", "frame time")
    assert_same_bvh(parse_bvh(SYNTHETIC), parse_bvh(text))


def test_zero_frames():
    text = SYNTHETIC.split("Frames:")[0] + "Frames: 0\nFrame Time: 0.5\n"
    bvh = parse_bvh(text)
    assert bvh.motion.shape == (0, 21)
    assert_same_bvh(bvh, parse_bvh(format_bvh(bvh)))


def test_exponent_values_use_shortest_exact_repr():
    values = np.array([[1e-300, -2.5e17, 0.1 + 0.2, 1 / 3]])
    bvh = BVH(["r"], np.array([-1]), np.zeros((1, 3)), [("Xposition", "Yposition", "Zposition", "Xrotation")],
              {}, 1 / 30, values, precision=None)
    again = parse_bvh(format_bvh(bvh))
    np.testing.assert_array_equal(again.motion, values)
    assert again.frame_time == 1 / 30


def test_joint_order_that_is_not_depth_first_is_written_consistently():
    # parents[j] < j holds, but joint 3 (child of 1) comes after joint 2 (child of 0): the file
    # must list joint 3 under joint 1, and the columns of the motion must follow the file's order.
    bvh = BVH(names=["r", "a", "b", "c"], parents=np.array([-1, 0, 0, 1]), offsets=np.arange(12.0).reshape(4, 3),
              channels=[("Xrotation", "Yrotation"), ("Yrotation",), ("Zrotation",), ("Xrotation", "Zrotation")],
              end_sites={3: np.ones(3)}, frame_time=0.1, motion=np.array([[1.0, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]))
    again = parse_bvh(format_bvh(bvh))
    assert again.names == ["r", "a", "c", "b"]
    for name in bvh.names:
        j, k = bvh.names.index(name), again.names.index(name)
        assert again.channels[k] == bvh.channels[j]
        np.testing.assert_array_equal(again.offsets[k], bvh.offsets[j])
        got, want = again.motion[:, again.channel_slices()[k]], bvh.motion[:, bvh.channel_slices()[j]]
        np.testing.assert_array_equal(got, want)
        if bvh.parents[j] >= 0:
            assert bvh.names[bvh.parents[j]] == again.names[again.parents[k]]
        else:
            assert again.parents[k] < 0
    np.testing.assert_array_equal(again.end_sites[2], np.ones(3))


# --- Clip <-> BVH -----------------------------------------------------------------


def test_clip_round_trip_keeps_global_positions(sample, tmp_path):
    path, bvh = sample
    clip = Clip.from_bvh(bvh)
    assert clip.name == path.stem and clip.num_frames == bvh.num_frames
    assert clip.fps == pytest.approx(1 / bvh.frame_time)
    clip = clip.slice(0, 60)  # keeps the suite fast; every frame goes through the same code
    pos = clip.global_positions()
    # in memory, with the source channel layout
    again = Clip.from_bvh(clip.to_bvh())
    np.testing.assert_allclose(again.global_positions(), pos, atol=1e-6, rtol=0)
    # through text, exact printing
    again = Clip.from_bvh(parse_bvh(format_bvh(clip.to_bvh(precision=None))))
    np.testing.assert_allclose(again.global_positions(), pos, atol=1e-6, rtol=0)
    # through a file with 6 decimals (1e-6 degrees, 1e-6 cm)
    out = tmp_path / "clip.bvh"
    save_clip(clip, out)
    again = load_clip(out)
    np.testing.assert_allclose(again.global_positions(), pos, atol=1e-4, rtol=0)
    assert again.skeleton.same_as(clip.skeleton)


@pytest.mark.parametrize("order", TAIT_BRYAN)
def test_clip_of_a_file_in_another_channel_order_has_the_same_positions(sample, order):
    _, bvh = sample
    clip = Clip.from_bvh(bvh).slice(0, 20)
    rng = np.random.default_rng(len(order) + TAIT_BRYAN.index(order))
    layout = []
    for j, p in enumerate(clip.skeleton.parents):
        rot = tuple(f"{a}rotation" for a in (order if j % 2 else rng.permutation(list("XYZ"))))
        pos = ("Zposition", "Xposition", "Yposition")
        layout.append(pos + rot if p < 0 else rot[:1] + pos + rot[1:] if j % 3 == 0 else rot)
    # joints without position channels keep their rest offset; use it for a fair comparison
    rest = clip.skeleton.offsets
    trans = clip.translations.copy()
    for j, chans in enumerate(layout):
        if not any(c.endswith("position") for c in chans):
            trans[:, j] = rest[j]
    clip = dataclasses.replace(clip, translations=trans)
    other = dataclasses.replace(clip, skeleton=dataclasses.replace(clip.skeleton, channels=tuple(layout)))
    text = format_bvh(other.to_bvh(precision=None))
    reread = parse_bvh(text)
    assert reread.channels == [tuple(c) for c in layout]
    np.testing.assert_allclose(Clip.from_bvh(reread).global_positions(), clip.global_positions(), atol=1e-6, rtol=0)


def test_clip_without_channel_layout_uses_the_dataset_layout():
    bvh = parse_bvh(SYNTHETIC)
    clip = Clip.from_bvh(bvh)
    bare = dataclasses.replace(clip, skeleton=dataclasses.replace(clip.skeleton, channels=()))
    out = bare.to_bvh(precision=None)
    assert out.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert all(c == ("Zrotation", "Xrotation", "Yrotation") for c in out.channels[1:])
    # joints whose translation the file animated lose it in this layout; the rest match
    again = Clip.from_bvh(parse_bvh(format_bvh(out)))
    np.testing.assert_allclose(again.global_transforms()[0], clip.global_transforms()[0], atol=1e-9)
    np.testing.assert_array_equal(again.translations[:, 1:], np.broadcast_to(clip.skeleton.offsets[1:], (3, 6, 3)))


def test_synthetic_clip_round_trip_keeps_channel_values():
    # 1 and 2 rotation channels can hold only rotations about their axes: angles come back.
    bvh = parse_bvh(SYNTHETIC)
    clip = Clip.from_bvh(bvh)
    again = clip.to_bvh(precision=None)
    assert again.channels == bvh.channels
    np.testing.assert_allclose(Clip.from_bvh(again).global_positions(), clip.global_positions(), atol=1e-9)
    sl = bvh.channel_slices()
    for j in (2, 4):  # head (2 channels), hand.L (1 channel)
        np.testing.assert_allclose(again.motion[:, sl[j]], bvh.motion[:, sl[j]], atol=1e-9)
    # position channels are copied exactly
    np.testing.assert_array_equal(again.motion[:, [0, 2, 4]], bvh.motion[:, [0, 2, 4]])


def test_inspect_never_writes_over_its_input_or_another_file(sample_paths, tmp_path, capsys):
    import json
    import shutil

    from core.cli import main

    src = tmp_path / "in.bvh"
    shutil.copy(sample_paths[0], src)
    before = src.read_bytes()
    for args in (["--out", str(src)], ["--out", str(src), "--overwrite"]):
        assert main(["inspect", str(src), *args]) == 2
        assert "names the command's own input" in capsys.readouterr().err
    other = tmp_path / "other.bvh"
    other.write_text("mine")
    assert main(["inspect", str(src), "--out", str(other)]) == 2
    assert "would overwrite" in capsys.readouterr().err and other.read_text() == "mine"
    assert main(["inspect", str(src), "--out", str(other), "--overwrite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] > 0  # --json: stdout is the JSON alone
    assert src.read_bytes() == before and other.read_text() != "mine"
