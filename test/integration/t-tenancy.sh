#!/usr/bin/env bash
# shellcheck disable=SC2154  # pid_NAME is set by start_agent through eval
# Multi-tenancy (issue 12): two tenant namespaces, two Projects, two service
# accounts whose RBAC covers ConfigMaps of their own namespace only, and one
# agent reading Applications from its namespace and --app-namespaces 'team-*'.
# team-a's Applications cannot create, change or prune anything outside their
# project (kinds and namespaces): the sync fails with a per-object error and
# nothing is applied; a write the project allows but the tenant's RBAC does
# not is refused by the API server, whose message the status shows; an
# Application in an unlisted namespace is ignored; a project-scoped API token
# does not see the other project's app.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync
check "install: CRDs, namespace, default project" eval 'rc_is 0 && grep -q "Project/default" "$tmp/out"'

# ---- the repository: one directory per case
cm() { # cm NAME [NAMESPACE]
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n' "$1"
  [ -n "${2:-}" ] && printf '  namespace: %s\n' "$2"
  printf 'data:\n  owner: tenant\n'
}
mkdir -p "$work"/{a-ok,a-bad-ns,a-bad-kind,a-rbac,a-prune,b-ok,other}
cm a-ok-cm >"$work/a-ok/cm.yaml"
{ cm a-bad-ns-cm; echo ---; cm b-owned team-b; } >"$work/a-bad-ns/all.yaml"
{ cm a-bad-kind-cm; echo ---; cat <<'EOF'; } >"$work/a-bad-kind/all.yaml"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: team-a-escalation
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: ['*']
EOF
{ cm a-rbac-cm; echo ---; printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: a-rbac-secret\nstringData:\n  k: v\n'; } >"$work/a-rbac/all.yaml"
cm a-prune-cm >"$work/a-prune/cm.yaml"
cm b-ok-cm >"$work/b-ok/cm.yaml"
cm other-cm >"$work/other/cm.yaml"
git -C "$work" add . && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm tenants
git -C "$work" push -q origin main

# ---- namespaces, service accounts with namespace-scoped RBAC, projects
for t in team-a team-b; do
  k create namespace "$t" >/dev/null
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: $t}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: $t}
rules:
- apiGroups: ['']
  resources: [configmaps]
  verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: $t}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: $t}
---
apiVersion: gitsync.io/v1alpha1
kind: Project
metadata: {name: $t, namespace: gitsync}
spec:
  sourceRepos: ['$repo_url']
  sourceNamespaces: [$t]
  destinations:
  - {namespace: $t, server: 'https://kubernetes.default.svc'}
  destinationServiceAccounts:
  - {namespace: $t, defaultServiceAccount: deployer}
EOF
done
k create namespace other >/dev/null
# team-b's own object, which team-a's app must not change
cm b-owned team-b | k apply -f - >/dev/null
# an object outside team-a's project that carries a-prune's tracking marks
k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: stale
  namespace: team-b
  labels: {gitsync.io/app: a-prune}
  annotations: {gitsync.io/tracking-id: "a-prune:/ConfigMap:team-b/stale"}
data: {owner: team-b}
EOF

app() { # app NS NAME PROJECT PATH
  k apply -f - >/dev/null <<EOF
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata: {name: $2, namespace: $1}
spec:
  project: $3
  source: {repoURL: '$repo_url', path: $4, targetRevision: main}
  destination: {namespace: $1}
  syncPolicy: {automated: {prune: true}}
EOF
}
app team-a a-ok team-a a-ok
app team-a a-bad-ns team-a a-bad-ns
app team-a a-bad-kind team-a a-bad-kind
app team-a a-rbac team-a a-rbac
app team-a a-prune team-a a-prune
app team-b b-ok team-b b-ok
app team-b b-steals team-a b-ok
app other other-app default other
check "Applications, Projects and tenant RBAC created" eval 'k get application a-ok -n team-a >/dev/null'

port=$(free_port)
start_agent t1 "$port" --app-namespaces 'team-*' --poll-interval 5s --resync-interval 1s
check "agent becomes ready" wait_for 30 ready "$port"

phase() { k get application "$2" -n "$1" -o jsonpath='{.status.operationState.phase}' 2>/dev/null; }
opmsg() { k get application "$2" -n "$1" -o jsonpath='{.status.operationState.message} {.status.conditions[*].message}' 2>/dev/null; }
exists() { k get "$@" >/dev/null 2>&1; }

check "team-a app inside its project syncs (as team-a:deployer)" \
  wait_for 60 exists configmap a-ok-cm -n team-a
check "team-b app inside its project syncs" wait_for 60 exists configmap b-ok-cm -n team-b

# namespaces: an object in team-b fails, and nothing of the app is applied
check "outside the project's namespaces: the sync fails" \
  wait_for 60 eval '[ "$(phase team-a a-bad-ns)" = Failed ]'
run opmsg team-a a-bad-ns
check "... with a per-object error naming the namespace and the project" \
  out_has "b-owned.*namespace 'team-b' is not a destination of project 'team-a'"
check "... nothing applied (the app's own ConfigMap not created either)" \
  eval '! exists configmap a-bad-ns-cm -n team-a'
