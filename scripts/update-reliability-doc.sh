#!/usr/bin/env bash
# update-reliability-doc.sh - copy the last reliability run's tables into
# docs/RELIABILITY.md (the only command that writes them: `meson test` and
# scripts/test.sh leave tracked files alone).
#
#   scripts/update-reliability-doc.sh [RESULTS_DIR]
#
# RESULTS_DIR holds results.tsv, figures.tsv and durations.tsv as written by
# `test/reliability/run-all.sh --results DIR`; default build/reliability, where
# `meson test -C build t-reliability.sh` keeps them.  The block replaced is the
# one of the run's mode (ci, full, ci-sanitized, ...); the rest is kept.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
res="${1:-$root/build/reliability}"
for f in results.tsv figures.tsv; do
  if [ ! -s "$res/$f" ]; then
    echo "update-reliability-doc: no $res/$f (run 'meson test -C build t-reliability.sh' first)" >&2
    exit 1
  fi
done
dur=()
[ -s "$res/durations.tsv" ] && dur=(--durations "$res/durations.tsv")
exec python3 "$root/test/reliability/report.py" --results "$res/results.tsv" \
  --figures "$res/figures.tsv" "${dur[@]}" --doc "$root/docs/RELIABILITY.md"
