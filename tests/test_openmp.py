"""core.openmp: torch's threads spin briefly, then sleep, unless the user chose how they wait."""

from __future__ import annotations

import os

import pytest

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
