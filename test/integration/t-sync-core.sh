#!/usr/bin/env bash
# gitsync sync/diff PATH against the real v1.20 test cluster: first sync,
# no drift from defaulting, drift detected and reverted, prune only with
# --prune (and never with Prune=false), all-or-nothing on a bad object,
# takeover of objects created by `kubectl apply`, health with --timeout.
. "$(dirname "${BASH_SOURCE[0]}")/sync-lib.sh"
start_cluster 0.5
PG="$root/test/data/sync/postgres-operator.yaml"
MS="$tmp/monsterstack-dev.yaml"
"$G" render "$root/examples/monsterstack/k8s/dev" >"$MS" || { echo "Bail out! cannot render examples/monsterstack/k8s/dev"; exit 1; }

# ---- postgres-operator: first sync, then nothing to do
run gs sync "$PG" --app pg
check "sync postgres-operator: exit 0, Succeeded" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
check "sync creates all 7 objects, RBAC and workloads" eval '[ "$(grep -cE "^[0-9]{4}-.* created$" "$tmp/out")" -eq 7 ]'
check "objects carry tracking label and id" eval '[ "$(jp deploy postgres-operator -o jsonpath="{.metadata.labels.gitsync\.io/app} {.metadata.annotations.gitsync\.io/tracking-id}")" = "pg pg:apps/Deployment:default/postgres-operator" ]'
check "field manager gitsync owns by Apply" eval 'jp deploy postgres-operator -o jsonpath="{.metadata.managedFields[*].manager}/{.metadata.managedFields[*].operation}" --show-managed-fields | grep -q "gitsync.*Apply"'
run gs diff "$PG" --app pg
check "diff right after sync: exit 0 (defaulted fields are not drift)" eval 'rc_is 0 && out_lacks "^[-+]{3} " && out_lacks "OutOfSync"'
pc_reset
run gsp sync "$PG" --app pg
writes=$(( $(pc verb:patch) + $(pc verb:create) + $(pc verb:update) + $(pc verb:delete) ))
total=$(pc total)
check "no-op re-sync writes nothing (patch+create+update+delete = $writes)" eval '[ "$writes" -eq 0 ] && rc_is 0'
check "no-op re-sync costs kinds + a handful of requests ($total for 6 kinds)" eval '[ "$total" -le 12 ]'

# ---- drift by hand is detected and reverted
k patch configmap postgres-operator --type merge -p '{"data":{"docker_image":"by-hand"}}' >/dev/null
k label serviceaccount postgres-operator extra=by-hand >/dev/null
run gs diff "$PG" --app pg
check "diff after a hand edit: exit 1, shows the line" eval 'rc_is 1 && out_has "^-  docker_image: by-hand" && out_has "^\+  docker_image: ghcr.io/zalando/spilo"'
check "diff table marks the ConfigMap OutOfSync, others Synced" eval 'out_has "ConfigMap +default +postgres-operator +OutOfSync" && out_has "Service +default +postgres-operator +Synced"'
run gs sync "$PG" --app pg
check "sync reverts the hand edit" eval 'rc_is 0 && [ "$(jp cm postgres-operator -o jsonpath={.data.docker_image})" = "ghcr.io/zalando/spilo-15:2.1-p9" ]'
check "only the ConfigMap was applied" eval '[ "$(grep -cE "^[0-9]{4}-.* configured$" "$tmp/out")" -eq 1 ]'
check "a label added by hand on another object is left alone (not ours)" eval '[ "$(jp sa postgres-operator -o jsonpath={.metadata.labels.extra})" = by-hand ]'

# ---- monsterstack dev: objects first created by kubectl apply are taken over
k create namespace dev >/dev/null
for try in 1 2 3; do
  k apply -n dev -f "$MS" >"$tmp/kapply" 2>&1 && break
  diag "kubectl apply (try $try): $(cat "$tmp/kapply")"; sleep 1
done
run gs sync "$MS" --app ms --namespace dev
check "sync adopts objects created by kubectl apply" eval 'rc_is 0 && [ "$(grep -cE "^[0-9]{4}-.* configured$" "$tmp/out")" -eq 9 ]'
mgrs="$(jp deploy frontend-dev -n dev --show-managed-fields -o jsonpath='{.metadata.managedFields[*].manager}')"
check "kubectl-client-side-apply no longer co-owns fields (managers: $mgrs)" eval '! grep -q kubectl-client-side-apply <<<"$mgrs"'
ports="$(jp svc frontend-dev -n dev -o jsonpath='{.spec.ports}')"
check "no duplicated list entries after takeover ($ports)" eval '[ "$(grep -o port\": <<<"$ports" | wc -l)" -eq 1 ]'
cports="$(jp deploy frontend-dev -n dev -o jsonpath='{.spec.template.spec.containers[0].ports}')"
check "container ports not duplicated ($cports)" eval '[ "$(grep -o containerPort <<<"$cports" | wc -l)" -eq 1 ]'
run gs diff "$MS" --app ms --namespace dev
check "after takeover diff is clean" eval 'rc_is 0'

