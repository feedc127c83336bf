"""How torch's OpenMP threads wait between operations: set before torch loads (bench/bench_thread_wait.py).

Spinning long (libgomp's default) is fastest alone but slows two runs side by side up to 8x; sleeping at
once costs 1.3-1.4x alone. A short spin keeps most of both."""

from __future__ import annotations

import os

SPIN_COUNT = 10_000


def wait_briefly() -> None:
    """Waiting threads spin `SPIN_COUNT` times, then sleep; unless the user chose (OMP_WAIT_POLICY or
    GOMP_SPINCOUNT set). No effect once torch is loaded."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))
