#!/usr/bin/env bash
# Create .venv (Python 3.11) with everything GenAnim and its tests need. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    PY="${PYTHON:-}"
    if [ -z "$PY" ]; then
        for cand in python3.11 python3; do
            if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
                PY="$cand"; break
            fi
        done
    fi
    [ -n "$PY" ] || { echo "error: Python 3.11 is required (bpy 4.5/5.0 wheels are cp311); set PYTHON=/path/to/python3.11" >&2; exit 1; }
    echo "creating .venv with $PY" >&2
    "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
# pip finishes in seconds when everything is already installed.
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
