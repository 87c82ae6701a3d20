#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # read inside check's eval strings; pid_NAME set by start_agent through eval
# An empty commit under an automated, pruning app (one agent, a test cluster,
# a smart-HTTP Git server): the automated sync refuses to prune everything
# and prunes nothing; the agent then leaves the app to its poll interval (it
# used to compare it ~70 times a second: a backoff in the past queued it
# again at once); setting syncPolicy.automated.allowEmpty: true syncs the
# same commit again and prunes (it stayed Failed: same revision, no retry
# policy); a later commit with objects syncs as usual.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync
check "install: CRD, namespaces and Secret created" rc_is 0

run "$G" app create demo --repo "$repo_url" --path app --dest-namespace demo \
  --sync-policy automated --auto-prune
check "app create demo (automated, prune, no retry policy)" rc_is 0

port=$(free_port)
# a 6 s poll: over 15 s at most 3 polls, however the app fails
start_agent a1 "$port" --poll-interval 6s --resync-interval 1s
check "agent becomes ready" wait_for 30 ready "$port"
check "automated app is synced" wait_for 60 cm_is blue

app_field() { k get application demo -n gitsync -o jsonpath="$1" 2>/dev/null; }
reconciles() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^gitsync_reconciles_total[{ ]/ {s += $NF} END {printf "%d\n", s}'
}

# ---- an empty commit: the app's only file replaced by a comment
echo "# every manifest moved away" >"$work/app/README.yaml"
git -C "$work" add app/README.yaml
git -C "$work" rm -q app/cm.yaml
git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm empty
git -C "$work" push -q origin main
empty=$(git -C "$work" rev-parse HEAD)
failed_at() { [ "$(app_field '{.status.operationState.phase}/{.status.operationState.syncResult.revision}')" = "Failed/$empty" ]; }
check "the automated sync of the empty commit ends Failed" wait_for 60 failed_at
run app_field '{.status.operationState.message}'
check "the operation says why (refusing to prune, allowEmpty)" \
  eval 'out_has "refusing to prune" && out_has "allowEmpty"'
run app_field '{.status.conditions[?(@.type=="SyncError")].message}'
check "a SyncError condition names the reason" out_has "the source has no objects"
check "nothing was pruned: the ConfigMap is still there" cm_is blue

# ---- no compare loop: the app waits for its poll interval and for events
sleep 1
r0=$(reconciles)
sleep 15
r1=$(reconciles)
diag "reconciles in the 15 s after the refusal: $((r1 - r0)) ($r0 -> $r1)"
check "the agent does not loop on the refused app (<= 5 reconciles in 15 s)" \
  eval '[ $((r1 - r0)) -le 5 ]'
check "still nothing pruned, still Failed" eval 'cm_is blue && failed_at'

# ---- allowEmpty: true, a spec change: the same commit is synced again
t0=$(now)
k patch application demo -n gitsync --type merge \
  -p '{"spec":{"syncPolicy":{"automated":{"allowEmpty":true}}}}' >/dev/null
gone() { ! k get configmap demo-config -n demo >/dev/null 2>&1; }
check "allowEmpty set: the agent syncs the same commit and prunes" wait_for 30 gone
diag "allowEmpty set to pruned: $(elapsed "$t0") s"
succeeded_at() { [ "$(app_field '{.status.operationState.phase}/{.status.operationState.syncResult.revision}')" = "Succeeded/$1" ]; }
check "the operation of the empty commit now Succeeded" wait_for 30 succeeded_at "$empty"
run grep -c 'spec changed' "$tmp/a1.log"
check "the log says why it synced again (spec changed)" rc_is 0

# ---- a later commit with objects syncs as usual
cat >"$work/app/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-config
data:
  color: green
EOF
git -C "$work" add app/cm.yaml
git -C "$work" rm -q app/README.yaml
git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm green
git -C "$work" push -q origin main
green=$(git -C "$work" rev-parse HEAD)
check "a later non-empty commit is synced (poll)" wait_for 60 cm_is green
check "its operation Succeeded" wait_for 30 succeeded_at "$green"
run app_field '{.status.sync.status}/{.status.sync.revision}'
check "the app is Synced at that commit" eval '[ "$(cat "$tmp/out")" = "Synced/$green" ]'

kill -TERM "$pid_a1"; wait "$pid_a1"; arc=$?
check "SIGTERM: the agent exits 0" eval '[ "$arc" -eq 0 ]'
finish
