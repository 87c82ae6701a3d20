#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Tenancy: one agent (its own namespace, where the Projects live) reading
# Applications of rel-ten-a, rel-ten-b and rel-ten-shared; two Projects
# (team-a: destinations rel-ten-a*, may create Namespaces; team-b:
# destinations rel-ten-b*, no cluster-scoped kind) and two service accounts
# whose RBAC covers ConfigMaps of their own namespace.  Each attack is
# written by a tenant, and must change nothing outside its bounds:
# - an Application in a namespace not in --app-namespaces: ignored, no
#   status, nothing applied, one log line and an Event its owner can read;
# - objects in a namespace the project forbids; a cluster-scoped kind the
#   project does not list: the sync fails, nothing of the app is applied;
# - a Namespace object of another team's namespace (team-a may create
#   Namespaces, but only its own): refused, the labels are not changed;
# - CreateNamespace=true outside the destinations, and by a project
#   without Namespace in clusterResourceWhitelist: nothing is created;
# - another project's service account: naming the project (refused by
#   sourceNamespaces, with an Event), or spec.destination.serviceAccountName
#   'rel-ten-b:deployer' (impersonates no account of team-b);
# - another tenant's credentials: a secretRef naming team-b's Secret (read
#   from the app's own namespace only), a Secret scoped to team-b by its
#   key `project` in a shared namespace, a repo-creds template scoped to
#   team-b: none serves team-a, each serves team-b;
# - an API token of project team-a: does not list, read or sync team-b's app.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

PASS="rel-TeamBPassw0rd-7e3a"
printf '%s\n' "$PASS" "$(printf 'team-b:%s' "$PASS" | base64 -w0)" >>"$REL_ENV/secret-values"
AGNS=rel-tenancy-agent
A=rel-ten-a B=rel-ten-b S=rel-ten-shared OUT=rel-ten-outside
for n in "$AGNS" "$A" "$A"2 "$A"3 "$B" "$S" "$OUT"; do k create namespace "$n" >/dev/null 2>&1; done
k -n "$AGNS" create secret generic gitsync-secret --from-file=api.tokens="$REL_ENV/api.tokens" \
  --from-literal=webhook.github.secret="$REL_WEBHOOK_SECRET" >/dev/null 2>&1

# ---- the private server (team-b / $PASS): repositories at / and /tmpl/
root="$REL_ENV/git-ten"
mkdir -p "$root/tmpl"
"$PY3" "$rel_root/test/integration/git-http-server.py" "$root" "$REL_ENV/gitten.port" \
  --user team-b --password "$PASS" >"$REL_OUT/git-ten.log" 2>&1 &
gpid=$!
echo "git-ten $gpid" >>"$REL_ENV/pids"
trap 'kill "$gpid" 2>/dev/null; rel_scenario_end' EXIT
wait_for 30 test -s "$REL_ENV/gitten.port"
priv="http://127.0.0.1:$(cat "$REL_ENV/gitten.port")"