check "... team-b's object unchanged" \
  eval '[ -z "$(k get configmap b-owned -n team-b -o jsonpath="{.metadata.labels.gitsync\.io/app}")" ]'

# kinds: a ClusterRole is not in team-a's clusterResourceWhitelist
check "cluster-scoped kind outside the project: the sync fails" \
  wait_for 60 eval '[ "$(phase team-a a-bad-kind)" = Failed ]'
run opmsg team-a a-bad-kind
check "... naming the kind and clusterResourceWhitelist" \
  out_has "ClusterRole is not permitted in project 'team-a'.*clusterResourceWhitelist"
check "... nothing applied (no ClusterRole, no ConfigMap)" \
  eval '! exists clusterrole team-a-escalation && ! exists configmap a-bad-kind-cm -n team-a'

# prune: the tracked object in team-b is not deleted
check "prune outside the project: the sync fails" \
  wait_for 60 eval '[ "$(phase team-a a-prune)" = Failed ]'
run opmsg team-a a-prune
check "... 'cannot prune' with the project's reason" out_has "cannot prune: namespace 'team-b'"
check "... the object in team-b is still there" exists configmap stale -n team-b

# the cluster's RBAC for the impersonated account: Secrets are not allowed
check "impersonated write refused by RBAC: the sync fails" \
  wait_for 60 eval '[ "$(phase team-a a-rbac)" = Failed ]'
run opmsg team-a a-rbac
check "... with the API server's message for system:serviceaccount:team-a:deployer" \
  out_has 'secrets .*is forbidden: User "system:serviceaccount:team-a:deployer" cannot'
check "... nothing applied" eval '! exists configmap a-rbac-cm -n team-a && ! exists secret a-rbac-secret -n team-a'

# sourceNamespaces: an app in team-b cannot use team-a's project
run opmsg team-b b-steals
check "an app in team-b naming project team-a is refused (sourceNamespaces)" \
  wait_for 30 eval 'opmsg team-b b-steals | grep -q "project .team-a. does not allow Applications in namespace .team-b."'

# a Project edit reaches the very next reconcile: the agent reads Projects
# from its watch (issue 20), never a copy the watch does not vouch for
cond() { k get application "$2" -n "$1" -o jsonpath='{.status.conditions[*].message}' 2>/dev/null; }
k -n gitsync patch project team-b --type merge \
  -p '{"spec":{"destinations":[{"namespace":"elsewhere","server":"https://kubernetes.default.svc"}]}}' >/dev/null
k -n team-b annotate application b-ok gitsync.io/refresh=normal --overwrite >/dev/null
check "a Project narrowed while the agent runs: the next comparison refuses its app" \
  wait_for 30 eval 'cond team-b b-ok | grep -q "destination namespace .team-b. is not permitted in project .team-b."'
k -n gitsync patch project team-b --type merge \
  -p '{"spec":{"destinations":[{"namespace":"team-b","server":"https://kubernetes.default.svc"}]}}' >/dev/null
# another value: the agent may not have cleared the first one yet, and the
# same value again would be no change (no event)
k -n team-b annotate application b-ok gitsync.io/refresh=hard --overwrite >/dev/null
check "... and widened again: the refusal is gone" \
  wait_for 30 eval '! cond team-b b-ok | grep -q "is not permitted"'

# an Application outside the agent's namespace and --app-namespaces
check "an Application in an unlisted namespace is ignored (one log line)" \
  eval '[ "$(grep -c "application other/other-app ignored" "$tmp/t1.log")" = 1 ]'
check "... and nothing of it is applied, no status written" \
  eval '! exists configmap other-cm -n other && [ -z "$(k get application other-app -n other -o jsonpath={.status})" ]'

# ---- API tokens limited to a project
"$G" token create team-a-ci --scope read -o line 2>"$tmp/token.a" | sed 's/ read / read team-a /' >>"$tmp/api.tokens"
k -n gitsync create secret generic gitsync-secret --from-file=api.tokens="$tmp/api.tokens" \
  --from-literal=webhook.github.secret=gh-test-secret --dry-run=client -o yaml | k apply -f - >/dev/null
api() { curl -s -w ' %{http_code}' -H "Authorization: Bearer $(cat "$1")" "http://127.0.0.1:$port/api/v1/applications$2"; }
check "the project-scoped token is loaded" wait_for 30 eval 'api "$tmp/token.a" "/a-ok?namespace=team-a" | grep -q " 200$"'
run api "$tmp/token.a" ""
# (b-steals, in team-b, names project team-a: listed, and refused when it syncs)
check "project token: the list holds team-a's apps only" \
  eval 'out_has "\"name\":\"a-ok\"" && ! out_has "\"name\":\"b-ok\""'
run api "$tmp/token.a" "/b-ok?namespace=team-b"
check "project token: team-b's app is not found (404)" out_has ' 404$'
run api "$tmp/token.a" "/b-ok/diff?namespace=team-b"
check "project token: nor its diff (404)" out_has ' 404$'
run api "$tmp/token.read" "/b-ok?namespace=team-b"
check "a two-field token still sees every project (200)" out_has ' 200$'
run api "$tmp/token.read" "/other-app?namespace=other"
check "no token sees an ignored namespace's app (404)" out_has ' 404$'

kill -TERM "$pid_t1"; wait "$pid_t1"
finish
