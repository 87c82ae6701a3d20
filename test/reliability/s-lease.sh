#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Leader election under stress.  Two agents started at the same moment with
# no Lease in the cluster: exactly one acts.  Then the holder stops renewing
# (SIGSTOP: alive, holding its connections, silent): the standby takes over
# after the lease expires and applies new commits; when the old holder
# wakes up (SIGCONT) it must not act on its stale belief: no sync from it,
# gitsync_leader 0, each revision synced once.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-lease-dst
repo_new lease
wd=$(repo_dir lease)
cm l1 v=0 >"$wd/app/l1.yaml"
rev=$(repo_commit lease v0)
app_new lease "$DST"
check "no Lease before the agents start" eval '[ -z "$(lease_holder)" ]'
p1=$(free_port); p2=$(free_port)
agent_start la "$p1"; pid_la=$agent_pid
agent_start lb "$p2"; pid_lb=$agent_pid
check "both replicas ready" wait_for 60 eval 'agent_ready "$p1" && agent_ready "$p2"'
check "one replica holds the Lease" wait_for 60 eval '[ -n "$(lease_holder)" ]'
leader=$(lease_holder)
if [ "$leader" = la ]; then standby=lb; lpid=$pid_la; spid=$pid_lb; sport=$p2; lport=$p1
else standby=la; lpid=$pid_lb; spid=$pid_la; sport=$p1; lport=$p2; fi
diag "leader $leader, standby $standby"
check "the first commit is applied" wait_for 120 app_at lease "$rev"
syncs() { grep -c '"sync started' "$REL_OUT/agent-$1.log"; }
leader_gauge() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1=="gitsync_leader"{print $2}'; }
check "only the holder synced (standby: $(syncs "$standby") syncs)" eval '[ "$(syncs "$standby")" -eq 0 ] && [ "$(syncs "$leader")" -ge 1 ]'
check "exactly one replica reports gitsync_leader 1" \
  eval '[ "$(leader_gauge "$lport")" = 1 ] && [ "$(leader_gauge "$sport")" = 0 ]'

# ---- the holder stops renewing
kill -STOP "$lpid"
count_fault "leader stopped renewing"
t0=$(rel_now)
check "the standby takes the Lease once it expires" wait_for 60 eval '[ "$(lease_holder)" = "$standby" ]'
took=$(rel_elapsed "$t0")
diag "handover after ${took} s (lease 6 s, retry 1 s in this suite)"
figure "lease-handover-seconds" "$took"
cm l1 v=1 >"$wd/app/l1.yaml"
rev1=$(repo_commit lease v1)
check "the new holder applies a new commit" wait_for 120 eval 'app_at lease "$rev1" && cm_is "$DST" l1 v 1'
before=$(syncs "$leader")
kill -CONT "$lpid"
sleep 4   # several resync and retry periods of the woken replica
cm l1 v=2 >"$wd/app/l1.yaml"
rev2=$(repo_commit lease v2)
check "after the old holder wakes up, the next commit is applied" wait_for 120 eval 'app_at lease "$rev2" && cm_is "$DST" l1 v 2'
sleep 2
check "the woken old holder synced nothing ($(( $(syncs "$leader") - before )) syncs)" eval '[ "$(syncs "$leader")" -eq "$before" ]'
check "the woken old holder reports gitsync_leader 0" eval '[ "$(leader_gauge "$lport")" = 0 ]'
check "the Lease stays with the new holder" eval '[ "$(lease_holder)" = "$standby" ]'
hist=$(appj lease '{range .status.history[*]}{.revision}{"\n"}{end}')
check "history has each revision once" eval '[ -z "$(sort <<<"$hist" | uniq -d)" ]'
cat "$REL_OUT"/agent-la.log "$REL_OUT"/agent-lb.log | grep '"sync started' |
  grep -o '"revision":"[0-9a-f]*"' | sort | uniq -c >"$REL_OUT/lease-syncs"
diag "syncs per revision: $(tr '\n' ' ' <"$REL_OUT/lease-syncs")"
check "no revision synced by both replicas" eval '! awk "\$1 != 1 {bad=1} END{exit !bad}" "$REL_OUT/lease-syncs"'
