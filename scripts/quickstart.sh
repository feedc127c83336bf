#!/usr/bin/env bash
# Set everything up, then run the main job on what the repository ships:
# load a real clip, print its summary, write it back as BVH, render a preview with real Blender.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

CLIP="${1:-../shared/data/bandai-namco/samples/dataset-2_walk_normal_001.bvh}"
OUT=out/quickstart
mkdir -p "$OUT"
.venv/bin/python -m core inspect "$CLIP" --out "$OUT/clip.bvh"
.venv/bin/python scripts/render_preview.py "$OUT/clip.bvh" "$OUT/preview.png"
