"""How torch's OpenMP threads wait between operations: set before torch loads (bench/bench_thread_wait.py).

Spinning long (libgomp's default) is fastest alone but slows runs side by side several times over; sleeping
at once is slower alone. A short spin is as fast alone and stays close to sleeping side by side."""

from __future__ import annotations

import os

SPIN_COUNT = 10_000


def wait_briefly() -> None:
    """Waiting threads spin `SPIN_COUNT` times, then sleep; unless the user chose (OMP_WAIT_POLICY or
    GOMP_SPINCOUNT set). No effect once torch is loaded."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))
