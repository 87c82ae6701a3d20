#!/usr/bin/env bash
# One CLI, two transports (issue 15): every `gitsync app` subcommand and
# option of docs/cli.md run with a kubeconfig and through the agent's API
# (GITSYNC_SERVER + GITSYNC_AUTH_TOKEN) against the same cluster and agent;
# exit codes and output must match once timestamps, durations and the
# "Server:" line are masked.  Then a CI job's flow with only
# GITSYNC_SERVER/GITSYNC_AUTH_TOKEN (no kubeconfig, HOME empty): a PR
# preview (diff --revision -o markdown), a pinned partial sync, wait,
# history, rollback, and an app that turns Degraded (exit 1, the message
# names the object).  TAP; skips without the test cluster.
# shellcheck source=lib-agent.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync
"$G" token create ops --scope admin -o line 2>"$tmp/token.admin" >>"$tmp/api.tokens"
k -n gitsync create secret generic gitsync-secret --from-file=api.tokens="$tmp/api.tokens" \
  --from-literal=webhook.github.secret=gh-test-secret --dry-run=client -o yaml | k apply -f - >/dev/null
check "install: CRD, namespaces, Secret with read/sync/admin tokens" rc_is 0

first=$(git -C "$work" rev-parse HEAD)
second=$(commit green)
# a feature branch a pull request would preview
git -C "$work" checkout -q -b feature
cat >"$work/app/secret.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: demo-secret
stringData:
  password: hunter2-very-secret
EOF
sed -i "s/color: .*/color: orange/" "$work/app/cm.yaml"
git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm feature
git -C "$work" push -q origin feature
git -C "$work" checkout -q main

run "$G" app create demo --repo "$repo_url" --path app --revision main --dest-namespace demo
check "app create demo (manual sync)" rc_is 0

port=$(free_port)
start_agent a1 "$port" --poll-interval 2s --self-heal-interval 1s --resync-interval 1s
check "agent becomes ready" wait_for 30 ready "$port"
check "agent takes the Lease" wait_for 30 eval '[ "$(lease_holder)" = a1 ]'
api_code() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$tmp/token.$1")" \
    "http://127.0.0.1:$port/api/v1/applications"
}
check "the agent knows the read, sync and admin tokens" \
  eval '[ "$(api_code read)/$(api_code sync)/$(api_code admin)" = 200/200/200 ]'
diag "read/sync/admin: $(api_code read)/$(api_code sync)/$(api_code admin)"

L() { "$G" "$@"; }
R() {
  env -u KUBECONFIG HOME="$tmp/nohome" GITSYNC_SERVER="http://127.0.0.1:$port" \
    GITSYNC_AUTH_TOKEN="$(cat "$tmp/token.admin")" "$G" "$@"
}
mkdir -p "$tmp/nohome"

# mask what legitimately differs between two runs: times, durations, the
# server's address, resourceVersions
mask() {
  sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?/<time>/g' \
    -e 's/^(Server: +).*/\1<server>/' -e 's/^(Duration: +).*/\1<d>/' \
    -e 's/("?resourceVersion"?: *)"?[0-9]+"?/\1<rv>/' \
    -e 's/("?generation"?: *)[0-9]+/\1<g>/' "$1"
}

# parity DESC ARGS...: the same command line both ways
parity() {
  local desc="$1"; shift
  L "$@" >"$tmp/l.out" 2>&1; local lrc=$?
  R "$@" >"$tmp/r.out" 2>&1; local rrc=$?
  mask "$tmp/l.out" >"$tmp/l.m"; mask "$tmp/r.out" >"$tmp/r.m"
  rc=$lrc
  if [ "$lrc" -eq "$rrc" ] && cmp -s "$tmp/l.m" "$tmp/r.m"; then
    ok "parity: gitsync $* ($desc, exit $lrc)"
  else
    not_ok "parity: gitsync $* ($desc): exit $lrc (kubeconfig) vs $rrc (API)"
    diag "$(diff "$tmp/l.m" "$tmp/r.m" | head -n 30)"
  fi
  cp "$tmp/l.out" "$tmp/out"
}

