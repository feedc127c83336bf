"""core.openmp: torch's threads spin briefly, then sleep, unless the user chose how they wait; thread limits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

from core.openmp import SPIN_COUNT, wait_briefly


@pytest.mark.parametrize(("given", "spin"), [
    ({}, str(SPIN_COUNT)),
    ({"GOMP_SPINCOUNT": "5"}, "5"),
    ({"OMP_WAIT_POLICY": "PASSIVE"}, None),
    ({"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": "7"}, "7"),
])
def test_wait_briefly_leaves_the_users_choice(monkeypatch, given, spin):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    for k, v in given.items():
        monkeypatch.setenv(k, v)
    wait_briefly()
    assert os.environ.get("GOMP_SPINCOUNT") == spin


def test_limit_threads_before_torch_loads_sets_its_pool():
    code = ("from core.openmp import limit_threads; limit_threads(1); import torch; "
            "print(torch.get_num_threads())")
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["1"]
