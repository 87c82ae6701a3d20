#!/usr/bin/env bash
# `gitsync render --enable-helm` against `kubectl kustomize --enable-helm`
# (kustomize v5.7.1) byte for byte: kustomizations whose helmCharts inflate
# a chart written here (templates with values, a CRD in crds/), with
# valuesInline/valuesFile/valuesMerge/additionalValuesFiles, releaseName,
# namespace, includeCRDs, helmGlobals.chartHome, and kustomize's own
# transformers on top; charts with repo: pulled from a loopback chart
# repository (kustomize pulls into the tree, gitsync into its chart cache).
# Then the refusals (no --enable-helm, a chart outside the kustomization, a
# missing chart version).  SKIPs when kubectl or helm is missing.  TAP output.
set -u
gitsync="${GITSYNC:?GITSYNC must point at the gitsync binary}"
src="${GS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=tap-lib.sh
. "$src/test/integration/tap-lib.sh"
kubectl="${GS_KUBECTL:-$HOME/.cache/gitsync/kubectl/2.2.2/kubectl}"
helm="${GS_HELM:-${GITSYNC_HELM:-$HOME/.cache/gitsync/helm/2.2.2/helm}}"

tmp="$(mktemp -d)"
pids=()
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -x "$kubectl" ] || [ ! -x "$helm" ]; then
  skip "helmCharts against kubectl kustomize" "kubectl ($kubectl) or helm ($helm) missing"
  tap_plan
  exit 0
fi

# kustomize 5.7.1 asks `helm version -c --short` (a helm v3 flag) and insists
# on major version 3; the template arguments it passes work unchanged with
# helm v4, so the oracle gets a shim answering the version question only.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/helm" <<EOF
#!/bin/sh
if [ "\$1" = version ]; then echo "v3.99.0+oracle-shim"; exit 0; fi
exec "$helm" "\$@"
EOF
chmod +x "$tmp/bin/helm"

