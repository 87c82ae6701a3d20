# shellcheck shell=bash disable=SC2034
# lib.sh - shared by the reliability scenarios (sourced, not run).
#
# One environment serves every scenario: a test cluster (with its fault
# proxy), a smart-HTTP Git server behind tcpfault.py (down/slow on demand),
# the CRD, the agent's Secret (webhook secret, API tokens) and `gitsync agent`
# talking to the API server THROUGH the fault proxy.  run-all.sh builds it
# once and exports REL_ENV; a scenario run on its own builds its own.
#
# Output: unnumbered TAP lines ("ok - ...") numbered by a counter shared by
# every scenario of the run, one line per check in $REL_RESULTS
# (scenario<TAB>pass|fail|todo|skip<TAB>check<TAB>figure), and every command's
# output kept under $REL_OUT so the final secret grep sees all of it.
# Every process started here listens on 127.0.0.1 and is stopped by PID.
set -uo pipefail

rel_root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
rel_cl="$rel_root/test/cluster"
G="${GITSYNC:-$rel_root/build/agent/gitsync}"
PY3=/usr/bin/python3
[ -x "$PY3" ] || PY3=python3
REL_MODE="${REL_MODE:-ci}"
REL_SCENARIO="${REL_SCENARIO:-$(basename "$0" .sh)}"

# The test Secret's values: they must never appear in any output.
REL_SECRET_VALUE="rel-Sup3rS3cret-7d41c9aa"
REL_SECRET_B64="$(printf '%s' "$REL_SECRET_VALUE" | base64 -w0)"
REL_WEBHOOK_SECRET="rel-webhook-secret-5be0"