# ---- read commands, before any sync
parity "table" app list
for o in wide json yaml name; do parity "-o $o" app list -o "$o"; done
parity "OutOfSync, every object Missing" app get demo
for o in json yaml name wide; do parity "-o $o" app get demo -o "$o"; done
parity "usage error" app get demo -o anything
check "app get -o anything is a usage error (129)" rc_is 129
parity "missing value" app sync demo --revision
check "a missing value is a usage error (129)" rc_is 129
parity "unknown option" app wait demo --nope
parity "diff: Missing objects, exit 1" app diff demo
check "app diff exits 1 when different" rc_is 1
parity "diff of a branch" app diff demo --revision feature
check "app diff --revision feature shows the feature's change" \
  eval 'out_has "^\+  color: orange" && out_has "demo-secret"'
check "Secret values are masked in diffs" out_lacks "hunter2"
parity "diff, hard refresh" app diff demo --hard-refresh
parity "markdown" app diff demo --revision feature -o markdown
check "diff -o markdown: a summary table and collapsed diffs" \
  eval 'out_has "^\| Kind \| Namespace \| Name \| Status \|" && out_has "<details>" && out_lacks "hunter2"'
parity "manifests" app manifests demo
parity "manifests of a branch" app manifests demo --revision feature
parity "history, empty" app history demo
parity "resources" app resources demo
parity "resources as a tree" app resources demo -o tree
check "app resources -o tree: the app, its namespace, its objects" \
  eval 'out_has "^gitsync/demo \(OutOfSync" && out_has "demo-config +Missing"'
parity "resources as json" app resources demo -o json
parity "set: the same revision" app set demo --revision main
check "app set through both transports" eval 'rc_is 0 && out_has "updated"'
parity "set: --dest-server refused" app set demo --dest-server https://elsewhere
check "app set --dest-server is a usage error" rc_is 129
parity "not found" app get no-such-app
check "app get no-such-app fails (exit 1)" rc_is 1

# ---- operations: the same request both ways, each followed to its end
parity "partial, pinned sync" app sync demo --revision "$first" --resource :ConfigMap:demo-config
check "app sync --revision --resource through both transports: Succeeded" \
  eval 'rc_is 0 && out_has "Phase: +Succeeded"'
check "the pinned revision was applied" cm_is blue
parity "dry run" app sync demo --dry-run
check "a dry run changes nothing" cm_is blue
parity "wait: synced to the pin? no (target is main)" app wait demo --sync --timeout 3s
check "app wait --timeout gives up with exit 1 both ways" eval 'rc_is 1 && out_has "timed out after 3s"'
parity "sync with health wait" app sync demo --prune --timeout 60s
check "app sync --timeout waits for health both ways" eval 'rc_is 0 && out_has "health Healthy"'
check "main applied" cm_is green
parity "wait: all conditions" app wait demo --timeout 60s
parity "get after the syncs" app get demo
parity "history" app history demo
check "history lists the syncs" eval "out_has \"$first\" && out_has \"$second\""
parity "history json" app history demo -o json
parity "rollback" app rollback demo 1
check "rollback to entry 1 (the pinned first commit)" eval 'rc_is 0 && cm_is blue'

# ---- create/delete need the admin scope through the API
run R app create demo2 --repo "$repo_url" --path app --dest-namespace demo
check "API: app create with an admin token" rc_is 0
run env -u KUBECONFIG HOME="$tmp/nohome" GITSYNC_SERVER="http://127.0.0.1:$port" \
  GITSYNC_AUTH_TOKEN="$(cat "$tmp/token.sync")" "$G" app delete demo2
check "API: app delete with a sync token is refused (403)" eval 'rc_is 1 && out_has "403"'
run R app delete demo2 --cascade=false
check "API: app delete --cascade=false with an admin token" rc_is 0

