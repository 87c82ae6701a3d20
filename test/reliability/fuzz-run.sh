#!/usr/bin/env bash
# fuzz-run.sh BUILD_DIR [RUNS] [SECONDS]: run every libFuzzer target of a
# `-Dfuzzing=true` clang build (ASan+UBSan via -fsanitize=fuzzer builds as
# configured) for RUNS executions (default 20000) or SECONDS each (default
# 60), from a scratch copy of its committed seed corpus; prints one TAP line
# per target and "# figure fuzz-execs-NAME N".  Maintainers' long run:
#   fuzz-run.sh build-fuzz 0 3600     (0 runs = unbounded, one hour each)
set -uo pipefail
b="$1"; runs="${2:-20000}"; secs="${3:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gs-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
n=0; fail=0; total=0
for exe in "$b"/test/fuzz/fuzz-*; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  case "$exe" in *-replay) continue ;; esac
  name="${exe##*/fuzz-}"
  mkdir -p "$work/$name"
  n=$((n + 1))
  args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/$name-")
  [ "$runs" != 0 ] && args+=(-runs="$runs")
  if nice -n 10 "$exe" "${args[@]}" "$work/$name" "$root/test/fuzz/corpus/$name" >"$work/$name.log" 2>&1; then
    execs=$(grep -o 'Done [0-9]* runs' "$work/$name.log" | awk '{print $2}' | tail -1)
    echo "ok $n - fuzz-$name: ${execs:-?} executions, no crash, leak or UB report"
  else
    execs=$(grep -o '#[0-9]*' "$work/$name.log" | tail -1 | tr -d '#')
    echo "not ok $n - fuzz-$name crashed after ${execs:-?} executions"
    tail -30 "$work/$name.log" | sed 's/^/# /'
    fail=$((fail + 1))
  fi
  total=$((total + ${execs:-0}))
  echo "# figure fuzz-execs-$name ${execs:-0}"
done
echo "# figure fuzz-execs-total $total"
echo "1..$n"
[ "$fail" -eq 0 ]
