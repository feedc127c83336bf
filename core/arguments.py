"""Checks of numeric settings, shared by the command line and the add-on: one plain error that names
the setting, the value and the range it must lie in, raised before any work is done."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from .errors import GenAnimError


def check_range(name: str, value: float | None, lo: float | None = None, hi: float | None = None) -> None:
    """GenAnimError unless `value` is None or a finite number in [lo, hi] (either bound may be open)."""
    if value is None:
        return
    def short(x: float) -> str:  # 3 significant digits, no exponent below 1e6
        return f"{float(f'{x:.3g}'):g}"

    where = (f"from {short(lo)} to {short(hi)}" if lo is not None and hi is not None else
             f"at least {short(lo)}" if lo is not None else f"at most {short(hi)}" if hi is not None else
             "a finite number")
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise GenAnimError(f"{name} must be {where}, got {value:g}")


def check_outputs(paths: Iterable[Path], overwrite: bool) -> None:
    """GenAnimError naming the files a command would replace, unless `overwrite` (checked before any work)."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise GenAnimError(f"would overwrite {', '.join(existing[:3])}{', ...' if len(existing) > 3 else ''}; "
                           "choose another --out or pass --overwrite")