# ---- the CI job: only GITSYNC_SERVER and GITSYNC_AUTH_TOKEN
CI() {
  env -i PATH="$PATH" HOME="$tmp/nohome" GITSYNC_SERVER="http://127.0.0.1:$port" \
    GITSYNC_AUTH_TOKEN="$(cat "$tmp/token.sync")" "$G" "$@"
}
run CI app diff demo --revision feature -o markdown
check "CI: PR preview (diff --revision feature -o markdown) exits 1 with the change" \
  eval 'rc_is 1 && out_has "demo-secret" && out_has "orange" && out_lacks "hunter2"'
sha=$(git -C "$work" rev-parse origin/feature 2>/dev/null || git -C "$tmp/git/deploy.git" rev-parse feature)
run CI app sync demo --revision "$sha" --resource :ConfigMap:demo-config --timeout 60s
check "CI: app sync --revision SHA --resource: only that object" \
  eval 'rc_is 0 && cm_is orange && ! k get secret demo-secret -n demo >/dev/null 2>&1'
run CI app wait demo --health --timeout 30s
check "CI: app wait --health --timeout: exit 0" rc_is 0
run CI app history demo
check "CI: app history" eval "rc_is 0 && out_has \"$sha\""
run CI app rollback demo 1
check "CI: app rollback 1: exit 0, back to the first commit" eval 'rc_is 0 && cm_is blue'

# ---- a Degraded app: a Deployment that cannot progress
git -C "$work" checkout -q main
cat >"$work/app/deploy.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  progressDeadlineSeconds: 1
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {gitsync.io/no-such-node: "true"}
      containers: [{name: c, image: example.invalid/none:1}]
EOF
git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm stuck
git -C "$work" push -q origin main
run CI app sync demo --timeout 60s
check "CI: a Degraded app fails the job (exit 1) and the message names the object" \
  eval 'rc_is 1 && out_has "Degraded" && out_has "Deployment demo/stuck"'


# ---- orphaned resources: an object of the destination namespace no app manages
k -n demo create configmap stray --from-literal=a=1 >/dev/null
parity "orphaned only" app resources demo --orphaned
check "app resources --orphaned: the stray ConfigMap, not the app's nor the cluster's own" \
  eval 'out_has "^ +ConfigMap +demo +stray +Yes" && out_lacks "demo-config" && out_lacks "kube-root-ca.crt" && out_lacks "ReplicaSet"'
parity "orphaned as json" app resources demo --orphaned -o json
parity "get with orphaned" app get demo --orphaned
check "app get --orphaned: the resource table, then the orphaned ones" \
  eval 'out_has "demo-config" && out_has "^Orphaned resources: 1" && out_has "stray +Yes"'

# ---- drift attribution: who changed a live field (managedFields)
k -n demo patch configmap demo-config --type merge -p '{"data":{"color":"purple"}}' >/dev/null
parity "drift, attributed" app diff demo
check "app diff names the field manager of a drifted field and when" \
  eval 'rc_is 1 && out_has "^changed in the cluster:" && out_has "^  data\.color: \"purple\" \(kubectl-patch, [0-9]{4}-"'
diag "$(grep -A3 '^changed in the cluster' "$tmp/l.m" | head -n 4)"
parity "drift in a PR comment" app diff demo -o markdown
check "app diff -o markdown names the field manager too" \
  out_has "^- data\.color: \"purple\" \(kubectl-patch, [0-9]{4}-"

# ---- terminate-op: a sync whose PreSync hook never completes (a Pod bound to
# no node), stopped from each transport; the operation ends Failed "terminated"
mkdir -p "$work/hang"
cat >"$work/hang/hook.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: hang-hook
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  nodeSelector: {gitsync.io/no-such-node: "true"}
  containers: [{name: c, image: example.invalid/none:1}]
