#!/usr/bin/env bash
# Set everything up, then run the linter and the whole test suite: slow tests and the tests against
# real Blender 5.0 included, then the Blender tests again on Blender 4.5 LTS, the oldest we support.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_blender45.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
.venv-blender45/bin/python -m pytest tests/blender -q -p no:cacheprovider