# the chart: templates reading values, a hook, a test, a CRD in crds/
chart() { # DIR
  mkdir -p "$1/templates/tests" "$1/crds"
  cat >"$1/Chart.yaml" <<'EOF'
apiVersion: v2
name: demo
version: 0.1.0
appVersion: "1.0"
EOF
  cat >"$1/values.yaml" <<'EOF'
replicas: 1
image: nginx:1.25
labels:
  tier: web
port: 80
env:
- name: A
  value: "1"
- name: B
  value: "2"
config:
  mode: prod
  debug: false
EOF
  cat >"$1/templates/deploy.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
  labels:
    {{- toYaml .Values.labels | nindent 4 }}
    chart: {{ .Chart.Name }}-{{ .Chart.Version }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
      - name: web
        image: {{ .Values.image }}
        env:
        {{- toYaml .Values.env | nindent 8 }}
        ports:
        - containerPort: {{ .Values.port }}
EOF
  cat >"$1/templates/svc.yaml" <<'EOF'
# a comment helm keeps and kustomize drops
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
  - port: {{ .Values.port }}
---
{{- if .Values.extra }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
data:
  {{- toYaml .Values.extra | nindent 2 }}
{{- end }}
EOF
  cat >"$1/templates/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  mode: {{ .Values.config.mode | quote }}
  debug: {{ .Values.config.debug | quote }}
  kube: {{ .Capabilities.KubeVersion.Major | quote }}
  {{- if .Capabilities.APIVersions.Has "example.com/v1" }}
  widgets: "yes"
  {{- end }}
EOF
  cat >"$1/templates/hook.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: m
        image: busybox
EOF
  cat >"$1/templates/tests/t.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers:
  - name: t
    image: busybox
EOF
  cat >"$1/crds/widget.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
EOF
}

# case DIR KUSTOMIZATION: a kustomization with the chart in DIR/charts/demo
mkcase() {
  mkdir -p "$tmp/$1"
  chart "$tmp/$1/charts/demo"
  cat >"$tmp/$1/kustomization.yaml"
}

mkcase inline <<'EOF'
namePrefix: p-
resources:
- plain.yaml
configMapGenerator:
- name: gen
  literals: [a=b]
helmCharts:
- name: demo
  releaseName: shop
  namespace: shop-ns
  includeCRDs: true
  valuesInline:
    replicas: 3
    labels: {extra: x}
    env:
    - name: B
      value: "20"
    - name: C
      value: "3"
    config: {debug: null}
patches:
- target: {kind: Deployment}
  patch: |-
    - op: add
      path: /metadata/annotations
      value: {patched: "yes"}
EOF
cat >"$tmp/inline/plain.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
EOF

mkcase valuesfile <<'EOF'
namespace: overlay
helmCharts:
- name: demo
  releaseName: rel
  valuesFile: my-values.yaml
  additionalValuesFiles: [more/extra.yaml]
  valuesMerge: merge
  valuesInline:
    replicas: 7
    image: should-not-win
  skipTests: true
  skipHooks: true
  kubeVersion: "1.29.0"
  apiVersions: [example.com/v1]
EOF
cat >"$tmp/valuesfile/my-values.yaml" <<'EOF'
image: busybox:1.36
labels: {tier: db}
port: 5432
env:
- name: ONLY
  value: "x"
config: {mode: dev, debug: true}
EOF
mkdir -p "$tmp/valuesfile/more"
cat >"$tmp/valuesfile/more/extra.yaml" <<'EOF'
extra: {added: "by additionalValuesFiles"}
port: 6543
EOF

mkdir -p "$tmp/home/vendor"
chart "$tmp/home/vendor/demo"
cat >"$tmp/home/kustomization.yaml" <<'EOF'
helmGlobals:
  chartHome: vendor
helmCharts:
- name: demo
  valuesMerge: replace
  valuesInline:
    replicas: 2
    image: redis:7
- name: demo
  releaseName: second
  includeCRDs: false
commonLabels:
  team: a
EOF

# a base with the chart, an overlay patching it
mkcase nested/base <<'EOF'
helmCharts:
- name: demo
  releaseName: app
  valuesInline:
    replicas: 4
EOF
cat >"$tmp/nested/kustomization.yaml" <<'EOF'
resources: [base]
namespace: prod
nameSuffix: -v2
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: app-web}
    spec:
      replicas: 9
EOF

cp -r "$src/examples/kustomize-helm" "$tmp/example"
for c in inline valuesfile home nested example; do
  (cd "$tmp/$c" && KUBECONFIG=/dev/null "$kubectl" kustomize --enable-helm \
     --helm-command "$tmp/bin/helm" . >"$tmp/$c.oracle" 2>"$tmp/$c.oerr")
  orc=$?
  "$gitsync" render --enable-helm --helm-command "$helm" "$tmp/$c" >"$tmp/$c.out" 2>"$tmp/$c.err"
  grc=$?
  if [ $orc -ne 0 ]; then
    not_ok "$c: the oracle failed: $(head -c 400 "$tmp/$c.oerr")"
  elif [ $grc -ne 0 ]; then
    not_ok "$c: gitsync render failed: $(head -c 400 "$tmp/$c.err")"
  elif cmp -s "$tmp/$c.oracle" "$tmp/$c.out"; then
    ok "$c: same bytes as kubectl kustomize --enable-helm ($(grep -c '^kind:' "$tmp/$c.out") objects)"
  else
    not_ok "$c: differs from kubectl kustomize --enable-helm"
    diff "$tmp/$c.oracle" "$tmp/$c.out" | head -30 | sed 's/^/# /'
  fi
done

# kubectl's --helm-kube-version / --helm-api-versions: for the charts that
# set none (inline); a chart's own kubeVersion/apiVersions win (valuesfile)
for c in inline valuesfile; do
  (cd "$tmp/$c" && KUBECONFIG=/dev/null "$kubectl" kustomize --enable-helm \
     --helm-command "$tmp/bin/helm" --helm-kube-version 2.5.0 \
     --helm-api-versions other.io/v1 . >"$tmp/caps.oracle" 2>&1)
  "$gitsync" render --enable-helm --helm-command "$helm" --helm-kube-version 2.5.0 \
    --helm-api-versions other.io/v1 "$tmp/$c" >"$tmp/caps.out" 2>&1
  if [ $c = inline ]; then want='kube: "2"'; else want='widgets: "yes"'; fi
  if cmp -s "$tmp/caps.oracle" "$tmp/caps.out" && grep -q "$want" "$tmp/caps.out"; then
    ok "$c: --helm-kube-version/--helm-api-versions: same bytes as kubectl ($want)"
  else
    not_ok "$c: --helm-kube-version/--helm-api-versions differ from kubectl"
    diff "$tmp/caps.oracle" "$tmp/caps.out" | head -20 | sed 's/^/# /'
  fi
done

# JSON output of the same render is the same objects
run "$gitsync" render --enable-helm --helm-command "$helm" -o json "$tmp/inline"
check "inline: -o json renders too" grep -q '"kind": "CustomResourceDefinition"' "$last"

# without --enable-helm: refused, naming the file and the flag, nothing printed
"$gitsync" render "$tmp/inline" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] &&
   grep -q 'kustomization.yaml:[0-9]*: .*--enable-helm' "$tmp/err"; then
  ok "no --enable-helm: refused with the file and the flag to give"