EOF
cat >"$work/hang/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: hang-config}
data: {a: "1"}
EOF
# for --force: a Service whose clusterIP (immutable) changes in Git
cat >"$work/hang/svc.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: forced}
spec:
  clusterIP: 10.96.0.201
  ports: [{port: 80}]
EOF
git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm hang
git -C "$work" push -q origin main
run "$G" app create hang --repo "$repo_url" --path hang --revision main --dest-namespace demo
op_phase() { k -n gitsync get application hang -o jsonpath='{.status.operationState.phase}'; }
op_msg() { k -n gitsync get application hang -o jsonpath='{.status.operationState.message}'; }
running_still() { wait_for 30 eval '[ "$(op_phase)" = Running ]' && sleep 3 && [ "$(op_phase)" = Running ]; }
terminated() { [ "$(op_phase)" = Failed ] && [ "$(op_msg)" = terminated ]; }
for via in L CI; do
  run $via app sync hang --async
  check "terminate-op ($via): the sync starts and stays Running on its hook" \
    eval 'rc_is 0 && running_still'
  run $via app terminate-op hang
  check "terminate-op ($via): accepted (exit 0)" eval 'rc_is 0 && out_has "terminating"'
  check "terminate-op ($via): the operation ends Failed \"terminated\" within 15s" \
    wait_for 15 terminated
  diag "phase $(op_phase): $(op_msg)"
  k -n demo delete pod hang-hook --wait=false >/dev/null 2>&1
done
parity "nothing to terminate" app terminate-op hang
check "terminate-op with no operation in progress: exit 1, says so" \
  eval 'rc_is 1 && out_has "no operation is in progress"'
run env -u KUBECONFIG HOME="$tmp/nohome" GITSYNC_SERVER="http://127.0.0.1:$port" \
  GITSYNC_AUTH_TOKEN="$(cat "$tmp/token.read")" "$G" app terminate-op hang
check "API: terminate-op with a read token is refused (403)" eval 'rc_is 1 && out_has "403"'

# ---- --force, both transports: the hook gone, then the immutable clusterIP changed
rm "$work/hang/hook.yaml"
git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm nohook
git -C "$work" push -q origin main
svc() { k -n demo get svc forced -o jsonpath="{$1}"; }
run L app sync hang --timeout 60s
check "force: the Service is created" eval 'rc_is 0 && [ "$(svc .spec.clusterIP)" = 10.96.0.201 ]'
ip=202
for via in L R; do
  # shellcheck disable=SC2034 # read in the eval of the checks below
  uid=$(svc .metadata.uid)
  sed -i "s/clusterIP: .*/clusterIP: 10.96.0.$ip/" "$work/hang/svc.yaml"
  git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm "ip $ip"
  git -C "$work" push -q origin main
  run $via app sync hang
  check "force ($via): without --force an immutable change fails (exit 1)" \
    eval 'rc_is 1 && [ "$(svc .metadata.uid)" = "$uid" ]'
  run $via app sync hang --force
  check "force ($via): app sync --force recreates the object (new uid, new clusterIP)" \
    eval 'rc_is 0 && [ "$(svc .spec.clusterIP)" = "10.96.0.$ip" ] && [ "$(svc .metadata.uid)" != "$uid" ]'
  ip=$((ip + 1))
done

# ---- cascade delete through the API: the one implementation both transports call
run R app delete hang
gone_all() {
  ! k -n demo get configmap hang-config >/dev/null 2>&1 && ! k -n demo get svc forced >/dev/null 2>&1 &&
    ! k -n gitsync get application hang >/dev/null 2>&1
}
# polled: seen once in a clean-clone run, an object or the app still there at
# the first look (not reproduced in three more runs; session 7's note)
check "API: app delete (cascade) prunes the app's objects, then the app" \
  eval 'rc_is 0 && wait_for 20 gone_all'
gone_all || diag "still there: $(k -n demo get configmap,svc -o name 2>&1 | grep -E 'hang-config|forced') $(k -n gitsync get application hang -o name 2>&1)"

finish
