"""The `python -m core` command line.

Each subcommand lives in the module of its concern and registers itself here;
errors caused by input are printed in plain words (exit status 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import GenAnimError


def build_parser() -> argparse.ArgumentParser:
    from .bodies import cli as bodies_cli
    from .control import cli as control_cli
    from .data import cli as data_cli
    from .evaluation import cli as evaluation_cli
    from .generation import cli as generation_cli
    from .motion import cli as motion_cli
    from .training import cli as training_cli

    parser = argparse.ArgumentParser(prog="python -m core", description="GenAnim: generative character animation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    motion_cli.register(sub)
    data_cli.register(sub)
    training_cli.register(sub)
    generation_cli.register(sub)
    evaluation_cli.register(sub)
    bodies_cli.register(sub)
    control_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for model cards: the exact command
    try:
        return int(args.func(args) or 0)
    except GenAnimError as e:
        _close_progress_bars()
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)  # one line, whatever the message held
        return 2
    except OSError as e:
        if e.filename is None:  # not about a file: a bug, with its traceback
            raise
        _close_progress_bars()  # a file the checks could not foresee (disk full, read-only file system)
        print(f"error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _close_progress_bars()
        print("interrupted", file=sys.stderr)
        return 130


def _close_progress_bars() -> None:
    """Close the progress bars still open, so that an error is printed on a line of its own, not after a bar
    (the command line's bars show on a terminal only, `disable=None`: a log holds no bar to follow)."""
    tqdm = sys.modules.get("tqdm")
    bars = list(getattr(getattr(tqdm, "tqdm", None), "_instances", ()))
    for bar in bars:
        bar.close()
    if bars and not sys.stderr.isatty():  # a log: the bar's carriage returns do not end its line
        print(file=sys.stderr)