# ---- one public repository, one directory per case; the private one
repo_new tenancy
w=$(repo_dir tenancy)
tcm() { printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s%s}\ndata: {owner: tenant}\n' "$1" "${2:+, namespace: $2}"; }
mkdir -p "$w"/{ok,out,bad-ns,cluster,takeover,createns,sa}
tcm a-ok >"$w/ok/cm.yaml"
tcm out-cm >"$w/out/cm.yaml"
{ tcm a-bad-ns-cm; tcm a-in-b "$B"; } >"$w/bad-ns/all.yaml"
{ tcm a-cluster-cm; printf -- '---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: rel-ten-escalate}\nrules:\n- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}\n'; } >"$w/cluster/all.yaml"
{ tcm a-takeover-cm; printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {pod-security.kubernetes.io/enforce: privileged}\n' "$B"; } >"$w/takeover/all.yaml"
tcm createns-cm >"$w/createns/cm.yaml"
tcm a-sa-cm >"$w/sa/cm.yaml"
rev=$(repo_commit tenancy tenancy)
pub=$(repo_url tenancy)
for r in priv tmpl/priv; do git init -q --bare -b main "$root/$r.git"; done
pw="$REL_ENV/work/ten-priv"; rm -rf "$pw"; git init -q -b main "$pw"; mkdir -p "$pw/app"
tcm priv-cm >"$pw/app/cm.yaml"
git -C "$pw" add -A; git -C "$pw" -c user.name=rel -c user.email=rel@example.com commit -qm priv
for r in priv tmpl/priv; do git -C "$pw" push -q "$root/$r.git" HEAD:main; done

# ---- tenants: service accounts with ConfigMap rights in their namespace, projects
for t in a b; do
  ns="rel-ten-$t"
  k apply -f - >/dev/null <<Y
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: $ns}
rules:
- {apiGroups: [''], resources: [configmaps], verbs: [get, list, watch, create, update, patch, delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: deployer, namespace: $ns}]
Y
done
k apply -f - >"$REL_OUT/projects.out" 2>&1 <<Y
apiVersion: gitsync.io/v1alpha1
kind: Project
metadata: {name: team-a, namespace: $AGNS}
spec:
  sourceRepos: ['*']
  sourceNamespaces: [$A, $S]
  destinations: [{namespace: 'rel-ten-a*', server: '*'}]
  clusterResourceWhitelist:
  - {group: '*', kind: Namespace}
  destinationServiceAccounts: [{namespace: $A, defaultServiceAccount: deployer}]
---
apiVersion: gitsync.io/v1alpha1
kind: Project
metadata: {name: team-b, namespace: $AGNS}
spec:
  sourceRepos: ['*']
  sourceNamespaces: [$B, $S]
  destinations: [{namespace: 'rel-ten-b*', server: '*'}]
  destinationServiceAccounts: [{namespace: $B, defaultServiceAccount: deployer}]
Y
tcm b-own | k -n "$B" apply -f - >/dev/null

# app NS NAME PROJECT REPO PATH DEST [extra spec lines, JSON flow]
app() {
  local ns="$1" name="$2" proj="$3" repo="$4" path="$5" dest="$6" extra="${7:-}"
  k apply -f - >/dev/null <<Y
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata: {name: $name, namespace: $ns}
spec:
  project: $proj
  source: {repoURL: '$repo', path: $path, targetRevision: main${extra:+, $extra}}
  destination: {namespace: $dest${DEST_EXTRA:+, $DEST_EXTRA}}
  syncPolicy: {automated: {prune: true}${SYNC_EXTRA:+, $SYNC_EXTRA}}
Y
}
count_input "tenancy attacks"
app "$A" a-ok team-a "$pub" ok "$A"
app "$OUT" out-app default "$pub" out "$OUT"
app "$A" a-bad-ns team-a "$pub" bad-ns "$A"
app "$A" a-cluster team-a "$pub" cluster "$A"3
app "$A" a-takeover team-a "$pub" takeover "$A"3
SYNC_EXTRA="syncOptions: [CreateNamespace=true]" app "$B" b-createns team-b "$pub" createns rel-ten-b-new
SYNC_EXTRA="syncOptions: [CreateNamespace=true]" app "$A" a-createns team-a "$pub" createns rel-ten-b-made-by-a
app "$A" a-steal-project team-b "$pub" ok "$B"
DEST_EXTRA="serviceAccountName: 'rel-ten-b:deployer'" app "$A" a-sa team-a "$pub" sa "$A"2
# credentials
k -n "$B" create secret generic b-creds --from-literal=username=team-b --from-literal=password="$PASS" >/dev/null
k -n "$S" create secret generic shared-b-creds --from-literal=username=team-b \
  --from-literal=password="$PASS" --from-literal=project=team-b >/dev/null
k -n "$AGNS" create secret generic b-template --from-literal=url="$priv/tmpl" --from-literal=project=team-b \
  --from-literal=username=team-b --from-literal=password="$PASS" >/dev/null
