"""Fuzz tests of every command (issue 30): generate, inbetween, follow, character, inspect and data stats over
their arguments and small input files. Each run ends with exit 0 and finite output, or exit 2 and one plain
line; never a traceback, never NaN in a written file, never a file changed that is not the declared output
(a failed run changes nothing), each run bounded in time. Few examples on tiny models: fast enough for CI."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tiny_model import WALK, train_tiny

from core.cli import main
from core.motion.bvh import read_bvh

CONTROLLER = Path(__file__).resolve().parents[1] / "weights" / "controller.safetensors"
SECONDS = 30.0  # the most one run may take
FUZZ = settings(max_examples=25, deadline=timedelta(seconds=SECONDS), derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as m:  # data stats packs its corpus cache here, not in the repository
        m.setenv("GENANIM_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


# --- inputs -----------------------------------------------------------------------------------------------

WALK_BYTES = WALK.read_bytes()


def _frame_time(data: bytes, value: bytes) -> bytes:
    start = data.index(b"Frame Time:")
    return data[:start] + b"Frame Time: " + value + data[data.index(b"\n", start):]


def _nan_row(data: bytes) -> bytes:
    lines = data.split(b"\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(b"Frame Time")) + 3
    cells = lines[first].split()
    lines[first] = b" ".join([b"nan", *cells[1:]])
    return b"\n".join(lines)


CLIPS = {  # small BVH inputs, good and bad
    "walk": WALK_BYTES,
    "bom": b"\xef\xbb\xbf" + WALK_BYTES,
    "crlf": WALK_BYTES.replace(b"\n", b"\r\n"),
    "latin1": WALK_BYTES.replace(b"JOINT Spine", "JOINT Épine".encode("latin-1"), 1),
    "renamed": WALK_BYTES.replace(b"JOINT Hand_L", b"JOINT Paw_L", 1),
    "1000fps": _frame_time(WALK_BYTES, b"0.001"),
    "zero_time": _frame_time(WALK_BYTES, b"0"),
    "nan": _nan_row(WALK_BYTES),
    "truncated": WALK_BYTES[: len(WALK_BYTES) // 2],
    "binary": bytes(range(256)) * 8,
    "empty": b"",
}
PATHS = {  # ground paths for follow, good and bad
    "good": b"x,z\n0,0\n0,2\n1,3\n",
    "bom": b"\xef\xbb\xbf0,0\r\n0,2\r\n",
    "tabs": b"0\t0\n2\t0\n",
    "latin1": "# chemin \xe9t\xe9\n0,0\n1,1\n".encode("latin-1"),
    "binary": bytes(range(256)),
    "empty": b"",
    "one point": b"1,1\n1,1\n",
    "nan": b"0,0\nnan,1\n",
    "far": b"0,0\n1e9,0\n",
    "long": b"0,0\n600,0\n600,600\n",
    "three numbers": b"0,0,0\n1,1,1\n",
}
NUMBERS = ["nan", "inf", "-inf", "-1", "0", "1e9", "abc", ""]  # bad for any setting


@st.composite
def settings_of(draw, spec: dict[str, tuple[list, list]], most_bad: int = 2) -> dict:
    """One value per key of `spec` (key: (good values, bad values)): good ones (or None, left out) but for
    at most `most_bad` keys, so that runs that do the work are drawn as often as ones that fail."""
    bad = draw(st.sets(st.sampled_from(sorted(spec)), max_size=most_bad))
    return {k: draw(st.sampled_from(wrong if k in bad else good)) for k, (good, wrong) in spec.items()}


def flags(values: dict) -> list[str]:
    """The command-line flags of `settings_of` values (keys starting "--"); True: the flag alone."""
    out: list[str] = []
    for k, v in values.items():
        if k.startswith("--") and v is not None and v is not False:
            out += [k] if v is True else [k, str(v)]
    return out


SEED = ([None, "0", "7"], ["-1", "1000000001", "9" * 30, "x"])
SWITCH = ([None, True], [True])
OUTS = (["new", "new/deeper", "taken"], ["file", "under a file", "input"])


def _workdir(root: Path, out: str, input_name: str, folder: bool, taken: list[str]) -> Path:
    """The --out path of kind `out` in `root` (files there: `input_name`, a file, a folder with `taken`)."""
    (root / "file").write_text("mine")
    (root / "taken").mkdir()
    for name in taken:
        (root / "taken" / name).write_text("mine")
    return {
        "new": root / ("out" if folder else "out.bvh"),
        "new/deeper": root / "a" / "b" / ("out" if folder else "out.bvh"),
        "taken": root / "taken" / ("" if folder else taken[0]),
        "file": root / "file",
        "under a file": root / "file" / "out",
        "input": root / input_name,
    }[out]


# --- the checks -------------------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[Path, str]:
    return {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def _finite_file(path: Path) -> None:
    if path.suffix == ".bvh":
        read_bvh(path)  # refuses NaN and infinite values, naming the line
    elif path.suffix == ".json":
        json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{path}: {c} in JSON"))
    elif path.suffix == ".obj":
        verts = [line.split()[1:] for line in path.read_text().splitlines() if line.startswith("v ")]
        assert np.isfinite(np.array(verts, float)).all(), path


def run(argv: list[str], root: Path, outputs: list[Path]) -> int:
    """`python -m core *argv` in this process, checked: exit 0 or 2, one plain error line, bounded time,
    finite files written, and only into `outputs` (nothing changed by a failed run)."""
    before = _snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    t = time.monotonic()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(argv)
            usage = False
        except SystemExit as e:  # argparse: its usage line, then one error line
            rc, usage = e.code, True
    assert time.monotonic() - t < SECONDS, argv
    event(f"exit {rc}")  # --hypothesis-show-statistics: how many runs did the work
    text = err.getvalue()
    assert rc in (0, 2) and "Traceback" not in text, (argv, rc, text)
    if rc == 2:
        lines = [line for line in text.split("\n") if line.strip()]
        assert lines and sum("error:" in line for line in lines) == 1, (argv, text)
        assert lines[-1].startswith("error: ") or (usage and ": error: " in lines[-1]), (argv, text)
    else:
        assert not re.search(r"\b(nan|inf)\b", out.getvalue(), re.IGNORECASE), (argv, out.getvalue())
    after = _snapshot(root)
    changed = {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())
    if rc == 2:
        assert not changed, (argv, changed)
    for p in changed:
        assert any(p == o or o in p.parents for o in outputs), (argv, p)
        if p.exists():
            _finite_file(p)
    return rc


# --- per command ---------------------------------------------------------------------------------------------


@FUZZ
@given(settings_of({
    "--seconds": ([None, "0.5", "1.5"], [*NUMBERS, "0.04", "121"]),
    "--count": ([None, "1", "2"], ["-1", "0", "1001", "x"]),
    "--guidance": ([None, "0", "1", "3"], ["nan", "-5", "21"]),
    "--steps": ([None, "1", "3"], ["-1", "0", "5000"]),
    "--seed": SEED,
    "--action": ([None, "walk"], ["fly"]),
    "--style": ([None, "normal"], ["sleepy"]),
    "--excerpt": SWITCH, "--overwrite": SWITCH,
    "--threads": ([None, "1"], ["0", "-2"]),
    "--backend": ([None, "numpy", "torch"], ["gpu"]),
    "model": (["tiny"], ["some.txt", "missing.safetensors"]),
    "out": (OUTS[0], OUTS[1][:-1]),
}))
def test_fuzz_generate(weights, args):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = _workdir(root, args["out"], "", True, ["any_any_seed0.bvh", "walk_any_seed0.json"])
        model = str(weights) if args["model"] == "tiny" else str(root / args["model"])
        run(["generate", "--model", model, *flags(args), "--out", str(out)], root, [out])


@FUZZ
@given(settings_of({
    "clip": (["walk", "bom", "crlf", "latin1"], ["renamed", "1000fps", "zero_time", "nan", "truncated", "binary",
                                                "empty", "missing"]),
    "--from": (["0", "20", "100"], ["-5", "272", "x"]),
    "--to": (["22", "50", "272"], ["1", "21", "273", "100000"]),
    "--samples": ([None, "1", "2"], ["0", "65", "1000000"]),
    "--temperature": ([None, "0", "0.5"], ["nan", "-1", "inf"]),
    "--guidance": ([None, "1", "3"], ["nan", "-5", "21"]),
    "--steps": ([None, "2"], ["0", "5000"]),
    "--seed": SEED,
    "--action": ([None, "walk"], ["fly"]),
    "--overwrite": SWITCH,
    "out": OUTS,
}))
def test_fuzz_inbetween(weights, args):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args["clip"] != "missing":
            (root / "clip.bvh").write_bytes(CLIPS[args["clip"]])
        out = _workdir(root, args["out"], "clip.bvh", False, ["filled.bvh"])
        argv = ["inbetween", str(root / "clip.bvh"), "--model", str(weights), *flags(args), "--out", str(out)]
        run(argv, root, [out])


@pytest.mark.skipif(not CONTROLLER.is_file(), reason="no weights/controller.safetensors yet")
@FUZZ
@given(settings_of({
    "path": (["good", "bom", "tabs", "latin1"], ["binary", "empty", "one point", "nan", "far", "long",
                                                 "three numbers", "missing"]),
    "--speed": ([None, "0.3", "1.4", "3", "6"], ["nan", "inf", "0.1", "6.5", "x"]),
    "--temperature": ([None, "0", "0.5"], ["nan", "-1"]),
    "--seed": SEED,
    "--style": ([None, "normal"], ["sleepy"]),
    "--action": ([None, "walk", "run"], ["fly"]),
    "--no-correction": SWITCH, "--overwrite": SWITCH,
    "--threads": ([None, "1"], ["0"]),
    "out": OUTS,
}))
def test_fuzz_follow(args):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args["path"] != "missing":
            (root / "path.csv").write_bytes(PATHS[args["path"]])
        out = _workdir(root, args["out"], "path.csv", False, ["walk.bvh"])
        run(["follow", str(root / "path.csv"), *flags(args), "--out", str(out)], root, [out])


@FUZZ
@given(settings_of({
    "--sex": ([None, "male", "female"], ["other"]),
    "--age": ([None, "30", "60"], ["nan", "-1", "11", "200"]),
    "--stature": ([None, "165"], ["nan", "1e9"]),
    "--weight": ([None, "70"], ["nan", "0"]),
    "--build": ([None, "slim", "25"], ["chubby-ish", "nan", "inf"]),
    "--count": ([None, "1", "2"], ["0", "1001", "x"]),
    "--seed": SEED,
    "--overwrite": SWITCH,
    "out": (OUTS[0], OUTS[1][:-1]),
}))
def test_fuzz_character(args):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = _workdir(root, args["out"], "", True, ["character_000.obj", "character_001.json"])
        run(["character", *flags(args), "--out", str(out)], root, [out])


@FUZZ
@given(settings_of({
    "clip": (["walk", "bom", "crlf", "latin1", "renamed", "1000fps"], ["zero_time", "nan", "truncated", "binary",
                                                                       "empty", "missing"]),
    "out": ([None, *OUTS[0]], [*OUTS[1], "folder"]),
    "--json": SWITCH, "--overwrite": SWITCH,
}))
def test_fuzz_inspect(args):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args["clip"] != "missing":
            (root / "clip.bvh").write_bytes(CLIPS[args["clip"]])
        out = root if args["out"] == "folder" else None
        if args["out"] not in (None, "folder"):
            out = _workdir(root, args["out"], "clip.bvh", False, ["copy.bvh"])
        outputs = [] if out is None else [out]
        run(["inspect", str(root / "clip.bvh"), *flags(args), *(["--out", str(out)] if out else [])], root, outputs)


@FUZZ
@given(settings_of({
    "source": (["two clips", "bom", "crlf", "latin1"], ["empty", "missing", "fake archive", "a clip alone", "renamed",
                                                        "1000fps", "nan", "truncated", "binary"]),
    "--json": SWITCH,
}, most_bad=1))
def test_fuzz_data_stats(args):
    kind = args["source"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "clips"
        folder.mkdir()
        if kind not in ("empty", "missing", "fake archive"):
            for name in ("dataset-2_walk_normal_001", "dataset-2_run_active_001"):
                for ext in (".bvh", ".json"):
                    shutil.copy(SAMPLES / f"{name}{ext}", folder / f"{name}{ext}")
        if kind in CLIPS:
            (folder / "dataset-2_walk_active_002.bvh").write_bytes(CLIPS[kind])
        source = {"missing": root / "nowhere", "fake archive": root / "fake.tar.xz",
                  "a clip alone": folder / "dataset-2_walk_normal_001.bvh"}.get(kind, folder)
        if kind == "fake archive":
            source.write_bytes(b"\xfd7zXZ\x00 not really")
        run(["data", "stats", str(source), *flags(args)], root, [])


def test_the_fuzz_checks_catch_what_they_look_for(tmp_path):
    """The checker itself: a NaN in a written file fails it."""
    bad = tmp_path / "x.json"
    bad.write_text('{"a": NaN}')
    with pytest.raises(pytest.fail.Exception):
        _finite_file(bad)
