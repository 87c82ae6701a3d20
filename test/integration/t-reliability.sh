#!/usr/bin/env bash
# The reliability suite's bounded CI run (issue 8): every scenario of
# test/reliability/ (API faults, API server and etcd restarts, agent
# SIGKILLs, Git outages and force-pushes, bad commits, leader election,
# hostile input, Secret leaks, a short soak) against one test cluster, as one
# TAP stream; then docs/RELIABILITY.md's generated tables are rewritten from
# this run's results (results and all outputs kept in
# $GS_BUILD/reliability/).  The full run: test/reliability/run-all.sh --full.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
res="${GS_BUILD:-$root/build}/reliability"
doc_args=()
# The tables are regenerated in the source tree when it is writable (a
# developer's checkout or CI); GS_REL_NO_DOC=1 leaves the document alone.
if [ "${GS_REL_NO_DOC:-0}" != 1 ] && [ -w "$root/docs/RELIABILITY.md" ]; then
  doc_args=(--doc "$root/docs/RELIABILITY.md")
fi
# The libFuzzer targets too (3,000 runs each), when a -Dfuzzing=true build
# exists: GS_REL_FUZZ_BUILD, or build-fuzz/ as scripts/test.sh makes it.
fz="${GS_REL_FUZZ_BUILD:-$root/build-fuzz}"
if ls "$fz"/test/fuzz/fuzz-* >/dev/null 2>&1; then doc_args+=(--fuzz "$fz"); fi
exec "$root/test/reliability/run-all.sh" --ci --results "$res" "${doc_args[@]}"