rel_now() { date +%s.%N; }
rel_elapsed() { awk -v a="$1" -v b="$(rel_now)" 'BEGIN{printf "%.1f", b-a}'; }

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds (a bound,
# never an assertion on time).
wait_for() {
  local limit="$1"; shift
  local end; end=$(awk -v a="$(rel_now)" -v l="$limit" 'BEGIN{printf "%.3f", a+l}')
  while :; do
    "$@" && return 0
    awk -v e="$end" -v n="$(rel_now)" 'BEGIN{exit !(n>e)}' && return 1
    sleep 0.2
  done
}

# ---- TAP and results ----------------------------------------------------
# The TAP helpers are the integration tests' (tap-lib.sh); here the line
# numbers are shared by every scenario of a run and each line is also a row
# of $REL_RESULTS.
TAP_COUNTER_FILE="${REL_ENV:+$REL_ENV/tapn}" # set by rel_env_up otherwise
TAP_PREFIX="[$REL_SCENARIO] "
TAP_DIAG_BYTES=1500
# shellcheck source=../integration/tap-lib.sh
. "$rel_root/test/integration/tap-lib.sh"
last=/dev/null
tap_result() {
  printf '%s\t%s\t%s\t%s\n' "$REL_SCENARIO" "$1" "$2" "${3:-}" >>"$REL_RESULTS"
  if [ "$1" = fail ]; then echo 1 >>"$REL_ENV/failed"; fi
}
# figure KEY VALUE: a number for docs/RELIABILITY.md's figures.
figure() { printf '%s\t%s\n' "$1" "$2" >>"$REL_ENV/figures"; echo "# figure $1 = $2"; }
# count_input KIND: one hostile input tried.
count_input() { echo "$1" >>"$REL_ENV/inputs"; }
count_fault() { echo "$1" >>"$REL_ENV/faults"; }

# run CMD...: run with output kept in $REL_OUT/run-N.out ($last), rc in $rc.
run() {
  last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"
  { echo "\$ $*"; } >"$last.cmd"
  "$@" >"$last" 2>&1
  rc=$?
}
_rel_seq() { local f="$REL_ENV/seq" s; s=$(( $(cat "$f" 2>/dev/null || echo 0) + 1 )); echo "$s" >"$f"; printf '%04d' "$s"; }

k() { "$KUBECTL" --cache-dir "$REL_ENV/kcache" --kubeconfig "$D/kubeconfig" "$@"; }
gs() { "$G" "$@"; }

# ---- the environment ------------------------------------------------------
rel_require() {
  if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$rel_cl" >/dev/null 2>&1; then
    echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"; exit 0
  fi
  if ! KUBECTL="$("$rel_root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
    echo "1..0 # SKIP kubectl not available (scripts/get-kubectl.sh)"; exit 0
  fi
  if [ ! -x "$G" ]; then echo "1..0 # SKIP gitsync binary not built ($G)"; exit 0; fi
  command -v git >/dev/null || { echo "1..0 # SKIP git not installed"; exit 0; }
  export KUBECTL
}

# rel_env_up: build the environment in a new directory; exports REL_ENV.
rel_env_up() {
  local t out
  t="$(mktemp -d "${TMPDIR:-/tmp}/gs-rel.XXXXXX")"
  export REL_ENV="$t"
  TAP_COUNTER_FILE="$t/tapn"
  export REL_OUT="${REL_OUT:-$t/out}"
  export REL_RESULTS="${REL_RESULTS:-$t/results.tsv}"
  mkdir -p "$REL_OUT" "$t/git" "$t/work"
  : >"$t/pids"
  out="$REL_OUT/env-start.out"
  if ! "$rel_cl/start" "$t/cluster" --nodes 1 --ready-delay 0.2 --leash "${REL_LEASH:-$$}" >"$out" 2>&1; then
    sed 's/^/# /' "$out"; echo "Bail out! the test cluster did not start"; return 1
  fi
  # git server + fault proxy in front of it
  "$PY3" "$rel_root/test/integration/git-http-server.py" "$t/git" "$t/git.port" >"$REL_OUT/git-server.log" 2>&1 &
  echo "git-server $!" >>"$t/pids"; disown
  wait_for 30 test -s "$t/git.port" || { echo "Bail out! git server did not start"; return 1; }
  echo pass >"$t/git.mode"
  "$PY3" "$rel_root/test/reliability/tcpfault.py" "$(cat "$t/git.port")" "$t/gitproxy.port" "$t/git.mode" \
    >"$REL_OUT/tcpfault.log" 2>&1 &
  echo "tcpfault $!" >>"$t/pids"; disown
  wait_for 30 test -s "$t/gitproxy.port" || { echo "Bail out! tcpfault did not start"; return 1; }
  {
    echo "D=$t/cluster"
    echo "REL_GIT_URL=http://127.0.0.1:$(cat "$t/gitproxy.port")"
    echo "REL_GIT_DIRECT=http://127.0.0.1:$(cat "$t/git.port")"
  } >"$t/env"
  # shellcheck disable=SC1091
  . "$t/env"
  set -a; . "$D/env"; set +a
  export KUBECONFIG="$D/kubeconfig"
  "$G" install --crd-only >"$REL_OUT/install.out" 2>&1 || { cat "$REL_OUT/install.out"; return 1; }
  "$G" token create ci --scope sync -o line 2>"$t/token.sync" >"$t/api.tokens"
  "$G" token create viewer --scope read -o line 2>"$t/token.read" >>"$t/api.tokens"
}

rel_env_down() {
  local name pid
  [ -n "${REL_ENV:-}" ] && [ -d "$REL_ENV" ] || return 0
  while read -r name pid; do kill -KILL "$pid" 2>/dev/null; done <"$REL_ENV/pids"
  "$rel_cl/stop" "$REL_ENV/cluster" >/dev/null 2>&1
  if [ "${GS_KEEP_TMP:-0}" = 1 ]; then echo "# kept $REL_ENV"; else rm -rf "$REL_ENV"; fi
}

# Sourced by a scenario: join run-all's environment or build one.
rel_attach() {
  rel_require
  if [ -z "${REL_ENV:-}" ]; then
    REL_STANDALONE=1
    trap 'rel_env_down' EXIT
    rel_env_up || exit 1
  else
    REL_STANDALONE=0
    # shellcheck disable=SC1091
    . "$REL_ENV/env"
    set -a; . "$D/env"; set +a
    export KUBECONFIG="$D/kubeconfig"
  fi
  # scenario-local namespace (Applications, agent Secret, Lease) and agents,
  # so scenarios never see each other's apps or leases
  RNS="rel-$(echo "$REL_SCENARIO" | tr -c 'a-z0-9\n' '-' | sed 's/^-*//; s/-*$//')"
  k create namespace "$RNS" >/dev/null 2>&1
  k -n "$RNS" create secret generic gitsync-secret --from-file=api.tokens="$REL_ENV/api.tokens" \
    --from-literal=webhook.github.secret="$REL_WEBHOOK_SECRET" >/dev/null 2>&1
  rel_agent_pids=()
  trap 'rel_scenario_end' EXIT
}

rel_scenario_end() {
  local p
  for p in "${rel_agent_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${rel_agent_pids[@]}"; do
    wait_for 15 eval '! kill -0 '"$p"' 2>/dev/null' || kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  # whatever a scenario left in the proxy stops here
  gs_proxy DELETE /rules >/dev/null 2>&1
  echo pass >"$REL_ENV/git.mode"
  if [ "${REL_STANDALONE:-0}" = 1 ]; then
    echo "1..$(cat "$REL_ENV/tapn" 2>/dev/null || echo 0)"
    rel_env_down
  fi
}

gs_proxy() {
  curl -sS --max-time 10 -X "$1" "$GS_PROXY_CONTROL$2" ${3:+-H 'Content-Type: application/json' --data "$3"}
}
rule() { gs_proxy POST /rules "$1" >/dev/null; }
proxy_faults() {
  gs_proxy GET /counters | "$PY3" -c 'import json,sys; print(sum(json.load(sys.stdin).get("faults",{}).values()))'
}
pc() {
  gs_proxy GET /counters | "$PY3" -c 'import json,sys; c=json.load(sys.stdin); print(c["total"] if sys.argv[1]=="total" else c["requests"].get(sys.argv[1],0))' "$1"
}

git_mode() { echo "$1" >"$REL_ENV/git.mode"; }

# ---- repositories ---------------------------------------------------------
# repo_new NAME: a bare repo NAME.git and its work tree $REL_ENV/work/NAME
# (files are written by the caller, then repo_commit).
repo_new() {
  git init -q --bare -b main "$REL_ENV/git/$1.git"
  git -C "$REL_ENV/git/$1.git" config http.receivepack true
  rm -rf "$REL_ENV/work/$1"
  git init -q -b main "$REL_ENV/work/$1"
  git -C "$REL_ENV/work/$1" remote add origin "$REL_ENV/git/$1.git"
  mkdir -p "$REL_ENV/work/$1/app"
}
repo_dir() { echo "$REL_ENV/work/$1"; }
repo_url() { echo "$REL_GIT_URL/$1.git"; }
# repo_commit NAME MSG: commit everything and push; prints the commit id.
repo_commit() {
  git -C "$REL_ENV/work/$1" add -A
  git -C "$REL_ENV/work/$1" -c user.name=rel -c user.email=rel@example.com commit -qm "$2" >/dev/null
  git -C "$REL_ENV/work/$1" push -qf origin HEAD:main 2>/dev/null
  git -C "$REL_ENV/work/$1" rev-parse HEAD
}

# cm NAME KEY=VALUE...: a ConfigMap manifest on stdout.
cm() {
  local name="$1" kv; shift
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n' "$name"
  for kv in "$@"; do printf '  %s: "%s"\n' "${kv%%=*}" "${kv#*=}"; done
}

# app_new NAME NS [extra app create args]: an automated, pruning, self-healing app
# for repo NAME, path app, destination NS (created).
app_new() {
  local name="$1" ns="$2"; shift 2
  k create namespace "$ns" >/dev/null 2>&1
  run "$G" app create "$name" --repo "$(repo_url "$name")" --path app --dest-namespace "$ns" \
    --app-namespace "$RNS" --sync-policy automated --auto-prune --self-heal "$@"
}

appj() { k get application "$1" -n "$RNS" -o jsonpath="$2" 2>/dev/null; }
# app_at NAME REV: the app synced REV successfully and reports Synced.
app_at() {
  [ "$(appj "$1" '{.status.sync.revision}')" = "$2" ] &&
    [ "$(appj "$1" '{.status.sync.status}')" = Synced ] &&
    [ "$(appj "$1" '{.status.operationState.phase}')" = Succeeded ] &&
    [ "$(appj "$1" '{.status.operationState.syncResult.revision}')" = "$2" ]
}
app_healthy() { [ "$(appj "$1" '{.status.health.status}')" = Healthy ]; }
# app_condition NAME TYPE: the message of condition TYPE (empty when absent).
app_condition() {
  k get application "$1" -n "$RNS" -o json 2>/dev/null |
    "$PY3" -c 'import json,sys
o=json.load(sys.stdin)
for c in o.get("status",{}).get("conditions",[]) or []:
    if c.get("type")==sys.argv[1]: print(c.get("message","")); break' "$2"
}
app_conditions() {
  k get application "$1" -n "$RNS" -o json 2>/dev/null |
    "$PY3" -c 'import json,sys
o=json.load(sys.stdin)
for c in o.get("status",{}).get("conditions",[]) or []: print(c.get("type"), c.get("message",""))'
}
cmval() { k get configmap "$2" -n "$1" -o jsonpath="{.data.${3}}" 2>/dev/null; }
cm_is() { [ "$(cmval "$1" "$2" "$3")" = "$4" ]; }

free_port() {
  "$PY3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# agent_start NAME PORT [args]: `gitsync agent` through the fault proxy,
# logging to $REL_OUT/agent-NAME.log; $agent_pid is its PID.
agent_start() {
  local name="$1" port="$2"; shift 2
  GITSYNC_CACHE_DIR="$REL_ENV/cache-$name" "$G" agent --listen "127.0.0.1:$port" \
    --identity "$name" --namespace "$RNS" --app-namespace "$RNS" --log-format json --kubeconfig "$D/kubeconfig-proxy" \
    --poll-interval 1s --self-heal-interval 1s --resync-interval 1s \
    --lease-duration 6s --renew-deadline 4s --retry-period 1s "$@" \
    >>"$REL_OUT/agent-$name.log" 2>&1 &
  agent_pid=$!
  rel_agent_pids+=("$agent_pid")
  echo "agent-$name $agent_pid" >>"$REL_ENV/pids"
}
agent_ready() { curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; }
agent_stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
lease_holder() { k get lease gitsync-agent -n "$RNS" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
# rss_kb PID / fds PID: sampled from /proc.
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# app_unsynced NAME: names of the app's resources that are not Synced.
app_unsynced() {
  k get application "$1" -n "$RNS" -o json 2>/dev/null |
    "$PY3" -c 'import json,sys
o=json.load(sys.stdin)
print(" ".join(r.get("name","") for r in o.get("status",{}).get("resources",[]) or [] if r.get("status")!="Synced"))'
}
# app_at_but NAME REV OBJ: like app_at, but OBJ (kept by Prune=false) may
# leave the app OutOfSync, as Argo CD shows it.
app_at_but() {
  [ "$(appj "$1" '{.status.sync.revision}')" = "$2" ] &&
    [ "$(appj "$1" '{.status.operationState.phase}')" = Succeeded ] &&
    [ "$(appj "$1" '{.status.operationState.syncResult.revision}')" = "$2" ] &&
    [ "$(app_unsynced "$1")" = "$3" ]
}
