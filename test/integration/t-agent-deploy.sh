#!/usr/bin/env bash
# shellcheck disable=SC2154  # pid_NAME is set by start_agent (lib-agent.sh) through eval
# examples/deploy (issue 9): the kustomization renders with gitsync's own
# renderer, the API server accepts every object (server dry-run), the
# Deployment has the promised shape, and an agent running with exactly the
# ServiceAccount's token (the RBAC of rbac.yaml) reconciles an app, takes
# the Lease and reads its Secret.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

run "$G" render "$root/examples/deploy"
check "gitsync render examples/deploy" rc_is 0
cp "$tmp/out" "$tmp/deploy.yaml"
for kind in Namespace CustomResourceDefinition ServiceAccount ClusterRole Role RoleBinding \
  ClusterRoleBinding Deployment Service; do
  check "rendered: $kind" grep -q "^kind: $kind\$" "$tmp/deploy.yaml"
done

start_cluster
run k apply --server-side --dry-run=server -f "$tmp/deploy.yaml"
# A dry-run cannot create the Namespace first: allow only that complaint.
if [ "$rc" -ne 0 ] && grep -q 'namespaces "gitsync" not found' "$tmp/out"; then
  k create namespace gitsync >/dev/null
  run k apply --server-side --dry-run=server -f "$tmp/deploy.yaml"
fi
check "the API server accepts every object (server-side dry-run)" rc_is 0
run k apply --server-side -f "$tmp/deploy.yaml"
check "apply examples/deploy" rc_is 0

run k get deployment gitsync-agent -n gitsync -o jsonpath='{.spec.replicas} {.spec.template.spec.securityContext.runAsNonRoot} {.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem} {.spec.template.spec.containers[0].readinessProbe.httpGet.path} {.spec.template.spec.containers[0].livenessProbe.httpGet.path}'
check "Deployment: 2 replicas, non-root, read-only root, /readyz and /healthz probes" \
  eval '[ "$(cat "$tmp/out")" = "2 true true /readyz /healthz" ]'
run k get deployment gitsync-agent -n gitsync -o jsonpath='{.spec.template.spec.containers[0].readinessProbe.httpGet.port} {.spec.template.spec.containers[0].livenessProbe.httpGet.port} {.spec.template.spec.containers[0].ports[?(@.name=="probes")].containerPort} {.spec.template.spec.containers[0].args}'
check "Deployment: probes on the --health-listen port (8081), not the API port" \
  eval '[ "$(awk "{print \$1, \$2, \$3}" "$tmp/out")" = "probes probes 8081" ] && grep -q -- "--health-listen=:8081" "$tmp/out"'
run k get deployment gitsync-agent -n gitsync -o jsonpath='{.spec.template.spec.containers[0].resources.requests.memory}'
check "Deployment: memory request set" eval '[ -n "$(cat "$tmp/out")" ]'

# Run an agent locally with the ServiceAccount's own token: proves the RBAC.
check "the ServiceAccount gets a token" wait_for 30 eval \
  '[ -n "$(k -n gitsync get sa gitsync-agent -o jsonpath="{.secrets[0].name}")" ]'
sec=$(k -n gitsync get sa gitsync-agent -o jsonpath='{.secrets[0].name}')
k -n gitsync get secret "$sec" -o jsonpath='{.data.token}' | base64 -d >"$tmp/sa.token"
cat >"$tmp/sa.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$GS_APISERVER", certificate-authority: "$GS_CA"}
users:
- name: gitsync-agent
  user: {tokenFile: "$tmp/sa.token"}
contexts:
- name: sa
  context: {cluster: test, user: gitsync-agent}
current-context: sa
EOF
# Scale the in-cluster Deployment to 0: no kubelet runs its image here, and
# its pods must not look like a Lease holder.
k -n gitsync scale deployment gitsync-agent --replicas=0 >/dev/null
start_git
k create namespace demo >/dev/null
"$G" token create ci --scope sync -o line 2>"$tmp/token.sync" >"$tmp/api.tokens"
k -n gitsync create secret generic gitsync-secret --from-file=api.tokens="$tmp/api.tokens" \
  --from-literal=webhook.github.secret=gh-test-secret >/dev/null
run "$G" app create demo --repo "$repo_url" --path app --dest-namespace demo --sync-policy automated
check "app create demo" rc_is 0
port=$(free_port)
hport=$(free_port)
KUBECONFIG="$tmp/sa.kubeconfig" start_agent sa "$port" --kubeconfig "$tmp/sa.kubeconfig" \
  --poll-interval 2s --resync-interval 1s --health-listen "127.0.0.1:$hport"
check "agent with the ServiceAccount's rights becomes ready" wait_for 30 ready "$port"
check "the probes listener answers /healthz and /readyz (as the Deployment's probes ask)" eval \
  'curl -sf "http://127.0.0.1:$hport/healthz" >/dev/null && curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null'
run curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$hport/api/v1/applications"
check "the probes listener serves no API (404)" eval '[ "$(cat "$tmp/out")" = 404 ]'
check "it takes the Lease (leases: get/create/update)" wait_for 30 eval '[ "$(lease_holder)" = sa ]'
check "it syncs the app (applications, status, managed objects)" wait_for 60 cm_is blue
check "it read gitsync-secret (secrets/gitsync-secret: get)" wait_for 30 \
  grep -q 'loaded Secret gitsync-secret' "$tmp/sa.log"
run grep -E '"level":"(error|warn)"' "$tmp/sa.log"
check "no permission errors in its log" rc_is 1
kill -TERM "$pid_sa"; wait "$pid_sa"
finish