else
  not_ok "no --enable-helm: exit $rc, $(head -c 300 "$tmp/err")"
fi

# a chartHome climbing out of the kustomization is refused (kustomize's
# load restrictor refuses it too: its values file is outside the root)
mkdir -p "$tmp/esc/app" && chart "$tmp/esc/charts/demo"
cat >"$tmp/esc/app/kustomization.yaml" <<'EOF'
helmGlobals: {chartHome: ../charts}
helmCharts:
- name: demo
EOF
(cd "$tmp/esc" && git init -q . 2>/dev/null)
"$gitsync" render --enable-helm --helm-command "$helm" "$tmp/esc/app" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "chartHome '../charts' is not in or below" "$tmp/err"; then
  ok "chartHome ../ escape: refused, naming the kustomization"
else
  not_ok "chartHome ../ escape: exit $rc, $(head -c 300 "$tmp/err")"
fi

# a chart that is a symlink to a directory outside the kustomization
mkdir -p "$tmp/esc/link/charts"
ln -s ../../charts/demo "$tmp/esc/link/charts/demo"
printf 'helmCharts:\n- name: demo\n' >"$tmp/esc/link/kustomization.yaml"
"$gitsync" render --enable-helm --helm-command "$helm" "$tmp/esc/link" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "link/kustomization.yaml:[0-9]*: .*security; the chart" "$tmp/err"; then
  ok "chart symlinked out of the kustomization: refused"
else
  not_ok "chart symlinked out of the kustomization: exit $rc, $(head -c 300 "$tmp/err")"
fi

# ---- helmCharts with repo: and no chart in the tree: pulled
# A loopback HTTP chart repository (`helm package` + `helm repo index`, served
# by python's http.server on a free port) with demo 0.1.0 and 1.2.3.
# kustomize runs `helm pull --untar` into <chartHome>/<name>-<version>, so the
# oracle runs on a copy; gitsync pulls into its chart cache, never the tree.
hhelm() { HOME="$tmp/helm-home" "$helm" "$@"; }
serve() { # PORTFILE: serve $tmp/chartrepo, print nothing
  python3 "$tmp/serve.py" "$tmp/chartrepo" "$1" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
}
mkdir -p "$tmp/chartrepo/charts"
for v in 0.1.0 1.2.3; do
  rm -rf "$tmp/pub/demo" && chart "$tmp/pub/demo"
  sed -i "s/^version: .*/version: $v/" "$tmp/pub/demo/Chart.yaml"
  printf 'release: "%s"\n' "$v" >>"$tmp/pub/demo/values.yaml"
  hhelm package "$tmp/pub/demo" -d "$tmp/chartrepo/charts" >/dev/null
done
hhelm repo index "$tmp/chartrepo" >/dev/null
cat >"$tmp/serve.py" <<'PY'
import functools, http.server, os, sys
root, portfile = sys.argv[1], sys.argv[2]
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(H, directory=root))
open(portfile + '.tmp', 'w').write(str(s.server_address[1])); os.rename(portfile + '.tmp', portfile)
s.serve_forever()
PY
serve "$tmp/port"
chartrepo="http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)"
export GITSYNC_CACHE_DIR="$tmp/gs-cache"

# pinned (0.1.0: its values.yaml merged with valuesInline, by kustomize's
# reading of the pulled chart) and without version (helm pull's latest:
# 1.2.3), kustomize's transformers on top
mkdir -p "$tmp/pull"
cat >"$tmp/pull/kustomization.yaml" <<KUST
namePrefix: p-
helmCharts:
- name: demo
  repo: $chartrepo
  version: 0.1.0
  releaseName: pinned
  namespace: apps
  valuesInline:
    replicas: 5
    labels: {extra: x}
