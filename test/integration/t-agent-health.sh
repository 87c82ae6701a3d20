#!/usr/bin/env bash
# shellcheck disable=SC2154  # pid_NAME is set by start_agent (lib-agent.sh) through eval
# The agent keeps status.health and status.sync current for every app, not
# only selfHeal ones (issue 9): an automated app without selfHeal whose
# Deployment is still rolling out after the sync becomes Healthy in its
# stored status (`gitsync app wait --health` returns while an agent runs),
# and a kubectl change of its objects shows as OutOfSync from the watch
# (no poll, no drift interval: both are 10 minutes here) and is left alone.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync
mkdir -p "$work/web"
cat >"$work/web/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
YAML
git -C "$work" add web && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm web
git -C "$work" push -q origin main

run "$G" app create web --repo "$repo_url" --path web --dest-namespace demo --sync-policy automated
check "app create web (automated, no selfHeal)" rc_is 0

port=$(free_port)
start_agent h1 "$port" --poll-interval 10m --self-heal-interval 10m --resync-interval 1s
check "agent becomes ready" wait_for 30 ready "$port"
wait_for 30 eval '[ "$(lease_holder)" = h1 ]'
health() { k get application web -n gitsync -o jsonpath='{.status.health.status}'; }
syncst() { k get application web -n gitsync -o jsonpath='{.status.sync.status}'; }
check "the agent syncs the app" wait_for 60 eval 'k get deployment web -n demo >/dev/null 2>&1'
run "$G" app wait web --health --timeout 90s
check "app wait --health returns 0 while the agent runs (health re-assessed after the sync)" rc_is 0
check "status.health.status is Healthy" eval '[ "$(health)" = Healthy ]'

k scale deployment web -n demo --replicas 3 >/dev/null
check "a kubectl change shows as OutOfSync (watch event)" wait_for 30 eval '[ "$(syncst)" = OutOfSync ]'
check "no selfHeal: the change is left alone" \
  eval '[ "$(k get deployment web -n demo -o jsonpath="{.spec.replicas}")" = 3 ]'
check "health follows the rollout back to Healthy" wait_for 60 eval '[ "$(health)" = Healthy ]'

kill -TERM "$pid_h1"; wait "$pid_h1"
finish
