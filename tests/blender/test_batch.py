"""scripts/genanim_batch.py run as a TD runs it: a separate process with the bpy module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "genanim_batch.py"
pytestmark = [pytest.mark.blender, pytest.mark.slow]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=240)


def test_batch_on_existing_clips_writes_blend_bvh_fbx_and_contact_sheet(tmp_path: Path, clip_path: Path,
                                                                         sample_clip_path: Path):
    out = tmp_path / "out"
    run = _run("--bvh", str(clip_path), str(sample_clip_path), "--out", str(out), "--frames", "2",
               "--size", "80", "120")
    assert run.returncode == 0, run.stderr[-3000:]
    names = [clip_path.stem, sample_clip_path.stem]
    for name in names:
        assert (out / f"{name}.bvh").stat().st_size > 10_000
        assert (out / f"{name}.fbx").stat().st_size > 10_000
    bpy.ops.wm.open_mainfile(filepath=str(out / "genanim_batch.blend"))
    arms = {o.name: o for o in bpy.data.objects if o.type == 'ARMATURE'}
    assert sorted(arms) == sorted(names)
    assert all(arms[n].animation_data.action.name == n for n in names)

    img = bpy.data.images.load(str(out / "contact_sheet.png"))
    assert tuple(img.size) == (2 * 80 + 4, 2 * 120 + 6)  # two frames a row, one row per clip
    px = np.empty(img.size[0] * img.size[1] * 4, dtype=np.float32)
    img.pixels.foreach_get(px)
    rgb = px.reshape(img.size[1], img.size[0], 4)[..., :3]
    for rows in (rgb[:120], rgb[-120:]):  # each row shows the orange body
        assert ((rows[..., 0] - rows[..., 2]) > 0.15).sum() > 30


def test_batch_reports_bad_input_plainly(tmp_path: Path):
    run = _run("--bvh", str(tmp_path / "missing.bvh"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "error:" in run.stderr and "missing.bvh" in run.stderr
    assert "Traceback" not in run.stderr
    run = _run("--action", "walk", "--model", "no_such_model", "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "Model weights are missing" in run.stderr and "Traceback" not in run.stderr
    run = _run("--action", "walk", "--seconds", "0", "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "zero frames" in run.stderr
