#!/usr/bin/env bash
# shellcheck disable=SC2034  # variables read inside check's eval strings
# The seed's story end to end with `gitsync app`: Applications from a local
# Git server (bare repositories over file://, and smart HTTP through
# `git http-backend` behind test/integration/git-http-server.py with basic
# auth) synced to the test cluster.  TAP; skips (1..0) without the cluster.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cl="$root/test/cluster"
G="${GITSYNC:-$root/build/agent/gitsync}"

if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$cl" >/dev/null 2>&1; then
  echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
  exit 0
fi
if ! KUBECTL="$("$root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
  KUBECTL="$(command -v kubectl || true)"
fi
if [ -z "$KUBECTL" ]; then
  echo "1..0 # SKIP kubectl not available"
  exit 0
fi
command -v git >/dev/null || { echo "1..0 # SKIP git not installed"; exit 0; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-t-app.XXXXXX")"
D="$tmp/cluster"
httppid=
cleanup() {
  [ -n "$httppid" ] && kill "$httppid" 2>/dev/null
  "$cl/stop" "$D" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
k() { "$KUBECTL" --kubeconfig "$D/kubeconfig" "$@"; }
gs() { "$G" "$@"; }

run "$cl/start.py" "$D" --no-proxy
if [ "$rc" -ne 0 ]; then
  echo "1..0 # SKIP the test cluster did not start: $(tail -n 1 "$tmp/out")"
  exit 0
fi
export KUBECONFIG="$D/kubeconfig" GITSYNC_CACHE_DIR="$tmp/cache"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com

# ---------------------------------------------------------------- Git server
mkdir -p "$tmp/git"
git init -q --bare "$tmp/git/examples.git"
git -C "$tmp/git/examples.git" symbolic-ref HEAD refs/heads/main
git init -q -b main "$tmp/work"
cp -r "$root/examples/postgres-operator" "$root/examples/monsterstack" "$tmp/work/"
git -C "$tmp/work" add -A && git -C "$tmp/work" commit -qm "examples"
git -C "$tmp/work" remote add origin "$tmp/git/examples.git"
push() { git -C "$tmp/work" commit -qam "$1" && git -C "$tmp/work" push -q origin main; }
git -C "$tmp/work" push -q origin main
sha() { git -C "$tmp/work" rev-parse HEAD | cut -c1-7; }
REPO="file://$tmp/git/examples.git"

python3 "$root/test/integration/git-http-server.py" "$tmp/git" "$tmp/port" \
  --user alice --password 's3cret-pw' >/dev/null 2>&1 &
httppid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
HTTP="http://127.0.0.1:$(cat "$tmp/port")/examples.git"
http_host="127.0.0.1:$(cat "$tmp/port")" # GITSYNC_GIT_USERNAME/PASSWORD go only to GITSYNC_GIT_HOSTS

# ---------------------------------------------------------------- install
run gs install --dry-run
check "install --dry-run prints the CRD and the agent's objects" \
  eval 'rc_is 0 && out_has "name: applications.gitsync.io" && out_has "kind: Deployment" && out_has "kind: ClusterRoleBinding"'
run gs install --crd-only
check "install --crd-only applies the CRD" eval 'rc_is 0 && k get crd applications.gitsync.io >/dev/null'

# ---------------------------------------------------------------- postgres-operator
first=$(sha)
run gs app create postgres-operator --repo "$REPO" --path postgres-operator/manifests \
  --revision main --dest-namespace default
check "app create postgres-operator" rc_is 0
run gs app create postgres-operator --repo "$REPO" --path other --dest-namespace default
check "app create of an existing app with another spec needs --upsert" \
  eval 'rc_is 1 && out_has "already exists with a different spec"'
run gs app list
check "app list shows the app" eval 'rc_is 0 && out_has "gitsync/postgres-operator +default .*postgres-operator/manifests +main"'
run gs app get postgres-operator
check "app get: OutOfSync from main (first commit), every object Missing" \
  eval 'rc_is 0 && out_has "Sync Status: +OutOfSync from main \($first\)" && [ $(count " Missing ") -eq 9 ]'
run gs app sync postgres-operator
check "app sync creates every object (Phase: Succeeded)" \
  eval 'rc_is 0 && out_has "Phase: +Succeeded" && [ $(count "created") -ge 7 ] && k get deploy postgres-operator >/dev/null'
run gs app wait postgres-operator --health --sync --timeout 120
check "app wait --health --sync returns 0" eval 'rc_is 0 && out_has "sync Synced, health Healthy"'
check "the postgresql CRD shipped in Git is Established, then acid-test-cluster created in the same sync" \
  eval 'k get crd postgresqls.acid.zalan.do -o jsonpath="{.status.conditions[?(@.type==\"Established\")].status}" | grep -qx True && k get postgresql acid-test-cluster -n default >/dev/null'

# --hard-refresh bypasses the caches: alter the cached export of the commit
# (read-only files, not immutable ones); `app get` and `--refresh` reuse it,
# `--hard-refresh` fetches, exports and renders again.
cached=$(ls -d "$GITSYNC_CACHE_DIR"/trees/*/"$(git -C "$tmp/work" rev-parse HEAD)")/postgres-operator/manifests/configmap.yaml
chmod u+w "$cached" && sed -i 's|^  docker_image: .*|  docker_image: example.invalid/tampered:1|' "$cached"
run gs app get postgres-operator --refresh
check "app get --refresh renders the cached export (altered here: ConfigMap OutOfSync)" \
  eval 'rc_is 0 && out_has "ConfigMap +default +postgres-operator +OutOfSync"'
run gs app get postgres-operator --hard-refresh
check "app get --hard-refresh exports and renders again: Synced" \
  eval 'rc_is 0 && out_has "Sync Status: +Synced to main \($first\)" && out_lacks " OutOfSync " && ! grep -q tampered "$cached"'

sed -i 's|^  docker_image: .*|  docker_image: ghcr.io/zalando/spilo-15:3.0-p1|' "$tmp/work/postgres-operator/manifests/configmap.yaml"
push "Mise à jour de l'image"
second=$(sha)
run gs app get postgres-operator --refresh
check "app get --refresh: only the ConfigMap OutOfSync, at the new commit" \
  eval 'rc_is 0 && out_has "OutOfSync from main \($second\)" && [ $(count "[[:alnum:]-] +OutOfSync ") -eq 1 ] && out_has "ConfigMap +default +postgres-operator +OutOfSync"'
run gs app diff postgres-operator
check "app diff shows exactly the docker_image line (exit 1)" \
  eval 'rc_is 1 && [ $(grep -cE "^[-+] " "$tmp/out") -eq 2 ] && out_has "^-  docker_image: ghcr.io/zalando/spilo-15:2.1-p9" && out_has "^\+  docker_image: ghcr.io/zalando/spilo-15:3.0-p1"'
run gs app sync postgres-operator
check "app sync applies the new commit" \
  eval 'rc_is 0 && [ "$(k get cm postgres-operator -o jsonpath={.data.docker_image})" = ghcr.io/zalando/spilo-15:3.0-p1 ]'
run gs app diff postgres-operator
check "app diff is empty after the sync (exit 0)" rc_is 0
run gs app history postgres-operator
check "app history lists both syncs" eval 'rc_is 0 && out_has "^1 .*$first" && out_has "^2 .*$second"'
run gs app rollback postgres-operator 1
check "app rollback 1 restores the first commit" \
  eval 'rc_is 0 && [ "$(k get cm postgres-operator -o jsonpath={.data.docker_image})" = ghcr.io/zalando/spilo-15:2.1-p9 ]'
run gs app get postgres-operator
check "app get after rollback: Synced to the first commit" eval 'out_has "Synced to main \($first\)"'

# ---------------------------------------------------------------- bad inputs
run gs app get no-such-app
check "unknown app: clear error" eval 'rc_is 1 && out_has "application .no-such-app. not found in namespace .gitsync."'
run gs app sync no-such-app
check "unknown app: sync fails too" eval 'rc_is 1 && out_has "not found"'
run gs app create gone --repo "file://$tmp/git/missing.git" --path x --dest-namespace default
run gs app sync gone
check "unreachable repo: clear error" eval 'rc_is 1 && out_has "cannot reach repository"'
run gs app create badpath --repo "$REPO" --path no/such/dir --dest-namespace default
run gs app sync badpath
check "missing path: clear error" eval 'rc_is 1 && out_has "path .no/such/dir. does not exist"'
run gs app create badrev --repo "$REPO" --path postgres-operator/manifests --revision no-such-branch --dest-namespace default
run gs app sync badrev
check "missing revision: clear error" eval 'rc_is 1 && out_has "revision .no-such-branch. not found"'

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: postgres-operator\ndata:\n  a: [1, 2\n' \
  >"$tmp/work/postgres-operator/manifests/configmap.yaml"
push "broken yaml"
run gs app get postgres-operator --refresh
check "invalid YAML: the error names the file (repository path) and line" \
  eval 'rc_is 1 && out_has "error: postgres-operator/manifests/configmap.yaml:[0-9]+"'
check "invalid YAML: recorded as a ComparisonError condition" \
  eval 'k get applications.gitsync.io -n gitsync postgres-operator -o jsonpath="{.status.conditions[*].type}" | grep -q ComparisonError'
run gs app sync postgres-operator
check "invalid YAML: sync fails, the cluster keeps the last good state" \
  eval 'rc_is 1 && [ "$(k get cm postgres-operator -o jsonpath={.data.docker_image})" = ghcr.io/zalando/spilo-15:2.1-p9 ]'
git -C "$tmp/work" revert --no-edit HEAD >/dev/null && git -C "$tmp/work" push -q origin main

# ---------------------------------------------------------------- smart HTTP with auth
run gs app create pg-http --repo "$HTTP" --path postgres-operator/manifests --dest-namespace http-ns
run env GITSYNC_GIT_HOSTS="$http_host" GITSYNC_GIT_USERNAME=alice GITSYNC_GIT_PASSWORD=s3cret-pw "$G" app get pg-http
check "smart HTTP with basic auth: app get resolves the commit" eval 'rc_is 0 && out_has "OutOfSync from HEAD \($(sha)\)"'
run env GITSYNC_GIT_HOSTS="$http_host" GITSYNC_GIT_USERNAME=alice GITSYNC_GIT_PASSWORD=wrong-pw "$G" app get pg-http --refresh
check "smart HTTP, bad credentials: clear error, no secret printed" \
  eval 'rc_is 1 && out_has "authentication failed" && out_lacks "wrong-pw"'
run gs app get pg-http --hard-refresh
check "smart HTTP, no credentials: says so" eval 'rc_is 1 && out_has "requires authentication"'
run gs app create pg-http2 --repo "http://alice:s3cret-pw@${HTTP#http://}" --path postgres-operator/manifests --dest-namespace http-ns
run gs app get pg-http2
check "credentials in the repoURL work and are never printed" \
  eval 'rc_is 0 && out_has "Repo: +http://alice:\*\*\*@" && out_lacks "s3cret-pw"'
run gs app list -o yaml
check "app list -o yaml redacts the password too" eval 'rc_is 0 && out_lacks "s3cret-pw"'

# ---------------------------------------------------------------- monsterstack dev: generated ConfigMap rolls
k create namespace dev >/dev/null 2>&1
run gs app create monsterstack-dev --repo "$REPO" --path monsterstack/k8s/dev --dest-namespace dev
run gs app sync monsterstack-dev
check "monsterstack dev: first sync" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
old_cm=$(k get cm -n dev -o name | grep frontend-config | head -1)
sed -i 's/CONTEXT=DEV/CONTEXT=STAGING/' "$tmp/work/monsterstack/k8s/dev/kustomization.yaml"
push "CONTEXT=STAGING"
run gs app diff monsterstack-dev
check "monsterstack dev: the new hashed ConfigMap is Missing and the old one needs pruning" \
  eval 'rc_is 1 && out_has "frontend-config"'
run gs app sync monsterstack-dev --prune
new_cm=$(k get cm -n dev -o name | grep frontend-config | head -1)
check "monsterstack dev: sync --prune creates the new ConfigMap and prunes the old" \
  eval 'rc_is 0 && [ -n "$old_cm" ] && [ -n "$new_cm" ] && [ "$old_cm" != "$new_cm" ] && [ $(k get cm -n dev -o name | grep -c frontend-config) -eq 1 ]'
check "monsterstack dev: the Deployment now references the new ConfigMap" \
  eval 'k get deploy -n dev -o yaml | grep -q "${new_cm#configmap/}"'
run gs app wait monsterstack-dev --health --timeout 120
check "monsterstack dev: Healthy, the Ingress included (the node simulator gives it an address)" \
  eval 'rc_is 0 && [ -n "$(k get ingress -n dev -o jsonpath="{.items[*].status.loadBalancer.ingress[*].ip}")" ]'
ingress() { # NAME [ANNOTATIONS]
  printf 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s, namespace: dev, annotations: {%s}}\nspec: {defaultBackend: {service: {name: frontend, port: {number: 80}}}}\n' "$1" "${2:-}" | k apply -f - >/dev/null
}
ing_ip() { k get ingress -n dev "$1" -o jsonpath='{.status.loadBalancer.ingress[*].ip}' 2>/dev/null; }
ingress lb-pending 'gitsync.io/test-lb: pending'
ingress lb-after
for _ in $(seq 100); do [ -n "$(ing_ip lb-after)" ] && break; sleep 0.2; done
check "an Ingress annotated gitsync.io/test-lb: pending gets no address (one created after it does)" \
  eval '[ -n "$(ing_ip lb-after)" ] && [ -z "$(ing_ip lb-pending)" ]'
k delete ingress -n dev lb-pending lb-after >/dev/null 2>&1

run gs app delete monsterstack-dev
check "app delete cascades to the app's objects" \
  eval 'rc_is 0 && [ $(k get cm -n dev -o name | grep -c frontend-config) -eq 0 ] && ! k get applications.gitsync.io -n gitsync monsterstack-dev >/dev/null 2>&1'

echo "1..$n"
[ "$failed" -eq 0 ]