# ---- a field removed from the source is removed from the cluster
python3 - "$MS" "$tmp/ms-nolimits.yaml" <<'PY'
import sys
s = open(sys.argv[1]).read()
# drop the imagebackend's label "tier" if present, else a resources block
out = s.replace("        resources:\n          limits:\n            cpu: 100m\n            memory: 128Mi\n", "", 1)
open(sys.argv[2], "w").write(out)
PY
if ! cmp -s "$MS" "$tmp/ms-nolimits.yaml"; then
  run gs sync "$tmp/ms-nolimits.yaml" --app ms --namespace dev
  check "field dropped from Git is dropped from the cluster" eval 'rc_is 0 && [ "$(grep -cE "^[0-9]{4}-.* configured$" "$tmp/out")" -ge 1 ]'
  run gs diff "$tmp/ms-nolimits.yaml" --app ms --namespace dev
  check "and the diff is clean afterwards" eval 'rc_is 0'
fi

# ---- prune: only with --prune, never with Prune=false
python3 - "$MS" "$tmp/ms-noredis.yaml" <<'PY'
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
keep = [d for d in docs if not ("kind: Deployment" in d and "name: redis-dev" in d)]
open(sys.argv[2], "w").write("\n---\n".join(keep))
PY
run gs diff "$tmp/ms-noredis.yaml" --app ms --namespace dev
check "diff shows the removed Deployment as Prune (exit 1)" eval 'rc_is 1 && out_has "Deployment +dev +redis-dev +Prune"'
run gs sync "$tmp/ms-noredis.yaml" --app ms --namespace dev
check "sync without --prune keeps it (ignored, requires pruning)" eval 'out_has "redis-dev .*requires pruning" && jp deploy redis-dev -n dev -o name | grep -q redis-dev'
k annotate deploy imagebackend-dev -n dev gitsync.io/sync-options=Prune=false >/dev/null
python3 - "$tmp/ms-noredis.yaml" "$tmp/ms-noredis-noib.yaml" <<'PY'
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
keep = [d for d in docs if not ("kind: Deployment" in d and "name: imagebackend-dev" in d)]
open(sys.argv[2], "w").write("\n---\n".join(keep))
PY
run gs sync "$tmp/ms-noredis-noib.yaml" --app ms --namespace dev --prune
check "sync --prune deletes the removed Deployment" eval 'rc_is 0 && out_has "redis-dev .*pruned" && ! jp deploy redis-dev -n dev -o name | grep -q redis'
check "Prune=false protects an object from prune" eval 'out_has "imagebackend-dev .*Prune=false" && jp deploy imagebackend-dev -n dev -o name | grep -q imagebackend'
check "objects of other apps are never pruned" eval 'jp deploy postgres-operator -o name | grep -q postgres-operator'

# ---- all-or-nothing: one invalid object, nothing applied
cat > "$tmp/bad.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: first-of-bad}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: -3
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: c, image: nginx}]}
Y
run gs sync "$tmp/bad.yaml" --app bad
check "a Deployment with an invalid field fails the sync (exit 1)" eval 'rc_is 1 && out_has "Phase: +Failed"'
check "the error names the object and the server message" eval 'out_has "Deployment.*bad.*replicas"'
check "nothing at all was applied" eval '! jp cm first-of-bad -o name | grep -q first-of-bad'
run gs sync "$tmp/bad.yaml" --app bad --dry-run
check "--dry-run reports the same failure" eval 'rc_is 1'

# ---- unknown kind: a clear per-object error, not a crash
cat > "$tmp/unknown.yaml" <<'Y'
apiVersion: nosuch.example.com/v1
kind: Widget
metadata: {name: w}
Y
run gs sync "$tmp/unknown.yaml" --app unk
check "unknown kind: exit 1 with a clear message" eval 'rc_is 1 && out_has "does not serve nosuch.example.com/v1"'

# ---- --dry-run writes nothing
cat > "$tmp/dry.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: dry-only}
data: {a: "1"}
Y
run gs sync "$tmp/dry.yaml" --app dry --dry-run
check "--dry-run succeeds and creates nothing" eval 'rc_is 0 && ! jp cm dry-only -o name | grep -q dry-only'

# ---- health: a broken image, --timeout fails with a clear message
cat > "$tmp/broken.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: 1
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec: {containers: [{name: c, image: "nginx:broken"}]}
Y
run gs sync "$tmp/broken.yaml" --app broken --timeout 6s
check "sync --timeout fails for a *:broken image (exit 1)" eval 'rc_is 1 && out_has "Phase: +Failed"'
check "the message says what is unhealthy" eval 'out_has "timed out after 6s waiting for health: Deployment default/broken is Progressing"'
cat > "$tmp/good.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: good}
spec:
  replicas: 2
  selector: {matchLabels: {app: good}}
  template:
    metadata: {labels: {app: good}}
    spec: {containers: [{name: c, image: "nginx:1.25", ports: [{containerPort: 80}]}]}
Y
run gs sync "$tmp/good.yaml" --app good --timeout 60s
check "sync --timeout waits until a good Deployment is Healthy" eval 'rc_is 0 && out_has "Health Status: +Healthy" && out_has "good +Synced +Healthy"'

finish
