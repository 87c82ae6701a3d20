#!/usr/bin/env bash
# shellcheck disable=SC2034  # uid_* are read inside check's eval strings
# Nothing deleted by surprise (issue 14): an empty source never prunes
# without --allow-empty; Replace=true replaces in place (PUT), only
# Force=true,Replace=true deletes and creates again, and never a CRD (whose
# deletion takes every custom resource of its kind) nor a Namespace.
# Nothing deployed by surprise: an Application using a field gitsync does
# not implement, or naming another cluster, is refused with a condition.
. "$(dirname "${BASH_SOURCE[0]}")/sync-lib.sh"
start_cluster 0.5
k create namespace safe >/dev/null

# ---- an empty source
mkdir -p "$tmp/app" "$tmp/empty"
cat > "$tmp/app/cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: two}
data: {a: "2"}
Y
echo "# every manifest moved away" > "$tmp/empty/README.yaml"
run gs sync "$tmp/app" --app safe --namespace safe --prune
check "first sync: exit 0" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
run gs sync "$tmp/empty" --app safe --namespace safe --prune
check "empty source with --prune: exit 1, says how to allow it" eval 'rc_is 1 && out_has "Phase: +Failed" && out_has "allow-empty"'
check "empty source with --prune: nothing deleted" eval 'jp cm one two -n safe -o name | grep -c configmap | grep -qx 2'
run gs sync "$tmp/empty" --app safe --namespace safe --prune --allow-empty
check "--allow-empty: pruned" eval 'rc_is 0 && ! jp cm one -n safe -o name | grep -q one && ! jp cm two -n safe -o name | grep -q two'

# ---- Replace=true on a CRD keeps its custom resources
cat > "$tmp/crd.yaml" <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 1}
Y
run gs sync "$tmp/crd.yaml" --app crd --namespace safe
check "CRD and a Widget synced" eval 'rc_is 0 && jp widget w1 -n safe -o name | grep -q w1'
uid_crd=$(jp crd widgets.example.com -o jsonpath='{.metadata.uid}')
uid_w=$(jp widget w1 -n safe -o jsonpath='{.metadata.uid}')
sed -i 's/^metadata: {name: widgets.example.com}$/metadata: {name: widgets.example.com, annotations: {argocd.argoproj.io\/sync-options: "Force=true,Replace=true"}, labels: {changed: "yes"}}/' "$tmp/crd.yaml"
run gs sync "$tmp/crd.yaml" --app crd --namespace safe
check "CRD with Force=true,Replace=true: exit 0" eval 'rc_is 0'
check "the CRD was not deleted (same uid), the change applied" eval '[ "$(jp crd widgets.example.com -o jsonpath="{.metadata.uid}/{.metadata.labels.changed}")" = "$uid_crd/yes" ]'
check "its Widget is still there (same uid)" eval '[ "$(jp widget w1 -n safe -o jsonpath={.metadata.uid})" = "$uid_w" ]'

# ---- Replace=true: PUT in place; Force=true,Replace=true: recreated
cat > "$tmp/r.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: r, annotations: {argocd.argoproj.io/sync-options: Replace=true}}
data: {a: "1"}
Y
run gs sync "$tmp/r.yaml" --app rep --namespace safe
uid_r=$(jp cm r -n safe -o jsonpath='{.metadata.uid}')
k label cm r -n safe by=hand >/dev/null
sed -i 's/a: "1"/a: "2"/' "$tmp/r.yaml"
run gs sync "$tmp/r.yaml" --app rep --namespace safe
check "Replace=true: same object (uid kept), new data" eval 'rc_is 0 && [ "$(jp cm r -n safe -o jsonpath="{.metadata.uid}/{.data.a}")" = "$uid_r/2" ]'
check "Replace=true: a field set by hand is gone (whole object replaced)" eval '[ -z "$(jp cm r -n safe -o jsonpath={.metadata.labels.by})" ]'
sed -i 's/sync-options: Replace=true/sync-options: "Force=true,Replace=true"/; s/a: "2"/a: "3"/' "$tmp/r.yaml"
run gs sync "$tmp/r.yaml" --app rep --namespace safe
check "Force=true,Replace=true: recreated (new uid)" eval 'rc_is 0 && [ "$(jp cm r -n safe -o jsonpath={.metadata.uid})" != "$uid_r" ] && [ "$(jp cm r -n safe -o jsonpath={.data.a})" = 3 ]'

