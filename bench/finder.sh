#!/usr/bin/env bash
# Finder quality and speed, then the ablation table of docs/finder.md.
set -u
"$BENCH_BIN_DIR/finder"
echo
echo "ablation (stages cumulative):"
"$BENCH_BIN_DIR/finder" --ablation
