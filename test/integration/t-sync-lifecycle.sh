#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034  # check strings are evaluated by check (they read started, n0)
# An Application's life with the agent (issue 14):
# - the resources finalizer: deleting an app with resources-finalizer.gitsync.io
#   (foreground) or Argo CD's .../background name deletes its objects; without
#   it the objects stay;
# - spec.dependsOn: an app waits, with a condition naming what for, until the
#   apps it depends on are Synced and Healthy; a cycle is an error;
# - a Failed automated sync of the same commit is not retried without
#   spec.syncPolicy.retry, and is with it;
# - ignoreDifferences jqPathExpressions (libjq) on the real API server.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync

cm() { # cm DIR NAME
  mkdir -p "$work/$1"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {a: "1"}\n' "$2" >"$work/$1/cm.yaml"
}
cm fg fg-cm
cm bg bg-cm
cm keep keep-cm
cm db db-cm
cm web web-cm
cm c1 c1-cm
cm c2 c2-cm
mkdir -p "$work/bad" "$work/jq"
cat >"$work/bad/svc.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: bad}
spec: {ports: [{port: 99999}]}
Y
cat >"$work/jq/web.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: jqweb}
spec:
  replicas: 2
  selector: {matchLabels: {app: jqweb}}
  template:
    metadata: {labels: {app: jqweb}}
    spec:
      containers:
      - {name: main, image: "example.invalid/web:1"}
      - {name: side, image: "example.invalid/side:1"}
Y
git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm apps
git -C "$work" push -q origin main

# app NAME PATH EXTRA-METADATA EXTRA-SPEC (YAML flow fragments)
app() {
  cat <<A | k apply -f - >/dev/null
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata: {name: $1, namespace: gitsync$3}
spec:
  source: {repoURL: "$repo_url", path: $2, targetRevision: main}
  destination: {namespace: demo}
  $4
A
}
auto='syncPolicy: {automated: {prune: true}}'
field() { k get application "$1" -n gitsync -o jsonpath="$2" 2>/dev/null; }
has_cm() { k get configmap "$1" -n demo -o name >/dev/null 2>&1; }
app_gone() { ! k get application "$1" -n gitsync -o name >/dev/null 2>&1; }

port=$(free_port)
start_agent l1 "$port" --poll-interval 10m --resync-interval 1s --self-heal-interval 1s
check "agent becomes ready" wait_for 30 ready "$port"

# ---- the resources finalizer
app fg fg ', finalizers: [resources-finalizer.gitsync.io]' "$auto"
app bg bg ', finalizers: [resources-finalizer.argocd.argoproj.io/background]' "$auto"
app keep keep '' "$auto"
check "three apps synced by the agent" wait_for 90 eval 'has_cm fg-cm && has_cm bg-cm && has_cm keep-cm'
k delete application fg -n gitsync --wait=false >/dev/null
check "foreground finalizer: deleting the app deletes its ConfigMap, then the app" \
  wait_for 60 eval '! has_cm fg-cm && app_gone fg'
k delete application bg -n gitsync --wait=false >/dev/null
check "Argo's background finalizer name: the ConfigMap and the app go" \
  wait_for 60 eval '! has_cm bg-cm && app_gone bg'
k delete application keep -n gitsync --wait=false >/dev/null
wait_for 30 app_gone keep
sleep 3
check "no finalizer: the app goes, its ConfigMap stays" eval 'app_gone keep && has_cm keep-cm'

# ---- dependsOn
app db db '' ''
app web web '' "$auto
  dependsOn: [{name: db}]"
check "dependsOn: web waits, with a DependencyNotReady condition naming db" \
  wait_for 60 eval 'field web "{.status.conditions[?(@.type==\"DependencyNotReady\")].message}" | grep -q "gitsync/db"'
sleep 3
check "... and has synced nothing meanwhile" eval '! has_cm web-cm'
app db db '' "$auto"
check "db synced and healthy: web syncs" wait_for 90 eval 'has_cm db-cm && has_cm web-cm'
check "... and its condition is gone" \
  wait_for 30 eval '[ -z "$(field web "{.status.conditions[?(@.type==\"DependencyNotReady\")].type}")" ]'
app c1 c1 '' "$auto
  dependsOn: [{name: c2}]"
app c2 c2 '' "$auto
  dependsOn: [{name: c1, namespace: gitsync}]"
check "a dependsOn cycle is an error naming the chain" \
  wait_for 60 eval 'field c1 "{.status.conditions[*].message}" | grep -q "cycle: c1 -> c2 -> c1"'
check "... and neither app of the cycle syncs" eval '! has_cm c1-cm && ! has_cm c2-cm'

# ---- no retry of a Failed automated sync without spec.syncPolicy.retry
app bad bad '' "$auto"
check "an object the API server rejects: the automated sync is Failed" \
  wait_for 60 eval '[ "$(field bad {.status.operationState.phase})" = Failed ]'
started=$(field bad '{.status.operationState.startedAt}')
bad_syncs() { grep '"msg":"sync started' "$tmp/l1.log" | grep -c '"app":"bad"'; }
n0=$(bad_syncs)
sleep 20
check "without retry: not run again for the same commit (20 s, 1 s resync)" \
  eval '[ "$(bad_syncs)" = "$n0" ] && [ "$(field bad {.status.operationState.startedAt})" = "$started" ]'
app bad bad '' "syncPolicy: {automated: {prune: true}, retry: {limit: 5, backoff: {duration: 1s, maxDuration: 2s}}}"
check "with spec.syncPolicy.retry: retried" wait_for 60 eval '[ "$(bad_syncs)" -gt "$n0" ]'

# ---- jqPathExpressions through libjq
app jq jq '' "syncPolicy: {automated: {selfHeal: true}, syncOptions: [RespectIgnoreDifferences=true]}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jqPathExpressions: ['.spec.replicas', '.spec.template.spec.containers[] | select(.name == \"side\") | .image']"
check "jq app synced" wait_for 90 eval '[ "$(k get deploy jqweb -n demo -o jsonpath={.spec.replicas})" = 2 ]'
k scale deploy jqweb -n demo --replicas=4 >/dev/null
k set image deploy/jqweb -n demo side=example.invalid/side:hand main=example.invalid/web:hand >/dev/null
check "selfHeal resets the image jq does not select (main)" \
  wait_for 60 eval '[ "$(k get deploy jqweb -n demo -o jsonpath="{.spec.template.spec.containers[0].image}")" = example.invalid/web:1 ]'
check "... and keeps what the jq expressions select (replicas, the side container's image)" \
  eval '[ "$(k get deploy jqweb -n demo -o jsonpath="{.spec.replicas}/{.spec.template.spec.containers[1].image}")" = 4/example.invalid/side:hand ]'
check "the app is Synced (the selected fields are ignored)" \
  wait_for 30 eval '[ "$(field jq {.status.sync.status})" = Synced ]'
app jq jq '' "syncPolicy: {automated: {selfHeal: true}}
  ignoreDifferences: [{group: apps, kind: Deployment, jqPathExpressions: ['.spec[']}]"
k set image deploy/jqweb -n demo main=example.invalid/web:hand2 >/dev/null
check "a jq expression that does not compile: named in the app's status, with jq's message" \
  wait_for 60 eval 'k get application jq -n gitsync -o jsonpath={.status} | grep -q "jqPathExpressions .\.spec\[.: jq: error: syntax error"'
check "... and nothing is written meanwhile" \
  eval '[ "$(k get deploy jqweb -n demo -o jsonpath="{.spec.template.spec.containers[0].image}")" = example.invalid/web:hand2 ]'
finish
