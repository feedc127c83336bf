#!/usr/bin/env bash
# Set everything up, then run the whole test suite (slow and Blender tests included) and the linter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
