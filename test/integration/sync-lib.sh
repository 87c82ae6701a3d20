# sync-lib.sh - shared by the t-sync-*.sh integration tests (sourced, not run):
# a fresh test cluster, TAP helpers, kubectl and the fault proxy's counters.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cl="$root/test/cluster"
G="${GITSYNC:-$root/build/agent/gitsync}"

if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$cl" >/dev/null 2>&1; then
  echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
  exit 0
fi
KUBECTL="$("$root/scripts/get-kubectl.sh" 2>/dev/null)" || KUBECTL=""
[ -x "$KUBECTL" ] || KUBECTL="$(command -v kubectl || true)"
if [ -z "$KUBECTL" ]; then
  echo "1..0 # SKIP kubectl not available"
  exit 0
fi
if [ ! -x "$G" ]; then
  echo "1..0 # SKIP gitsync binary not built ($G)"
  exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-t-sync.XXXXXX")"
D="$tmp/cluster"
cleanup() {
  "$cl/stop" "$D" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

TAP_DIAG_BYTES=2500
# shellcheck source=tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
k()  { "$KUBECTL" --cache-dir "$tmp/kcache" --kubeconfig "$D/kubeconfig" "$@"; }
gs() { "$G" "$@" --kubeconfig "$D/kubeconfig"; }
gsp() { "$G" "$@" --kubeconfig "$D/kubeconfig-proxy"; }
# proxy counters: reset, then read one key ("patch deployments.apps") or total
pc_reset() { curl -s -X POST "$GS_PROXY_CONTROL/reset" >/dev/null; curl -s -X DELETE "$GS_PROXY_CONTROL/rules" >/dev/null; }
pc() {
  curl -s "$GS_PROXY_CONTROL/counters" | python3 -c '
import json, sys
c = json.load(sys.stdin); k = sys.argv[1]
if k == "total": print(c["total"])
elif k.startswith("verb:"): print(c["by_verb"].get(k[5:], 0))
else: print(c["requests"].get(k, 0))' "$1"
}
rule() { curl -s -X POST "$GS_PROXY_CONTROL/rules" -d "$1" >/dev/null; }
jp() { k get "$@" 2>/dev/null; }

start_cluster() {
  run "$cl/start" "$D" --ready-delay "${1:-0.5}"
  if [ "$rc" -ne 0 ]; then
    diag "$(cat "$tmp/out")"
    echo "Bail out! the test cluster did not start"
    exit 1
  fi
  . "$D/env"
}

finish() {
  echo "1..$n"
  [ "$failed" -eq 0 ]
}
