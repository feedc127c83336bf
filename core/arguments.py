"""Checks of numeric settings and output paths, shared by the command line and the add-on: one plain error
that names the setting, the value and the range it must lie in (or the path and why it cannot be written),
raised before any work is done."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    try:
        bad = not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi)
    except OverflowError:  # an integer beyond any float
        bad = True
    if bad:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        shown = shown if len(shown) <= 20 else shown[:20] + "..."
        raise GenAnimError(f"{name} must be {where}, got {shown}")


MAX_SEED = 10**9  # seeds of every command: numpy and torch take them all, and sample i uses seed + i


def check_seed(seed: int | None) -> None:
    """GenAnimError unless `seed` is None or from 0 to MAX_SEED."""
    check_range("seed", seed, 0, MAX_SEED)


def check_outputs(paths: Iterable[Path], overwrite: bool) -> None:
    """GenAnimError naming the files a command would replace, unless `overwrite` (checked before any work)."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise GenAnimError(f"would overwrite {', '.join(existing[:3])}{', ...' if len(existing) > 3 else ''}; "
                           "choose another --out or pass --overwrite")


def check_writable(path: str | Path, folder: bool = False, inputs: Iterable[str | Path] = ()) -> Path:
    """`path` as a Path, or GenAnimError unless it can be written: an output folder (`folder`) or file whose
    missing parents can be made, under no file, in a folder this user may write in, and not one of `inputs`
    (a command never writes over what it reads). Checked before any work; the same rule for every command."""
    path = Path(path)
    what = "folder" if folder else "file"
    try:
        if path.is_dir() != folder and path.exists():
            raise GenAnimError(f"{path} is a {'file' if folder else 'folder'}; --out names the output {what}")
        for src in inputs:
            if path.exists() and Path(src).exists() and path.resolve() == Path(src).resolve():
                raise GenAnimError(f"{path}: --out names the command's own input; choose another {what}")
        here = path if folder else path.parent
        while not here.exists():  # the nearest part of the path that is there: a folder we may write in
            if here.is_symlink():
                raise GenAnimError(f"{path}: cannot write there: {here} is a broken link")
            here = here.parent
        if not here.is_dir():
            raise GenAnimError(f"{path}: cannot write there: {here} is a file, not a folder")
        if not os.access(here, os.W_OK | os.X_OK):
            raise GenAnimError(f"{path}: cannot write in {here} (permission denied); choose another --out")
    except (OSError, ValueError) as e:  # a name too long, a NUL byte, a loop of links
        raise GenAnimError(f"{path}: not a usable --out ({getattr(e, 'strerror', None) or e})") from None
    return path


@contextmanager
def output_folder(path: str | Path) -> Iterator[Path]:
    """Make folder `path` (and missing parents) for a command's output; when the command fails, the folders
    it made are removed again if they are still empty, so a failed run leaves nothing behind."""
    path = Path(path)
    made = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for p in made:  # deepest first
            try:
                p.rmdir()  # only when empty
            except OSError:
                break
        raise
