"""The preview script renders a clip into a non-blank contact sheet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.blender, pytest.mark.slow]


def test_render_preview_writes_a_contact_sheet(sample_clip_path: Path, tmp_path: Path):
    out = tmp_path / "sheet.png"
    # A separate process, as users run it; it resets Blender's state itself.
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "render_preview.py"), str(sample_clip_path), str(out),
         "--frames", "3", "--size", "120", "180"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert str(out) in run.stdout

    img = bpy.data.images.load(str(out))
    assert tuple(img.size) == (3 * 120 + 2 * 4, 180)
    px = np.empty(img.size[0] * img.size[1] * 4, dtype=np.float32)
    img.pixels.foreach_get(px)
    rgb = px.reshape(-1, 4)[:, :3]
    assert rgb.std() > 0.05  # not a flat image
    # Each frame shows the orange body (red clearly above blue).
    frames = rgb.reshape(180, 3 * 120 + 8, 3)
    for k in range(3):
        tile = frames[:, k * 124:k * 124 + 120]
        assert ((tile[..., 0] - tile[..., 2]) > 0.15).sum() > 50
