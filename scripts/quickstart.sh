#!/usr/bin/env bash
# Set everything up, then run the main job on what the repository ships: read a real clip
# (summary, written back as BVH), generate a clip with the shipped diffusion model, and render
# contact sheets of both with real Blender.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

CLIP="${1:-../shared/data/bandai-namco/samples/dataset-2_walk_normal_001.bvh}"
OUT=out/quickstart
mkdir -p "$OUT"
.venv/bin/python -m core inspect "$CLIP" --out "$OUT/clip.bvh" --overwrite
.venv/bin/python scripts/render_preview.py "$OUT/clip.bvh" "$OUT/preview.png"
.venv/bin/python -m core generate --action walk --style normal --seconds 6 --count 1 --seed 0 \
    --out "$OUT/generated" --overwrite
.venv/bin/python scripts/render_preview.py "$OUT/generated/walk_normal_seed0.bvh" "$OUT/generated.png"