- name: demo
  repo: $chartrepo
  releaseName: newest
  includeCRDs: true
KUST
cp -r "$tmp/pull" "$tmp/pull-oracle"
(cd "$tmp/pull-oracle" && KUBECONFIG=/dev/null "$kubectl" kustomize --enable-helm \
   --helm-command "$tmp/bin/helm" . >"$tmp/pull.oracle" 2>"$tmp/pull.oerr")
orc=$?
"$gitsync" render --enable-helm --helm-command "$helm" "$tmp/pull" >"$tmp/pull.out" 2>"$tmp/pull.err"
grc=$?
if [ $orc -ne 0 ]; then
  not_ok "repo charts: the oracle failed: $(head -c 400 "$tmp/pull.oerr")"
elif [ $grc -ne 0 ]; then
  not_ok "repo charts: gitsync render failed: $(head -c 400 "$tmp/pull.err")"
elif cmp -s "$tmp/pull.oracle" "$tmp/pull.out" && grep -q 'chart: demo-0.1.0' "$tmp/pull.out" &&
     grep -q 'chart: demo-1.2.3' "$tmp/pull.out" && grep -q 'replicas: 5' "$tmp/pull.out"; then
  ok "repo charts pulled (pinned 0.1.0, latest 1.2.3): same bytes as kubectl kustomize --enable-helm ($(grep -c '^kind:' "$tmp/pull.out") objects)"
else
  not_ok "repo charts: differ from kubectl kustomize --enable-helm"
  diff "$tmp/pull.oracle" "$tmp/pull.out" | head -30 | sed 's/^/# /'
fi
tree_untouched() { [ "$(find "$tmp/pull" | wc -l)" -eq 2 ]; }
check "repo charts: nothing written into the kustomization's tree" tree_untouched
in_cache() { [ "$(ls "$GITSYNC_CACHE_DIR"/helm/charts/*.tgz 2>/dev/null | wc -l)" -eq 2 ]; }
check "repo charts: both archives are in the chart cache (\$GITSYNC_CACHE_DIR/helm)" in_cache

# a version the repository does not have: the error names the
# kustomization, the chart, the repository, the version and what exists
mkdir -p "$tmp/nover"
cat >"$tmp/nover/kustomization.yaml" <<KUST
helmCharts:
- name: demo
  repo: $chartrepo
  version: 9.9.9
KUST
"$gitsync" render --enable-helm --helm-command "$helm" "$tmp/nover" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q "nover/kustomization.yaml:2" "$tmp/err" &&
   grep -qF "helmCharts 'demo': pull from repo '$chartrepo' version 9.9.9" "$tmp/err" &&
   grep -qF "no version matches '9.9.9' (versions: 1.2.3, 0.1.0)" "$tmp/err" &&
   [ ! -e "$tmp/nover/charts" ]; then
  ok "missing chart version: refused, naming the repo, the version and the versions seen"
else
  not_ok "missing chart version: exit $rc, $(head -c 400 "$tmp/err")"
fi

# a repository answering 404 for its index: the status is named
mkdir -p "$tmp/nochart"
cat >"$tmp/nochart/kustomization.yaml" <<KUST
helmCharts:
- name: demo
  repo: $chartrepo/nowhere
  version: 0.1.0
KUST
"$gitsync" render --enable-helm --helm-command "$helm" "$tmp/nochart" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -qF "repo '$chartrepo/nowhere'" "$tmp/err" && grep -q "HTTP 404" "$tmp/err"; then
  ok "chart repository answering 404: the error names the repo and the HTTP status"
else
  not_ok "chart repository answering 404: exit $rc, $(head -c 400 "$tmp/err")"
fi
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=()

# a helm template error comes back with the chart named
mkcase broken <<'EOF'
helmCharts:
- name: demo
EOF
echo '{{ .Values.nope.deeper }}' >"$tmp/broken/charts/demo/templates/bad.yaml"
"$gitsync" render --enable-helm --helm-command "$helm" "$tmp/broken" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "helmCharts 'demo'" "$tmp/err" && grep -q "bad.yaml" "$tmp/err"; then
  ok "helm template error: names the chart and helm's template file"
else
  not_ok "helm template error: exit $rc, $(head -c 300 "$tmp/err")"
fi

tap_plan
exit 0
