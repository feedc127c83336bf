"""Shared fixtures: paths to the shared data (read-only, beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.openmp import wait_briefly

wait_briefly()  # before any test loads torch: threads wait as under `python -m core`

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLES = SHARED_DATA / "bandai-namco" / "samples"


@pytest.fixture(scope="session")
def sample_paths() -> list[Path]:
    paths = sorted(SAMPLES.glob("*.bvh"))
    if not paths:
        pytest.fail(f"no sample clips in {SAMPLES}: the shared data must sit beside the repository")
    return paths
