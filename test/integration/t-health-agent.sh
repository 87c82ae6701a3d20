#!/usr/bin/env bash
# shellcheck disable=SC2154  # pid_NAME is set by start_agent through eval
# The agent runs users' Lua health checks (issue 19): scripts from
# --lua-dir (Argo CD's folder layout) and from the ConfigMap gitsync-health
# of its namespace, the ConfigMap winning for the same kind, decide the
# health the agent stores on the app (status.health and the resources that
# are not Healthy).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib-agent.sh"
agent_skip_unless_ready

start_cluster
start_git
install_gitsync

mkdir -p "$tmp/lua/_/ConfigMap"
cat >"$tmp/lua/_/ConfigMap/health.lua" <<'LUA'
return {status = "Progressing", message = "from --lua-dir"}
LUA
cat >"$tmp/health-cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: gitsync-health, namespace: gitsync}
data:
  ConfigMap: |
    local hs = {status = "Healthy", message = ""}
    if obj.data ~= nil and obj.data.color == "blue" then
      hs.status = "Degraded"
      hs.message = "lua: color " .. obj.data.color .. " is not allowed"
    end
    return hs
YAML
k apply -f "$tmp/health-cm.yaml" >/dev/null

run "$G" app create demo --repo "$repo_url" --path app --dest-namespace demo --sync-policy automated
check "app create demo (automated)" rc_is 0

port=$(free_port)
start_agent h1 "$port" --lua-dir "$tmp/lua" --poll-interval 10m --resync-interval 1s
check "agent becomes ready" wait_for 30 ready "$port"
check "the agent says how many Lua health checks it loaded" \
  wait_for 10 grep -q '1 Lua health checks\|2 Lua health checks' "$tmp/h1.log"
health() { k get application demo -n gitsync -o jsonpath='{.status.health.status}'; }
check "the agent syncs the app" wait_for 60 eval 'cm_is blue'
check "the ConfigMap's script (not --lua-dir's, not the built-in rule) decides: Degraded" \
  wait_for 60 eval '[ "$(health)" = Degraded ]'
check "the script's message is in the app's status" \
  eval 'k get application demo -n gitsync -o yaml | grep -q "lua: color blue is not allowed"'
# a comparison from the watch cache (a refresh) keeps it: a cache entry
# holds a health, not its message, so the object is read for it
# (the agent clears the annotation once it compared; an unchanged status
# is not written)
k -n gitsync annotate application demo gitsync.io/refresh=normal --overwrite >/dev/null
refreshed() { [ -z "$(k get application demo -n gitsync -o jsonpath='{.metadata.annotations.gitsync\.io/refresh}')" ]; }
check "a refresh compares the app again" wait_for 30 refreshed
check "... and the script's message is still in its status" \
  eval 'k get application demo -n gitsync -o yaml | grep -q "lua: color blue is not allowed"'

# app of apps: an app whose objects include the Application demo takes its health
mkdir -p "$work/parent"
{
  printf 'apiVersion: gitsync.io/v1alpha1\nkind: Application\nmetadata:\n  name: demo\n  namespace: gitsync\nspec: '
  k get application demo -n gitsync -o jsonpath='{.spec}'
  echo
} >"$work/parent/demo-app.yaml"
git -C "$work" add parent && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm parent
git -C "$work" push -q origin main
run "$G" app create parent --repo "$repo_url" --path parent --dest-namespace gitsync --sync-policy automated
check "app create parent (its source holds the Application demo)" rc_is 0
phealth() { k get application parent -n gitsync -o jsonpath='{.status.health.status}'; }
check "app of apps: the child Degraded makes the parent Degraded" \
  wait_for 90 eval '[ "$(phealth)" = Degraded ] && k get application parent -n gitsync -o yaml | grep -q "kind: Application"'

commit green >/dev/null
run "$G" app sync demo
check "after a change the script says Healthy, and so does the app" \
  wait_for 60 eval '[ "$(health)" = Healthy ] && cm_is green'
check "app of apps: the child Healthy again, the parent follows" \
  wait_for 90 eval '[ "$(phealth)" = Healthy ]'

kill -TERM "$pid_h1"; wait "$pid_h1"

# a broken ConfigMap script: the agent starts, says why, and uses none of it
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gitsync-health, namespace: gitsync}\ndata:\n  ConfigMap: "return {status = "\n' \
  | k apply -f - >/dev/null
port=$(free_port)
start_agent h2 "$port" --lua-dir "$tmp/lua" --poll-interval 10m --resync-interval 1s
check "a ConfigMap script that does not compile: the agent still starts" wait_for 30 ready "$port"
check "... and logs the key and Lua's message" \
  eval 'grep -q "gitsync-health.*key ConfigMap.*unexpected symbol\|gitsync-health.*ConfigMap:1:" "$tmp/h2.log"'
run "$G" app sync demo
check "... and --lua-dir's script applies alone: Progressing" \
  wait_for 60 eval '[ "$(health)" = Progressing ]'
kill -TERM "$pid_h2"; wait "$pid_h2"

run "$G" agent --lua-dir "$tmp/no-such-dir" --listen 127.0.0.1:0
check "a missing --lua-dir stops the agent at startup, naming it" eval '! rc_is 0 && out_has "no-such-dir"'
finish