k -n "$AGNS" label secret b-template gitsync.io/secret-type=repo-creds >/dev/null
app "$B" b-priv team-b "$priv/priv.git" app "$B" "secretRef: {name: b-creds}"
app "$A" a-steal-secret team-a "$priv/priv.git" app "$A" "secretRef: {name: b-creds}"
app "$S" shared-b team-b "$priv/priv.git" app rel-ten-b-shared "secretRef: {name: shared-b-creds}"
app "$S" shared-a team-a "$priv/priv.git" app rel-ten-a-shared "secretRef: {name: shared-b-creds}"
app "$B" b-tmpl team-b "$priv/tmpl/priv.git" app rel-ten-b-tmpl
app "$A" a-tmpl team-a "$priv/tmpl/priv.git" app rel-ten-a-tmpl
for n in rel-ten-b-shared rel-ten-a-shared rel-ten-b-tmpl rel-ten-a-tmpl; do k create namespace "$n" >/dev/null 2>&1; done

port=$(free_port)
agent_start ten "$port" --namespace "$AGNS" --app-namespaces "$A,$B,$S"
check "agent (namespace $AGNS; apps of $A, $B, $S) ready" wait_for 60 agent_ready "$port"

ap() { k get application "$2" -n "$1" -o jsonpath="$3" 2>/dev/null; }
phase() { ap "$1" "$2" '{.status.operationState.phase}'; }
msgs() { ap "$1" "$2" '{.status.operationState.message} {.status.operationState.syncResult.resources[*].message} {.status.conditions[*].message}'; }
exists() { k get "$@" >/dev/null 2>&1; }
events() { k get events -n "$1" --field-selector "involvedObject.name=$2" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null; }

check "team-a's app inside its project syncs (as $A:deployer)" wait_for 90 exists configmap a-ok -n "$A"
check "team-b's app with its own secretRef syncs (private repository)" wait_for 90 exists configmap priv-cm -n "$B"

# ---- an Application outside --app-namespaces
check "an Application in $OUT (not watched) is ignored: one log line" \
  wait_for 30 eval '[ "$(grep -c "application $OUT/out-app ignored" "$REL_OUT/agent-ten.log")" = 1 ]'
check "... an Event in its namespace says why (NamespaceNotWatched)" \
  wait_for 30 eval 'events "$OUT" out-app | grep -q "^NamespaceNotWatched: .*namespace .$OUT. is neither the agent"'
diag "$(events "$OUT" out-app)"
check "... nothing of it applied, no status written" \
  eval '! exists configmap out-cm -n "$OUT" && [ -z "$(ap "$OUT" out-app "{.status}")" ]'

# ---- a namespace the project forbids
check "objects in a namespace outside the project: the sync fails" wait_for 60 eval '[ "$(phase "$A" a-bad-ns)" = Failed ]'
check "... naming the object's namespace and the project" \
  eval 'msgs "$A" a-bad-ns | grep -q "namespace .$B. is not a destination of project .team-a."'
check "... nothing of the app applied, nothing written in $B" \
  eval '! exists configmap a-bad-ns-cm -n "$A" && ! exists configmap a-in-b -n "$B"'

# ---- a cluster-scoped kind the project does not list
check "a ClusterRole in team-a's source: the sync fails" wait_for 60 eval '[ "$(phase "$A" a-cluster)" = Failed ]'
check "... naming clusterResourceWhitelist" eval 'msgs "$A" a-cluster | grep -q "ClusterRole is not permitted in project .team-a."'
check "... no ClusterRole, no ConfigMap" eval '! exists clusterrole rel-ten-escalate && ! exists configmap a-cluster-cm -n "$A"3'

# ---- another team's Namespace (team-a may write Namespaces: its own only)
check "a Namespace object for $B in team-a's source: the sync fails" \
  wait_for 60 eval '[ "$(phase "$A" a-takeover)" = Failed ]'
check "... 'Namespace $B is not a destination of project team-a'" \
  eval 'msgs "$A" a-takeover | grep -q "Namespace .$B. is not a destination of project .team-a."'
check "... $B's labels unchanged, nothing of the app applied" \
  eval '[ -z "$(k get namespace "$B" -o jsonpath="{.metadata.labels.pod-security\.kubernetes\.io/enforce}")" ] && ! exists configmap a-takeover-cm -n "$A"3'

