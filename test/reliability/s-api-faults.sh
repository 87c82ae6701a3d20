#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# API server faults while the agent syncs new commits: 500s, 429 with
# Retry-After, added latency, connections dropped before and after the write,
# and failures of the Application status writes themselves.  Each round
# commits a new value for every object; the end state must be exactly the
# commit, the Application Synced/Healthy at that revision with no error
# condition left, and the proxy must show the faults were really served.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-faults-dst
N=8
repo_new faults
write() { local i; for i in $(seq 1 $N); do cm "c$i" "v=$1" >"$(repo_dir faults)/app/c$i.yaml"; done; }
write 0
rev=$(repo_commit faults v0)
app_new faults "$DST"
check "app created" rc_is 0
port=$(free_port)
agent_start fa "$port"
check "agent ready" wait_for 60 agent_ready "$port"
check "first sync converges" wait_for 120 app_at faults "$rev"

all_at() { local i; for i in $(seq 1 $N); do cm_is "$DST" "c$i" v "$1" || return 1; done; }
round=0
# fault_round DESC RULE...: commit a new value under the rules, then assert.
fault_round() {
  local desc="$1" r f0 f1 t0; shift
  round=$((round + 1))
  gs_proxy DELETE /rules >/dev/null
  f0=$(proxy_faults)
  for r in "$@"; do rule "$r"; done
  write "$round"
  rev=$(repo_commit faults "v$round")
  t0=$(rel_now)
  if wait_for 180 app_at faults "$rev" && all_at "$round"; then
    ok "$desc: converges to the commit ($(rel_elapsed "$t0") s)"
  else
    not_ok "$desc: converges to the commit"
    diag "$(app_conditions faults)"; diag "$(gs_proxy GET /rules)"
  fi
  f1=$(proxy_faults)
  if [ "$((f1 - f0))" -gt 0 ]; then
    ok "$desc: $((f1 - f0)) faults served by the proxy"
  else
    not_ok "$desc: faults served by the proxy (none hit)"
  fi
  for _ in $(seq $((f1 - f0))); do count_fault "$desc"; done
  check "$desc: Application Healthy, no error condition left" \
    eval 'app_healthy faults && [ -z "$(app_conditions faults)" ]'
  gs_proxy DELETE /rules >/dev/null
}

fault_round "500 on apply" '{"namespace":"'$DST'","verb":"patch","status":500,"count":3}'
fault_round "503 on every verb" '{"namespace":"'$DST'","status":503,"count":4}'
fault_round "429 with Retry-After: 2" '{"namespace":"'$DST'","status":429,"retry_after":2,"count":3}'
fault_round "1.5 s latency" '{"namespace":"'$DST'","action":"delay","delay_ms":1500,"count":6}'
fault_round "connection dropped before the write" '{"namespace":"'$DST'","verb":"patch","action":"drop","drop":"before","count":3}'
fault_round "connection dropped after the write" '{"namespace":"'$DST'","verb":"patch","action":"drop","drop":"after","count":3}'
# the status subresource (Running, outcome) and the object itself (.operation
# cleared): an automated sync writes only the first since issue 20
fault_round "500 on Application status writes" \
  '{"namespace":"'$RNS'","resource":"applications.gitsync.io/status","verb":["patch","update"],"status":500,"count":3}' \
  '{"namespace":"'$RNS'","resource":"applications.gitsync.io","verb":["patch","update"],"status":500,"count":3}'
fault_round "a mix: 500, 429, drop and latency" \
  '{"namespace":"'$DST'","verb":"patch","status":500,"count":2}' \
  '{"namespace":"'$DST'","verb":"list","status":429,"retry_after":1,"count":2}' \
  '{"namespace":"'$DST'","verb":"patch","action":"drop","drop":"after","count":2}' \
  '{"namespace":"'$DST'","action":"delay","delay_ms":800,"count":4}'
figure "faults-api" "$(grep -c . "$REL_ENV/faults" 2>/dev/null || echo 0)"
