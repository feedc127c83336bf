"""How many threads torch and numpy use, and how torch's OpenMP threads wait between operations
(bench/bench_thread_wait.py): both set before numpy and torch load.

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


def limit_threads(n: int) -> None:
    """OpenMP's and numpy's BLAS thread pools to `n` threads each. No effect once numpy or torch is loaded."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