# ---- CreateNamespace=true
check "CreateNamespace outside team-a's destinations: refused" \
  wait_for 60 eval 'msgs "$A" a-createns | grep -q "rel-ten-b-made-by-a. is not permitted in project .team-a."'
check "CreateNamespace by team-b (no Namespace in clusterResourceWhitelist): refused" \
  wait_for 60 eval 'msgs "$B" b-createns | grep -q "CreateNamespace=true: cluster-scoped core/Namespace is not permitted in project .team-b."'
check "... neither namespace created" eval '! exists namespace rel-ten-b-made-by-a && ! exists namespace rel-ten-b-new'

# ---- another project's service account
check "an app of $A naming project team-b is refused (sourceNamespaces)" \
  wait_for 60 eval 'msgs "$A" a-steal-project | grep -q "project .team-b. does not allow Applications in namespace .$A."'
check "... with an Event on the Application (ProjectRefused)" \
  wait_for 30 eval 'events "$A" a-steal-project | grep -q "^ProjectRefused: project .team-b. does not allow"'
diag "$(events "$A" a-steal-project)"
check "... nothing applied to $B" eval '! exists configmap a-ok -n "$B"'
check "serviceAccountName 'rel-ten-b:deployer' does not become team-b's account: the API server refuses" \
  wait_for 60 eval '[ "$(phase "$A" a-sa)" = Failed ] && msgs "$A" a-sa | grep -q "forbidden: User .system:serviceaccount:$A:rel-ten-b:deployer. cannot"'
check "... nothing applied" eval '! exists configmap a-sa-cm -n "$A"2'

# ---- another tenant's credentials
check "secretRef naming team-b's Secret is read from $A: not found there, nothing synced" \
  wait_for 60 eval 'msgs "$A" a-steal-secret | grep -q "Secret .$A/b-creds."'
check "a Secret scoped to team-b (key project) in a shared namespace serves team-b's app" \
  wait_for 90 exists configmap priv-cm -n rel-ten-b-shared
check "... and refuses team-a's app there, naming the scope" \
  wait_for 60 eval 'msgs "$S" shared-a | grep -q "is for project .team-b. (its key .project.), not this app.s project .team-a."'
check "a repo-creds template scoped to team-b serves team-b's app" wait_for 90 exists configmap priv-cm -n rel-ten-b-tmpl
check "... and not team-a's: authentication fails" \
  wait_for 60 eval 'msgs "$A" a-tmpl | grep -qiE "auth|credential|401"'
check "... none of team-a's apps got the private repository's objects" \
  eval '! exists configmap priv-cm -n "$A" && ! exists configmap priv-cm -n rel-ten-a-shared && ! exists configmap priv-cm -n rel-ten-a-tmpl'
diag "a-tmpl: $(msgs "$A" a-tmpl | cut -c1-300)"

# ---- an API token of project team-a
"$G" token create ten-a --scope sync -o line 2>"$REL_ENV/token.ten-a" | sed 's/ sync / sync team-a /' >>"$REL_ENV/api.tokens"
k -n "$AGNS" create secret generic gitsync-secret --from-file=api.tokens="$REL_ENV/api.tokens" \
  --from-literal=webhook.github.secret="$REL_WEBHOOK_SECRET" --dry-run=client -o yaml | k apply -f - >/dev/null
ta=$(cat "$REL_ENV/token.ten-a")
api() { # api METHOD PATH
  last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"
  curl -s -o "$last" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $ta" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$port/api/v1/applications$2"
}
check "the team-a token is loaded" wait_for 30 eval '[ "$(api GET "/a-ok?namespace=$A")" = 200 ]'
api GET "" >/dev/null
check "team-a token: the list holds team-a's apps, none of team-b's" \
  eval 'grep -q "\"name\":\"a-ok\"" "$last" && ! grep -q "\"name\":\"b-priv\"" "$last"'
check "team-a token: team-b's app is not found (404)" eval '[ "$(api GET "/b-priv?namespace=$B")" = 404 ]'
check "team-a token: syncing team-b's app is refused (404), no operation set" \
  eval '[ "$(api POST "/b-priv/sync?namespace=$B" "{}")" = 404 ] && [ -z "$(ap "$B" b-priv "{.operation}")" ]'
