import os
import sys

# Before torch loads its OpenMP runtime: how its waiting threads wait (bench/bench_thread_wait.py). Spinning
# long (libgomp's default) is fastest alone but slows two runs side by side 8x; sleeping at once costs 1.4x
# alone. A short spin keeps most of both. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from .cli import main  # noqa: E402

sys.exit(main())