# ---- Applications: unsupported fields and other clusters are refused
run gs install --crd-only
k create namespace gitsync >/dev/null 2>&1
app() {
  cat <<A | k apply -f - >/dev/null
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata: {name: $1, namespace: gitsync}
spec:
  source: {repoURL: "file://$tmp/no-repo.git", path: ., $2}
  destination: {namespace: safe$3}
A
}
conds() { jp application "$1" -n gitsync -o jsonpath='{.status.conditions[*].type}'; }
# (spec.source.helm was the example until issue 18 implemented it)
app plugin 'plugin: {name: cmp-x}' ''
check "CRD keeps spec.source.plugin (not pruned by the schema)" eval 'jp application plugin -n gitsync -o jsonpath={.spec.source.plugin.name} | grep -qx cmp-x'
run gs app sync plugin
check "app sync of an app with spec.source.plugin: refused, says which field" eval 'rc_is 1 && out_has "spec.source.plugin is not supported"'
check "... with an UnsupportedField condition" eval 'conds plugin | grep -q UnsupportedField'
app other 'directory: {recurse: true}' ', server: "https://other.example:6443"'
run gs app sync other
check "app sync to another cluster: refused, names it" eval 'rc_is 1 && out_has "https://other.example:6443. is not the cluster"'
check "... with an InvalidSpecError condition" eval 'conds other | grep -q InvalidSpecError'


# ---- RespectIgnoreDifferences=true: replicas set by someone else (an HPA) survive a sync
git init -q -b main "$tmp/ign"
cat > "$tmp/ign/web.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "example.invalid/web:1"}]}
Y
git -C "$tmp/ign" add -A && git -C "$tmp/ign" -c user.name=t -c user.email=t@example.com commit -qm web
ignapp() {
  cat <<A | k apply -f - >/dev/null
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata: {name: ign, namespace: gitsync}
spec:
  source: {repoURL: "file://$tmp/ign", path: ., targetRevision: main}
  destination: {namespace: safe}
  ignoreDifferences: [{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]
  syncPolicy: {syncOptions: [$1]}
A
}
ignapp 'RespectIgnoreDifferences=true'
run gs app sync ign
check "RespectIgnoreDifferences: first sync creates the Deployment with Git's replicas" eval 'rc_is 0 && [ "$(jp deploy web -n safe -o jsonpath={.spec.replicas})" = 2 ]'
k scale deploy web -n safe --replicas=5 >/dev/null
sed -i 's/web:1/web:2/' "$tmp/ign/web.yaml"
git -C "$tmp/ign" -c user.name=t -c user.email=t@example.com commit -qam web2
run gs app sync ign
check "RespectIgnoreDifferences=true: the sync applies Git's change and keeps the live replicas" eval 'rc_is 0 && [ "$(jp deploy web -n safe -o jsonpath="{.spec.replicas}/{.spec.template.spec.containers[0].image}")" = "5/example.invalid/web:2" ]'
ignapp 'CreateNamespace=false'
sed -i 's/web:2/web:3/' "$tmp/ign/web.yaml"
git -C "$tmp/ign" -c user.name=t -c user.email=t@example.com commit -qam web3
run gs app sync ign
check "without RespectIgnoreDifferences: the sync resets replicas to Git's" eval 'rc_is 0 && [ "$(jp deploy web -n safe -o jsonpath="{.spec.replicas}/{.spec.template.spec.containers[0].image}")" = "2/example.invalid/web:3" ]'

finish
