#!/usr/bin/env bash
# shellcheck disable=SC2034  # variables read inside check's eval strings
# Charts from chart repositories on the test cluster (issue 18):
#  - an HTTP chart repository (`helm package` + `helm repo index`, served by
#    a static server on 127.0.0.1), pinned by a semver range; a new version
#    published into the range is applied on the next sync, one outside it
#    or a prerelease is not; status.sync.revision is the version picked
#  - the same repository behind basic auth, credentials from a Secret
#  - spec.sources: the chart plus a Git source (ref: values) whose file is
#    a value file as $values/...
#  - an OCI registry (Debian's docker-registry on loopback, `helm push`)
# For each, the rendered objects (`gitsync app manifests`) equal
# `helm template` of the same chart and values, and the cluster holds them.
# TAP; SKIP without the cluster, helm or python3-yaml; the OCI part SKIPs
# without docker-registry.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cl="$root/test/cluster"
G="${GITSYNC:-$root/build/agent/gitsync}"

if [ -z "${GITSYNC_HELM:-}" ]; then
  for h in "$HOME"/.cache/gitsync/helm/*/helm; do [ -x "$h" ] && GITSYNC_HELM="$h"; done
  [ -n "${GITSYNC_HELM:-}" ] || GITSYNC_HELM="$(command -v helm || true)"
fi
if [ -z "$GITSYNC_HELM" ] || [ ! -x "$GITSYNC_HELM" ]; then
  echo "1..0 # SKIP helm not available (scripts/get-helm.sh)"
  exit 0
fi
export GITSYNC_HELM
if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$cl" >/dev/null 2>&1; then
  echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
  exit 0
fi
if ! KUBECTL="$("$root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
  KUBECTL="$(command -v kubectl || true)"
fi
[ -n "$KUBECTL" ] || { echo "1..0 # SKIP kubectl not available"; exit 0; }
python3 -c 'import yaml' 2>/dev/null || { echo "1..0 # SKIP python3-yaml not installed"; exit 0; }
command -v git >/dev/null || { echo "1..0 # SKIP git not installed"; exit 0; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-t-helm-repo.XXXXXX")"
D="$tmp/cluster"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  "$cl/stop" "$D" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
k() { "$KUBECTL" --kubeconfig "$D/kubeconfig" "$@"; }
gs() { "$G" "$@"; }
helm() { HOME="$tmp/helm-home" "$GITSYNC_HELM" "$@"; }

run "$cl/start.py" "$D" --no-proxy
if [ "$rc" -ne 0 ]; then
  echo "1..0 # SKIP the test cluster did not start: $(tail -n 1 "$tmp/out")"
  exit 0
fi
export KUBECONFIG="$D/kubeconfig" GITSYNC_CACHE_DIR="$tmp/cache"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
mkdir -p "$tmp/helm-home"

# ---------------------------------------------------------------- charts
# web VERSION: ConfigMaps whose data says which version and values rendered
make_chart() {
  local v="$1" d="$tmp/src/web"
  rm -rf "$d" && mkdir -p "$d/templates"
  cat >"$d/Chart.yaml" <<Y
apiVersion: v2
name: web
version: $v
Y
  cat >"$d/values.yaml" <<'Y'
greeting: hello
replicas: 1
Y
  cat >"$d/templates/cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-web
  labels:
    chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
data:
  version: {{ .Chart.Version | quote }}
  greeting: {{ .Values.greeting | quote }}
  replicas: {{ .Values.replicas | quote }}
  namespace: {{ .Release.Namespace }}
Y
  cat >"$d/templates/second.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-second
data:
  kube: {{ .Capabilities.KubeVersion.Major | quote }}
Y
  helm package "$d" -d "$tmp/repo/charts" >/dev/null
}
publish() { # VERSION...: package each and re-index the repository
  local v
  for v in "$@"; do make_chart "$v"; done
  helm repo index "$tmp/repo" >/dev/null
  cp "$tmp/repo/index.yaml" "$tmp/repo/private/index.yaml"
  cp "$tmp/repo/charts/"*.tgz "$tmp/repo/private/charts/"
}

# a static server on 127.0.0.1 (a free port), /private behind basic auth
cat >"$tmp/serve.py" <<'PY'
import base64, functools, http.server, os, sys
root, portfile = sys.argv[1], sys.argv[2]
want = 'Basic ' + base64.b64encode(b'chartuser:chart-pw').decode()
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith('/private/') and self.headers.get('Authorization') != want:
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="charts"')
            self.end_headers()
            return
        super().do_GET()
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(H, directory=root))
open(portfile + '.tmp', 'w').write(str(s.server_address[1])); os.rename(portfile + '.tmp', portfile)
s.serve_forever()
PY
mkdir -p "$tmp/repo/charts" "$tmp/repo/private/charts"
publish 1.0.0 2.0.0
python3 "$tmp/serve.py" "$tmp/repo" "$tmp/port" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
REPO="http://127.0.0.1:$(cat "$tmp/port")"

run gs install --crd-only
check "install --crd-only applies the CRD" rc_is 0
k create namespace gitsync >/dev/null 2>&1
k create namespace web >/dev/null 2>&1

# same_yaml A B: the same documents (order ignored: helm's and ours may sort
# differently), typed scalars, comments and empty documents ignored
same_yaml() {
  python3 - "$1" "$2" <<'PY'
import sys, yaml
def load(p):
    docs = [d for d in yaml.safe_load_all(open(p)) if d is not None]
    return sorted(docs, key=lambda d: (d.get('kind', ''), d.get('metadata', {}).get('name', '')))
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print('expected:', yaml.safe_dump_all(a)); print('got:', yaml.safe_dump_all(b)); sys.exit(1)
PY
}
# manifests_equal APP RELEASE NS CHART.tgz [helm flags]: `gitsync app
# manifests` equals helm template with the cluster's kube version
manifests_equal() {
  local app="$1" rel="$2" ns="$3" tgz="$4"; shift 4
  gs app manifests "$app" >"$tmp/ours.yaml" 2>&1 || { cat "$tmp/ours.yaml"; return 1; }
  helm template "$rel" "$tgz" --namespace "$ns" --kube-version "$kv" --include-crds "$@" \
    >"$tmp/helm.yaml" || return 1
  same_yaml "$tmp/helm.yaml" "$tmp/ours.yaml"
}
kv="$(k version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
cmdata() { k -n web get configmap "$1" -o "jsonpath={.data.$2}"; }
revision() { k -n gitsync get application "$1" -o 'jsonpath={.status.sync.revision}'; }

# ---------------------------------------------------------------- HTTP repository, range
app_yaml() { # NAME REPOURL RANGE [EXTRA SOURCE YAML]
  cat <<Y
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata:
  name: $1
  namespace: gitsync
spec:
  destination:
    namespace: web
  source:
    repoURL: $2
    chart: web
    targetRevision: "$3"
    helm:
      parameters:
      - name: greeting
        value: from-$1
${4:-}
Y
}
app_yaml web-range "$REPO" "^1.0" | k apply -f - >/dev/null
run gs app sync web-range --timeout 60s
check "sync of a chart from an HTTP repository pinned by ^1.0" rc_is 0
check "the highest version in range (1.0.0, not 2.0.0) is applied" \
  eval '[ "$(cmdata web-range-web version)" = 1.0.0 ] && [ "$(cmdata web-range-web greeting)" = from-web-range ]'
check "status.sync.revision shows the version picked" eval '[ "$(revision web-range)" = 1.0.0 ]'
check "rendered objects equal helm template of web 1.0.0" \
  manifests_equal web-range web-range web "$tmp/repo/charts/web-1.0.0.tgz" --set greeting=from-web-range

publish 1.1.0 1.2.0-rc.1 3.0.0
run gs app sync web-range --timeout 60s
check "after 1.1.0 is published, a sync applies it" \
  eval 'rc_is 0 && [ "$(cmdata web-range-web version)" = 1.1.0 ]'
check "status.sync.revision is 1.1.0 (not the prerelease 1.2.0-rc.1, not 3.0.0)" \
  eval '[ "$(revision web-range)" = 1.1.0 ]'
check "rendered objects equal helm template of web 1.1.0" \
  manifests_equal web-range web-range web "$tmp/repo/charts/web-1.1.0.tgz" --set greeting=from-web-range
run gs app history web-range
check "history records 1.0.0 then 1.1.0" eval 'out_has "1\.0\.0" && out_has "1\.1\.0"'
run gs app get web-range
check "app get shows the chart version" out_has "1\.1\.0"

# ">=1.2.0-0 <2" would not: "<2" does not name a prerelease (Helm's rule)
app_yaml web-pre "$REPO" "~1.2.0-0" | k apply -f - >/dev/null
run gs app sync web-pre --timeout 60s
check "a range naming a prerelease takes 1.2.0-rc.1" \
  eval 'rc_is 0 && [ "$(cmdata web-pre-web version)" = 1.2.0-rc.1 ]'
run gs app get web-pre
check "app get shows the whole chart version (a commit id is cut to 7, a version never)" \
  out_has "(1\.2\.0-rc\.1)"
run gs app list -o wide
check "app list shows it whole too" out_has " 1\.2\.0-rc\.1"

app_yaml web-none "$REPO" "~4.0" | k apply -f - >/dev/null
run gs app sync web-none --timeout 30s
check "no version in range: the sync fails naming the range and the versions seen" \
  eval '! rc_is 0 && out_has "no version matches .~4\.0." && out_has "3\.0\.0"'

# ---------------------------------------------------------------- basic auth from a Secret
app_yaml web-private "$REPO/private" "1.1.x" | k apply -f - >/dev/null
run gs app sync web-private --timeout 30s
check "a private repository without credentials: the sync fails with HTTP 401" \
  eval '! rc_is 0 && out_has "401"'
k -n gitsync create secret generic chart-creds --from-literal=username=chartuser \
  --from-literal=password=chart-pw >/dev/null
k -n gitsync patch application web-private --type merge \
  -p '{"spec":{"source":{"secretRef":{"name":"chart-creds"}}}}' >/dev/null
run gs app sync web-private --timeout 60s
check "with secretRef (the Git credentials Secret form) the chart is pulled and applied" \
  eval 'rc_is 0 && [ "$(cmdata web-private-web version)" = 1.1.0 ]'

# ---------------------------------------------------------------- spec.sources with $values
git init -q --bare "$tmp/values.git"
git -C "$tmp/values.git" symbolic-ref HEAD refs/heads/main
git init -q -b main "$tmp/vwork"
mkdir -p "$tmp/vwork/env/prod"
printf 'greeting: from-git\nreplicas: 5\n' >"$tmp/vwork/env/prod/values.yaml"
git -C "$tmp/vwork" add -A && git -C "$tmp/vwork" commit -qm values
git -C "$tmp/vwork" push -q "$tmp/values.git" main
cat <<Y | k apply -f - >/dev/null
apiVersion: gitsync.io/v1alpha1
kind: Application
metadata:
  name: web-multi
  namespace: gitsync
spec:
  destination:
    namespace: web
  sources:
  - repoURL: $REPO
    chart: web
    targetRevision: "~1.1.0"
    helm:
      valueFiles:
      - \$values/env/prod/values.yaml
      parameters:
      - name: replicas
        value: "7"
  - repoURL: file://$tmp/values.git
    targetRevision: main
    ref: values
Y
run gs app sync web-multi --timeout 60s
check "spec.sources: chart + \$values from Git syncs" rc_is 0
check "the value file from the Git source is applied (greeting from Git, replicas by parameter)" \
  eval '[ "$(cmdata web-multi-web greeting)" = from-git ] && [ "$(cmdata web-multi-web replicas)" = 7 ]'
check "rendered objects equal helm template -f the same file --set replicas=7" \
  manifests_equal web-multi web-multi web "$tmp/repo/charts/web-1.1.0.tgz" \
    -f "$tmp/vwork/env/prod/values.yaml" --set replicas=7
k -n gitsync patch application web-multi --type json \
  -p '[{"op":"replace","path":"/spec/sources/0/helm/valueFiles/0","value":"$values/../../../../../../../../../../../../etc/passwd"}]' >/dev/null
run gs app sync web-multi --timeout 30s
check "a \$values path leaving its repository is refused" \
  eval '! rc_is 0 && out_has "outside"'

# ---------------------------------------------------------------- OCI registry
if ! command -v docker-registry >/dev/null; then
  skip "OCI chart from a loopback registry" "docker-registry not installed (scripts/setup-deps.sh)"
else
  regport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  cat >"$tmp/registry.yml" <<Y
version: 0.1
storage:
  filesystem:
    rootdirectory: $tmp/registry
http:
  addr: 127.0.0.1:$regport
log:
  level: error
Y
  docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$regport/v2/" >/dev/null && break; sleep 0.2; done
  ok_push=1
  for v in 1.0.0 1.1.0 2.0.0; do
    helm push "$tmp/repo/charts/web-$v.tgz" "oci://127.0.0.1:$regport/charts" --plain-http \
      >>"$tmp/push.log" 2>&1 || ok_push=0
  done
  check "helm push of three versions to the loopback registry" eval '[ "$ok_push" = 1 ]'
  app_yaml web-oci "oci://127.0.0.1:$regport/charts" "<2.0.0" | k apply -f - >/dev/null
  run gs app sync web-oci --timeout 60s
  check "an oci:// chart pinned by <2.0.0 syncs version 1.1.0" \
    eval 'rc_is 0 && [ "$(cmdata web-oci-web version)" = 1.1.0 ] && [ "$(revision web-oci)" = 1.1.0 ]'
  check "rendered objects equal helm template of the pushed 1.1.0" \
    manifests_equal web-oci web-oci web "$tmp/repo/charts/web-1.1.0.tgz" --set greeting=from-web-oci
fi

check "pulled charts are cached by digest" \
  eval 'ls "$tmp/cache/helm/charts/" | grep -Eq "^[0-9a-f]{64}\.tgz$"'
tap_plan
[ "$failed" -eq 0 ]
