#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # read inside check's eval strings; pid_NAME set by start_agent through eval
# Two agent replicas and the Lease (issue 9): one leader, one standby; a
# webhook taken by the standby is handed to the leader through the API
# server; killing the leader (SIGKILL: no release) hands over to the
# standby within the lease time (printed), and across the handover every
# commit is applied exactly once (history and logs) and none is lost.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync
run "$G" app create demo --repo "$repo_url" --path app --dest-namespace demo --sync-policy automated
check "app create demo (automated)" rc_is 0
r1=$(git -C "$work" rev-parse HEAD)

p1=$(free_port)
p2=$(free_port)
# Long poll and drift intervals: only webhooks, annotations and the
# handover make the agents act here.
common=(--poll-interval 10m --self-heal-interval 10m --resync-interval 1s)
start_agent b1 "$p1" "${common[@]}"
sleep 1
start_agent b2 "$p2" "${common[@]}"
check "replica b1 ready" wait_for 30 ready "$p1"
check "replica b2 ready (standbys serve probes too)" wait_for 30 ready "$p2"
check "one replica holds the Lease" wait_for 30 eval '[ -n "$(lease_holder)" ]'
leader=$(lease_holder)
if [ "$leader" = b1 ]; then standby=b2; lport=$p1; sport=$p2; else standby=b1; lport=$p2; sport=$p1; fi
diag "leader $leader, standby $standby"
check "the first commit is applied" wait_for 60 cm_is blue
run curl -s "http://127.0.0.1:$sport/metrics"
check "standby reports gitsync_leader 0" out_has '^gitsync_leader 0$'
run curl -s "http://127.0.0.1:$lport/metrics"
check "leader reports gitsync_leader 1" out_has '^gitsync_leader 1$'

# ---- a webhook that lands on the standby
r2=$(commit green)
run github_webhook "$sport" gh-test-secret "$(push_body "$r2")"
check "standby accepts the signed webhook" out_has '^200 \{"matched":1\}'
t0=$(now)
check "the leader syncs what the standby was told" wait_for 30 cm_is green
diag "webhook on the standby to synced: $(elapsed "$t0") s"
run grep -c 'marked for the leader' "$tmp/$standby.log"
check "standby marked the app for refresh instead of syncing" rc_is 0
run grep -c '"sync started' "$tmp/$standby.log"
check "standby never synced anything" eval '[ "$(cat "$tmp/out")" = 0 ]'

# ---- kill the leader; the standby takes over
eval "lpid=\$pid_$leader"
t0=$(now)
kill -KILL "$lpid"
wait "$lpid" 2>/dev/null
r3=$(commit red)
check "standby takes the Lease after the leader is killed" wait_for 40 eval '[ "$(lease_holder)" = "$standby" ]'
took=$(elapsed "$t0")
diag "handover took ${took} s (lease 15 s, retry 2 s)"
echo "# handover-seconds $took"
check "the new leader applies the commit pushed meanwhile (nothing lost)" wait_for 60 cm_is red

# ---- nothing applied twice
sleep 2
run k get application demo -n gitsync -o 'jsonpath={range .status.history[*]}{.revision}{"\n"}{end}'
cp "$tmp/out" "$tmp/history"
diag "history: $(tr '\n' ' ' <"$tmp/history")"
check "history has each commit once" eval '[ "$(sort "$tmp/history" | uniq -d | wc -l)" -eq 0 ]'
check "history has every commit (r1, r2, r3)" eval 'grep -qx "$r1" "$tmp/history" && grep -qx "$r2" "$tmp/history" && grep -qx "$r3" "$tmp/history"'
cat "$tmp/b1.log" "$tmp/b2.log" | grep '"sync started' | grep -o '"revision":"[0-9a-f]*"' | sort | uniq -c >"$tmp/syncs"
diag "syncs per revision: $(tr '\n' ' ' <"$tmp/syncs")"
check "each revision was synced by exactly one replica, once" awk '$1 != 1 {bad=1} END{exit bad}' "$tmp/syncs"

eval "spid=\$pid_$standby"
kill -TERM "$spid"; wait "$spid"; arc=$?
check "the remaining replica exits 0 on SIGTERM" eval '[ "$arc" -eq 0 ]'
check "and releases the Lease" eval '[ -z "$(lease_holder)" ]'
finish
