"""Fixtures for tests against real Blender (the `bpy` module)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
# The add-on package sits at the repository root; make it importable however pytest was started.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SAMPLES = REPO.parent / "shared" / "data" / "bandai-namco" / "samples"
# Two clips with different skeleton offsets and plenty of root travel and turning.
CLIPS = ("dataset-1_walk_old_001.bvh", "dataset-2_walk-turn-left_elderly_001.bvh")


@pytest.fixture(autouse=True)
def empty_blender():
    """Each test starts from (and leaves) an empty factory scene."""
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture
def sample_clip_path() -> Path:
    """A short-ish clip with root travel and arm motion."""
    return SAMPLES / "dataset-2_wave-right-hand_feminine_001.bvh"


@pytest.fixture(params=CLIPS)
def clip_path(request) -> Path:
    path = SAMPLES / request.param
    if not path.exists():
        pytest.fail(f"sample clip {path} is missing: the shared data must sit beside the repository")
    return path


def evaluated_heads(obj, names, scene_frames) -> np.ndarray:
    """(len(scene_frames), len(names), 3) world-space heads of bones `names` as Blender evaluates them."""
    import bpy

    out = np.empty((len(scene_frames), len(names), 3))
    for k, f in enumerate(scene_frames):
        bpy.context.scene.frame_set(int(f))
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        out[k] = [ev.matrix_world @ ev.pose.bones[n].head for n in names]
    return out


# bpy 4.5.15 as a module never exits once a Python operator class is registered (even one registered
# and left by an add-on such as Rigify): it hangs in native teardown after Python has finished. Reproduced
# without GenAnim: `import bpy; bpy.utils.register_class(<any Operator>)`, then exit; 5.0.1 exits normally.
# The tests are over by then, so a 4.5 session ends with os._exit, keeping pytest's exit status.
_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config):
    bpy = sys.modules.get("bpy")
    if bpy is not None and bpy.app.version < (5, 0, 0) and _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
