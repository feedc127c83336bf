"""The built zip installs, enables, disables and re-enables in real Blender, as an extension and as a legacy add-on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bpy")

from build_addon import build  # noqa: E402

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.fixture(scope="module")
def addon_zip(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("dist"))


@pytest.mark.parametrize("mode", ["extension", "legacy"])
def test_zip_installs_and_registers_cleanly_twice(addon_zip: Path, mode: str, tmp_path: Path, sample_clip_path):
    user = tmp_path / "user"
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(user)}
    run = subprocess.run(
        [sys.executable, str(HERE / "install_check.py"), str(addon_zip), mode, str(sample_clip_path),
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("REPORT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT "):])

    assert report["errors"] == []
    assert report["enabled"]
    # Installed into the temporary user folder, never imported from the source tree.
    assert report["installed_at"].startswith(str(user))
    all_on = {k: True for k in report["after_enable"]}
    assert report["after_enable"] == all_on
    for cycle in report["cycles"]:
        assert cycle["off"] == {k: False for k in all_on}
        assert cycle["on"] == all_on
    assert not report["top_level_core"]  # core is vendored inside the package
    assert report["imported_action"] and report["retargeted_action"]
    assert report["exported"] == ["clip.bvh", "clip.fbx", "clip.glb"]
    # Create, import, retarget, export: none of it needs (or loads) PyTorch.
    assert not report["torch_imported"]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_without_torch_every_feature_runs_on_the_numpy_runtime(tmp_path: Path, sample_clip_path):
    run = subprocess.run(
        [sys.executable, str(HERE / "no_torch_check.py"), str(HERE.parents[1]), str(sample_clip_path),
         str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("REPORT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT "):])
    assert report["torch_available"] is False
    assert report["generate"] == "" and report["generated_frames"] and min(report["generated_frames"]) >= 59
    assert report["fill_gap"] == "" and report["filled_is_new"]
    assert report["generate_cvae"] == "" and report["cvae_actions"] == 1
    assert report["follow_path"] == "" and report["follow_actions"] == 1
    assert report["puppeteer"] == "FINISH" and report["puppeteer_frames"] >= 30 and report["puppeteer_action"]
    assert report["characters"] == "" and report["character_objects"] >= 2  # mesh and armature
    # The bpy module runs with online access off: the installer refuses before touching the network.
    assert report["install"].startswith("Error: Online access is off")
    assert report["import"] and report["retarget"] and report["export"]
    assert not report["torch_imported"]


_GENERATE_FROM_ZIP = """
import sys, bpy
if sys.argv[2] == "no-torch":  # as in a stock Blender
    sys.modules["torch"] = sys.modules["safetensors"] = None
bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo="user_default", enable_on_install=True)
bpy.ops.genanim.create_armature()
s = bpy.context.scene.genanim
s.action, s.style, s.seconds, s.variations, s.seed = "", "", 2.0, 2, 5
print("RESULT", bpy.ops.genanim.generate(), sorted(a.name for a in bpy.data.actions))
print("MODULE", [m for m in sys.modules if m.endswith("core.generation")])
import addon_utils
addon_utils.disable("bl_ext.user_default.genanim")
"""


@pytest.mark.parametrize("torch_state", ["no-torch", "torch"])
def test_installed_zip_generates_with_its_shipped_weights(tmp_path: Path, torch_state: str):
    """The vendored core and weights generate inside Blender, with PyTorch (where installed) and without
    it, on the numpy runtime (skipped until there are weights to ship)."""
    weights = Path(os.environ.get("GENANIM_TEST_WEIGHTS", HERE.parents[1] / "weights" / "diffusion.safetensors"))
    if torch_state == "torch":
        for package in ("torch", "safetensors"):
            pytest.importorskip(package)
    if not weights.is_file():
        pytest.skip(f"no trained weights at {weights}: train the diffusion model first")
    shipped = tmp_path / "weights"
    shipped.mkdir()
    (shipped / "diffusion.safetensors").write_bytes(weights.read_bytes())
    zip_path = build(tmp_path / "dist", shipped)
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "user")}
    run = subprocess.run([sys.executable, "-c", _GENERATE_FROM_ZIP, str(zip_path), torch_state], capture_output=True,
                         text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "RESULT {'FINISHED'} ['any_any_seed5', 'any_any_seed6']" in run.stdout
    assert "MODULE ['bl_ext.user_default.genanim.core.generation']" in run.stdout
