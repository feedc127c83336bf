"""`python -m core data ...`: corpus statistics."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="motion data: corpus statistics")
    p.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
