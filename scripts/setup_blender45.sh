#!/usr/bin/env bash
# Create .venv-blender45: the oldest Blender we support (4.5 LTS, as the bpy wheel) with core's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-blender45/bin/python ]; then
    PY="${PYTHON:-python3.11}"
    command -v "$PY" >/dev/null || PY=python3
    "$PY" -m venv .venv-blender45
    .venv-blender45/bin/python -m pip install --quiet --upgrade pip
fi
.venv-blender45/bin/python -m pip install --quiet -r requirements.txt "bpy==4.5.15" "pytest==9.2.0" "hypothesis==6.170.17" "pytest-timeout==2.4.0"
