# shellcheck shell=bash
# Helpers for TAP test scripts that need a test cluster.  Source it:
#   . "$GS_SOURCE_ROOT/test/cluster/harness.sh"
#   gs_cluster_require            # "1..0 # SKIP ..." and exit 0 when unavailable;
#                                 # sets KUBECTL (kubectl v1.35)
#   gs_cluster_start [ARGS...]    # start a fresh cluster (ARGS for test/cluster/start.py)
#                                 # in a temp dir; exports its DIR/env variables
#                                 # (KUBECONFIG, GS_APISERVER, GS_PROXY_*...);
#                                 # stops it on EXIT (call gs_cluster_stop yourself
#                                 # if you set your own EXIT trap)
#   gs_proxy METHOD PATH [JSON]   # talk to the fault proxy's control port
#   gs_proxy_count "VERB RESOURCE"  # one request counter, 0 when absent
_gs_cluster_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GS_CLUSTER_BIN_DIR="$_gs_cluster_root/test/cluster"

gs_cluster_require() {
  if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$GS_CLUSTER_BIN_DIR" >/dev/null 2>&1; then
    echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
    exit 0
  fi
  if ! KUBECTL="$("$_gs_cluster_root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
    echo "1..0 # SKIP kubectl not available (scripts/get-kubectl.sh)"
    exit 0
  fi
  export KUBECTL
}

gs_cluster_stop() {
  if [ -n "${GS_CLUSTER_TMP:-}" ]; then
    "$GS_CLUSTER_BIN_DIR/stop" "$GS_CLUSTER_TMP/cluster"
    rm -rf "$GS_CLUSTER_TMP"
    GS_CLUSTER_TMP=
  fi
}

gs_cluster_start() {
  GS_CLUSTER_TMP="$(mktemp -d "${TMPDIR:-/tmp}/gs-cluster.XXXXXX")"
  trap gs_cluster_stop EXIT
  if ! "$GS_CLUSTER_BIN_DIR/start.py" "$GS_CLUSTER_TMP/cluster" --leash $$ "$@" >"$GS_CLUSTER_TMP/start.out" 2>&1; then
    sed 's/^/# /' "$GS_CLUSTER_TMP/start.out"
    echo "Bail out! the test cluster did not start"
    exit 1
  fi
  sed 's/^/# /' "$GS_CLUSTER_TMP/start.out"
  set -a
  # shellcheck disable=SC1091
  . "$GS_CLUSTER_TMP/cluster/env"
  set +a
}

gs_proxy() {
  curl -sS --max-time 10 -X "$1" "$GS_PROXY_CONTROL$2" ${3:+-H 'Content-Type: application/json' --data "$3"}
}

gs_proxy_count() {
  gs_proxy GET /counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1],0))' "$1"
}
