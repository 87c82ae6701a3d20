#!/usr/bin/env bash
# The reliability suite's bounded CI run (issue 8): every scenario of
# test/reliability/ (API faults, API server and etcd restarts, agent
# SIGKILLs, Git outages and force-pushes, bad commits, leader election,
# hostile input, Secret leaks, a short soak) against one test cluster, as one
# TAP stream.  Results and all outputs are kept in $GS_BUILD/reliability/;
# the test writes nothing tracked: scripts/update-reliability-doc.sh copies
# this run's tables into docs/RELIABILITY.md.  The full run:
# test/reliability/run-all.sh --full.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
res="${GS_BUILD:-$root/build}/reliability"
args=()
# The libFuzzer targets too (3,000 runs each), when a -Dfuzzing=true build
# exists: GS_REL_FUZZ_BUILD, or build-fuzz/ as scripts/test.sh makes it.
fz="${GS_REL_FUZZ_BUILD:-$root/build-fuzz}"
if ls "$fz"/test/fuzz/fuzz-* >/dev/null 2>&1; then args+=(--fuzz "$fz"); fi
exec "$root/test/reliability/run-all.sh" --ci --results "$res" "${args[@]}"
