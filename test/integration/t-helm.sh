#!/usr/bin/env bash
# shellcheck disable=SC2034  # variables read inside check's eval strings
# Helm charts in Git rendered by the real helm (issue 18): examples/helm-app
# synced to the test cluster with value files and parameters; the applied
# objects must equal `helm template` for the same inputs.  Confinement: a
# value file outside the repository is refused.  TAP; skips (1..0) without
# the cluster, kubectl or helm.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cl="$root/test/cluster"
G="${GITSYNC:-$root/build/agent/gitsync}"

if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$cl" >/dev/null 2>&1; then
  echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
  exit 0
fi
if ! KUBECTL="$("$root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
  echo "1..0 # SKIP kubectl not available"
  exit 0
fi
if ! HELM="$("$root/scripts/get-helm.sh" 2>/dev/null)" || [ ! -x "$HELM" ]; then
  echo "1..0 # SKIP helm could not be installed (scripts/get-helm.sh)"
  exit 0
fi
command -v git >/dev/null || { echo "1..0 # SKIP git not installed"; exit 0; }
python3 -c 'import yaml' 2>/dev/null || { echo "1..0 # SKIP python3-yaml not installed"; exit 0; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-t-helm.XXXXXX")"
D="$tmp/cluster"
cleanup() {
  "$cl/stop" "$D" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
k() { "$KUBECTL" --kubeconfig "$D/kubeconfig" "$@"; }
gs() { "$G" "$@"; }
H() { HOME="$tmp/helm-home" "$HELM" "$@"; }

run "$cl/start.py" "$D" --no-proxy
if [ "$rc" -ne 0 ]; then
  echo "1..0 # SKIP the test cluster did not start: $(tail -n 1 "$tmp/out")"
  exit 0
fi
export KUBECONFIG="$D/kubeconfig" GITSYNC_CACHE_DIR="$tmp/cache" GITSYNC_HELM="$HELM"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com

git init -q --bare "$tmp/apps.git"
git -C "$tmp/apps.git" symbolic-ref HEAD refs/heads/main
git init -q -b main "$tmp/work"
cp -r "$root/examples/helm-app" "$tmp/work/"
git -C "$tmp/work" add -A && git -C "$tmp/work" commit -qm "chart"
git -C "$tmp/work" remote add origin "$tmp/apps.git"
git -C "$tmp/work" push -q origin main
push() { git -C "$tmp/work" add -A && git -C "$tmp/work" commit -qm "$1" && git -C "$tmp/work" push -q origin main; }
REPO="file://$tmp/apps.git"
kver="$(k version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"

# every object helm renders is in the cluster with every rendered field
# (the cluster adds fields; none of the chart's may differ)
cat >"$tmp/subset.py" <<'PY'
import json, subprocess, sys, yaml
kubectl, ns, expected = sys.argv[1], sys.argv[2], sys.argv[3]
def sub(want, have, path):
    if isinstance(want, dict):
        if not isinstance(have, dict): return [path]
        return [p for k, v in want.items() for p in sub(v, have.get(k), path + "." + k)]
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have): return [path]
        return [p for i, (w, h) in enumerate(zip(want, have)) for p in sub(w, h, "%s[%d]" % (path, i))]
    return [] if want == have else [path + ": want %r have %r" % (want, have)]
bad, n = [], 0
for doc in yaml.safe_load_all(open(expected)):
    if not doc: continue
    n += 1
    live = json.loads(subprocess.check_output([kubectl, "get", doc["kind"], doc["metadata"]["name"], "-n", ns, "-o", "json"]))
    doc["metadata"].pop("namespace", None)
    bad += ["%s/%s%s" % (doc["kind"], doc["metadata"]["name"], p) for p in sub(doc, live, "")]
print("%d objects compared" % n)
for b in bad: print("differs:", b)
sys.exit(1 if bad or not n else 0)
PY

run gs install --crd-only
check "install --crd-only" rc_is 0
k create namespace hello >/dev/null

# ---------------------------------------------------------------- a Git chart
run gs app create hello --repo "$REPO" --path helm-app/chart --dest-namespace hello \
  --values ../envs/prod.yaml --values values-missing.yaml --helm-set color=blue \
  --helm-set port=9090 --helm-set-string color=0755
check "app create with --values/--helm-set/--helm-set-string" rc_is 0
run k get applications.gitsync.io hello -n gitsync -o jsonpath='{.spec.source.helm}'
check "the CRD keeps spec.source.helm" eval 'out_has "valueFiles" && out_has "forceString"'

run gs app manifests hello
check "a missing value file is an error naming it (ignoreMissingValueFiles unset)" \
  eval '! rc_is 0 && out_has "values-missing.yaml" && out_has "ignoreMissingValueFiles"'
k patch applications.gitsync.io hello -n gitsync --type merge \
  -p '{"spec":{"source":{"helm":{"ignoreMissingValueFiles":true}}}}' >/dev/null

run gs app manifests hello
check "app manifests shows the rendered chart" \
  eval 'rc_is 0 && out_has "name: hello-config" && out_has "hello from prod" && out_has "kind: Service"'
run gs app get hello
check "app get: chart info, no UnsupportedField for spec.source.helm" \
  eval 'rc_is 0 && out_lacks "UnsupportedField" && out_has "Helm Release: +hello" && out_has "Helm Values: +../envs/prod.yaml,values-missing.yaml" && out_has "color=0755"'

run gs app sync hello
check "app sync applies the chart" eval 'rc_is 0 && out_has "Succeeded"'
H template hello "$tmp/work/helm-app/chart" --namespace hello --kube-version "$kver" \
  --include-crds -f "$tmp/work/helm-app/envs/prod.yaml" --set color=blue \
  --set port=9090 --set-string color=0755 >"$tmp/expected.yaml"
run python3 "$tmp/subset.py" "$KUBECTL" hello "$tmp/expected.yaml"
check "the applied objects equal helm template for the same inputs" \
  eval 'rc_is 0 && out_has "^3 objects compared"'
sed "s/port: 9090/port: 9091/" "$tmp/expected.yaml" >"$tmp/wrong.yaml"
run python3 "$tmp/subset.py" "$KUBECTL" hello "$tmp/wrong.yaml"
check "(the comparison sees a field that differs)" eval '! rc_is 0 && out_has "want 9091"'
run k get configmap hello-config -n hello -o jsonpath='{.data.kubeVersion} {.data.color} {.data.replicas}'
check "Capabilities from the live cluster; parameters in order, after the value file" \
  eval "out_has '^$kver 0755 3\$'"
run k get service hello -n hello -o jsonpath='{.spec.ports[0].port}'
check "--helm-set reaches the chart" out_has '^9090$'

# ---------------------------------------------------------------- a change, and keep
printf 'greeting: hello again\nreplicas: 2\n' >"$tmp/work/helm-app/envs/prod.yaml"
push "values"
run gs app sync hello --prune
check "a changed value file is synced; prune runs" eval 'rc_is 0 && out_has "Succeeded"'
run k get configmap hello-config -n hello -o jsonpath='{.data.greeting}'
check "the new value is applied" out_has '^hello again$'
run k get configmap hello-data -n hello -o name
check "helm.sh/resource-policy: keep is not pruned when the chart drops it" \
  out_has 'configmap/hello-data'

# ---------------------------------------------------------------- confinement
run gs app create escape --repo "$REPO" --path helm-app/chart --dest-namespace hello \
  --values ../../../../../../../../../../../../../../../../etc/passwd
check "app create (a value file outside the repository)" rc_is 0
run gs app manifests escape
check "a value file resolving outside the repository is refused, named" \
  eval '! rc_is 0 && out_has "outside the repository" && out_has "etc/passwd" && out_lacks "root:x:0"'
# (the Git export drops such links; a local directory is checked by the runner)
ln -s /etc "$tmp/work/helm-app/chart/host-etc"
run gs app diff hello --local "$tmp/work/helm-app/chart"
check "a local chart holding a symlink that leaves its root is refused" \
  eval 'out_has "host-etc" && out_has "outside the repository"'
rm "$tmp/work/helm-app/chart/host-etc"

# ---------------------------------------------------------------- a kustomization with helmCharts
# examples/kustomize-helm: the agent's render child asks for the chart, the
# CLI's helm runner renders it; what is applied must equal kubectl kustomize
# --enable-helm (kustomize 5.7.1 wants `helm version -c` to say v3: a shim
# answers that and hands everything else to the same helm)
cp -r "$root/examples/kustomize-helm" "$tmp/work/"
push "kustomize-helm"
mkdir -p "$tmp/bin"
printf '#!/bin/sh\nif [ "$1" = version ]; then echo v3.99.0+shim; exit 0; fi\nexec "%s" "$@"\n' \
  "$HELM" >"$tmp/bin/helm"
chmod +x "$tmp/bin/helm"
(cd "$tmp/work/kustomize-helm" && KUBECONFIG=/dev/null "$KUBECTL" kustomize --enable-helm \
   --helm-command "$tmp/bin/helm" .) >"$tmp/kexpected.yaml" 2>"$tmp/kerr"
k create namespace greeter >/dev/null
run gs app create greeter --repo "$REPO" --path kustomize-helm --dest-namespace greeter
check "app create (a kustomization with helmCharts)" rc_is 0
run gs app manifests greeter
cp "$last" "$tmp/kmanifests.yaml"
check "app manifests renders the helmCharts like kubectl kustomize --enable-helm" \
  eval 'rc_is 0 && [ -s "$tmp/kexpected.yaml" ] && python3 -c "
import sys, yaml
a = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
b = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
sys.exit(0 if a == b and len(a) == 3 else 1)" "$tmp/kexpected.yaml" "$tmp/kmanifests.yaml"'
run gs app sync greeter
check "app sync applies the inflated chart" eval 'rc_is 0 && out_has "Succeeded"'
run python3 "$tmp/subset.py" "$KUBECTL" greeter "$tmp/kexpected.yaml"
check "the applied objects equal kubectl kustomize --enable-helm" \
  eval 'rc_is 0 && out_has "^3 objects compared"'
run k get deployment greeter -n greeter -o jsonpath='{.spec.replicas} {.metadata.labels.team}'
check "kustomize's patch and labels apply on top of the chart" out_has '^3 web$'
run gs diff "$tmp/work/kustomize-helm" --app greeter
check "gitsync diff PATH renders the helmCharts too: in sync after the app's sync" \
  eval 'rc_is 0 && out_has "Synced" && out_lacks "OutOfSync" && out_lacks "Missing"'
run "$G" render "$tmp/work/kustomize-helm"
check "gitsync render without --enable-helm refuses helmCharts, saying how" \
  eval '! rc_is 0 && out_has "kustomization.yaml:[0-9]*: .*--enable-helm"'

# ---------------------------------------------------------------- a chart with a dependency
# Chart.yaml names a dependency in a local chart repository (file://): the
# runner builds it (`helm dependency build`) without writing into the export
mkdir -p "$tmp/work/deps/lib/templates" "$tmp/work/deps/app/templates"
printf 'apiVersion: v2\nname: lib\nversion: 0.1.0\n' >"$tmp/work/deps/lib/Chart.yaml"
printf 'msg: from-lib\n' >"$tmp/work/deps/lib/values.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-lib\ndata:\n  msg: {{ .Values.msg | quote }}\n' \
  >"$tmp/work/deps/lib/templates/cm.yaml"
printf 'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 0.1.0\n  repository: file://../lib\n' \
  >"$tmp/work/deps/app/Chart.yaml"
printf 'lib:\n  msg: from-parent\n' >"$tmp/work/deps/app/values.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-app\ndata:\n  libmsg: {{ .Values.lib.msg | quote }}\n' \
  >"$tmp/work/deps/app/templates/cm.yaml"
push "a chart with a dependency"
cp -r "$tmp/work/deps" "$tmp/deps-copy"
H dependency build "$tmp/deps-copy/app" >/dev/null 2>&1
H template depapp "$tmp/deps-copy/app" --namespace hello --kube-version "$kver" --include-crds \
  >"$tmp/dexpected.yaml" 2>/dev/null
run gs app create depapp --repo "$REPO" --path deps/app --dest-namespace hello
check "app create (a chart whose dependency is in a file:// repository)" rc_is 0
run gs app manifests depapp
cp "$last" "$tmp/dmanifests.yaml"
check "its dependency is built and rendered: equal to helm dependency build + helm template" \
  eval 'rc_is 0 && out_has "name: depapp-lib" && out_has "msg: from-parent" && python3 -c "
import sys, yaml
a = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
b = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
sys.exit(0 if a == b and len(a) == 2 else 1)" "$tmp/dexpected.yaml" "$tmp/dmanifests.yaml"'
check "nothing written into the commit's export (no charts/ or Chart.lock beside the chart)" \
  eval '[ -n "$(find "$tmp/cache" -path "*/deps/app/Chart.yaml")" ] && [ -z "$(find "$tmp/cache" -path "*/deps/app/charts" -o -path "*/deps/app/Chart.lock")" ]'

# ---------------------------------------------------------------- template errors
printf 'x: {{ required "bad needs x" .Values.x }}\n' >"$tmp/work/helm-app/chart/templates/bad.yaml"
push "broken template"
run gs app manifests hello
check "helm's error names the template and its line" \
  eval '! rc_is 0 && out_has "hello/templates/bad.yaml:1" && out_has "bad needs x"'

tap_plan
exit 0
