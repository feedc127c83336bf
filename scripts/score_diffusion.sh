#!/usr/bin/env bash
# Score diffusion weights as weights/diffusion.md's "Where it stands" table scores each row:
#   bash scripts/score_diffusion.sh WEIGHTS OUTDIR
# WEIGHTS: an exported .safetensors (python -m core export RUN --config CONFIG --out FILE).
# Writes OUTDIR/clips-s{0,1000}.txt (evaluate clips at sampling seeds 0 and 1000), OUTDIR/judges.txt
# (scripts/judge_seeds.py: the recognizers of seeds 0, 1 and 2) and OUTDIR/inbetween.txt (all 812 validation
# windows, gaps of 30 frames). THREADS (default 2) sets torch's CPU threads. About 10 minutes on 2 cores.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,7p "$0" >&2; exit 2; }
[ -f "$1" ] || { echo "error: $1: no such weights file" >&2; exit 1; }
weights="$(realpath "$1")"; out="$(realpath -m "$2")"; threads="${THREADS:-2}"
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="$threads"
py=.venv/bin/python
mkdir -p "$out"
for seed in 0 1000; do
    $py -m core generate --like val-takes --model "$weights" --seed "$seed" --threads "$threads" \
        --out "$out/clips-s$seed" --overwrite > /dev/null
    $py -m core evaluate clips "$out/clips-s$seed" > "$out/clips-s$seed.txt"
done
$py scripts/judge_seeds.py "$out/clips-s0" "$out/clips-s1000" > "$out/judges.txt"
$py -m core evaluate inbetween --model "$weights" --gaps 30 --no-rig-transfer > "$out/inbetween.txt"
echo "scores in $out: clips-s0.txt clips-s1000.txt judges.txt inbetween.txt"
