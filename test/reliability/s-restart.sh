#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# The API server, then etcd, restarted in the middle of a sync
# (test/cluster/restart.py): a commit touching every object is being applied
# (the applies of half the objects held in the fault proxy, so the restart
# lands mid-way, with requests in flight) when the component
# goes down for 2 s; the agent must finish the job: every object at the
# commit, the Application Synced/Healthy at that revision.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-restart-dst
N=${REL_RESTART_OBJECTS:-30}
repo_new restart
write() { local i; for i in $(seq 1 "$N"); do cm "r$i" "v=$1" >"$(repo_dir restart)/app/r$i.yaml"; done; }
write 0
rev=$(repo_commit restart v0)
app_new restart "$DST"
port=$(free_port)
agent_start ra "$port"
check "first sync converges ($N objects)" wait_for 180 app_at restart "$rev"

count_at() { local i c=0; for v in $(k get configmap -n "$DST" -o jsonpath='{range .items[*]}{.data.v}{"\n"}{end}'); do [ "$v" = "$1" ] && c=$((c + 1)); done; echo "$c"; }
some_at() { [ "$(count_at "$1")" -ge 1 ]; }

for comp in kube-apiserver etcd; do
  case $comp in kube-apiserver) val=1 ;; etcd) val=2 ;; esac
  # hold the real (not dry-run) applies of the second half of the objects
  # in the proxy: the sync is caught with part of the commit applied and
  # requests in flight when the component goes down
  rule '{"namespace":"'$DST'","verb":"patch","action":"pause","path":"^(?!.*dryRun).*/configmaps/r([0-9]*[02468])([?]|$)"}'
  write "$val"
  rev=$(repo_commit restart "v$val")
  held() { gs_proxy GET /rules | "$PY3" -c 'import json,sys; sys.exit(0 if sum(r.get("hits",0) for r in json.load(sys.stdin))>0 else 1)'; }
  if wait_for 120 held; then
    sleep 1
    done_before=$(count_at "$val")
    run "$rel_cl/restart.py" "$D" "$comp" --down 2
    check "$comp restarted mid-sync ($done_before of $N objects applied, the rest held, when it went down)" \
      eval 'rc_is 0 && [ "$done_before" -lt "$N" ]'
    count_fault "$comp restart"
  else
    not_ok "$comp: the sync did not reach the held applies"
  fi
  gs_proxy DELETE /rules >/dev/null
  t0=$(rel_now)
  check "after the $comp restart: the Application is Synced at the commit" wait_for 240 app_at restart "$rev"
  diag "converged $(rel_elapsed "$t0") s after the restart"
  check "after the $comp restart: all $N objects at the commit" eval '[ "$(count_at "$val")" -eq "$N" ]'
  check "after the $comp restart: Healthy, no error condition left" \
    eval 'wait_for 30 app_healthy restart && [ -z "$(app_conditions restart)" ]'
done
check "the agent survived both restarts" kill -0 "$agent_pid"
