#!/usr/bin/env bash
# Train on a lent GPU machine (the workplace's `device` tool), whose calls carry at most 64 MiB with the
# working tree (about 26 MB) and start from a copy of the repository without ../shared.
#
#   here:   bash scripts/device_train.sh pack                 # the data archives in pieces: .device/part1 ...
#   device: bash scripts/device_train.sh stash                # one call per piece but the last (carry .device/partK)
#   device: bash scripts/device_train.sh train CONFIG MINUTES # carry the last piece: join, check, train, export
#   here:   bash scripts/device_train.sh fetch DIR RUN        # DIR: the call's files; RUN: where the checkpoint goes
#
# `train` trains `python -m core train --config CONFIG` on CUDA for at most MINUTES (again: it resumes), then
# writes to $OUT the exported weights, their card, and the checkpoint in pieces of at most 15 MiB (files come
# back at 16 MiB each at most), which `fetch` joins so that training can resume or be exported here.
# PYTHON (default python3), DEVICE (default cuda), GENANIM_STASH (the device's data and runs, default
# /tmp/genanim-stash), DEVICE_PARTS (default .device) and DEVICE_ROOM (bytes a piece may take, default what 62 MiB
# leaves beside the working tree) let the same steps run on a CPU (tests/test_device_train.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
DEVICE="${DEVICE:-cuda}"
STASH="${GENANIM_STASH:-/tmp/genanim-stash}"
PARTS="${DEVICE_PARTS:-.device}"
DATA_SRC="${GENANIM_DATA:-../shared/data}/bandai-namco"

case "${1:-}" in
pack)
    if [ "$PARTS" = .device ]; then
        grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
    fi
    rm -rf "$PARTS" && mkdir -p "$PARTS/all"
    tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
    room="${DEVICE_ROOM:-$((62 * 1024 * 1024 - tree))}"  # what a call may carry beside the working tree
    (cd "$DATA_SRC" && sha256sum ./*.tar.xz) > "$PARTS/all/MANIFEST"
    for f in "$DATA_SRC"/*.tar.xz; do split -b "$room" -d -a 2 "$f" "$PARTS/all/$(basename "$f")."; done
    sizes=()  # first fit, largest first: each piece into the first part with room for it
    for f in $(ls -S "$PARTS"/all/*.tar.xz.*); do
        size=$(stat -c %s "$f"); k=0
        while [ $k -lt ${#sizes[@]} ] && [ $((sizes[k] + size)) -gt "$room" ]; do k=$((k + 1)); done
        [ $k -lt ${#sizes[@]} ] || sizes+=(0)
        sizes[k]=$((sizes[k] + size)); mkdir -p "$PARTS/part$((k + 1))"; mv "$f" "$PARTS/part$((k + 1))/"
    done
    for d in "$PARTS"/part*; do cp "$PARTS/all/MANIFEST" "$d/"; done
    rm -rf "$PARTS/all"
    echo "${#sizes[@]} pieces: carry $PARTS/part1 ... $PARTS/part${#sizes[@]}, one a call (stash all but the last)"
    ;;
stash)
    mkdir -p "$STASH"
    cp "$PARTS"/part*/* "$STASH"/
    ls "$STASH"
    ;;
train)
    config="${2:?config file}"; minutes="${3:?minutes}"
    mkdir -p "$STASH"
    for f in "$PARTS"/part*/*; do [ -e "$f" ] && cp "$f" "$STASH"/; done  # a later call may carry none
    data="$STASH/data/bandai-namco"
    mkdir -p "$data"
    if ! (cd "$data" && sha256sum -c --quiet --status "$STASH/MANIFEST" 2>/dev/null); then  # joined by an earlier call
        for f in $(cd "$STASH" && ls ./*.tar.xz.00 | sed 's/\.00$//'); do cat "$STASH/$f".* > "$data/$f"; done
        (cd "$data" && sha256sum -c --quiet "$STASH/MANIFEST") || { echo "error: a data piece is missing or damaged" >&2; exit 1; }
    fi
    name="$(basename "$config" .json)"
    run="$STASH/runs/$name"
    resume=(); [ -f "$run/checkpoint.pt" ] && resume=(--resume)
    export GENANIM_DATA="$STASH/data" GENANIM_CACHE="$STASH/cache"
    status=0
    timeout --signal=INT "${minutes}m" "$PYTHON" -m core train --config "$config" --out "$run" --device "$DEVICE" \
        "${resume[@]}" || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || exit "$status"
    out="${OUT:?OUT: the folder whose files come back}"
    "$PYTHON" -m core export "$run" --config "$config" --out "$out/$name.safetensors"
    split -b $((15 * 1024 * 1024)) -d -a 1 "$run/checkpoint.pt" "$out/$name.checkpoint."
    ls -l "$out"
    ;;
fetch)
    dir="${2:?the folder of files the call brought back}"; run="${3:?run folder}"
    mkdir -p "$run"
    cat "$dir"/*.checkpoint.* > "$run/checkpoint.pt"
    echo "$run/checkpoint.pt: resume with python -m core train --config CONFIG --out $run --resume"
    ;;
*)
    sed -n '2,16p' "$0"; exit 2
    ;;
esac
