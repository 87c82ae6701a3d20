#!/usr/bin/env bash
# `gitsync health FILE...` without a cluster: built-in rules with the rule
# name, users' Lua checks from --lua-dir (Argo CD's folder layout) and from
# a saved gitsync-health ConfigMap, the output formats, JSON vs YAML
# duplicate keys, errors.  TAP output.
set -u
gitsync="${GITSYNC:?GITSYNC must point at the gitsync binary}"
src="${GS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=test/integration/tap-lib.sh
. "$src/test/integration/tap-lib.sh"

cat >"$tmp/objs.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 2}
spec: {replicas: 2}
status: {observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
apiVersion: v1
kind: List
items:
- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: nightly, namespace: ops}
  status: {lastScheduleTime: '2024-05-01T10:05:00Z', lastSuccessfulTime: '2024-04-30T10:05:31Z'}
- apiVersion: acid.zalan.do/v1
  kind: postgresql
  metadata: {name: acid-minimal-cluster, namespace: default}
  status: {PostgresClusterStatus: Running}
YAML

run "$gitsync" health "$tmp/objs.yaml"
check "table: one row per object (List items included), rule and message" \
  eval 'rc_is 0 && out_has "^GROUP +KIND +NAMESPACE +NAME +HEALTH +RULE +MESSAGE" &&
        out_has "^apps +Deployment +shop +web +Healthy +Deployment" &&
        out_has "^- +ConfigMap +shop +settings +- +none" &&
        out_has "^batch +CronJob +ops +nightly +Degraded +CronJob +.*last run" &&
        out_has "^acid.zalan.do +postgresql +default +acid-minimal-cluster +- +generic" &&
        [ "$(count .)" -eq 5 ]'

run "$gitsync" health -o json --lua-dir "$src/examples/health/resource_customizations" "$tmp/objs.yaml"
check "-o json: a list of {group, version, kind, namespace, name, health, message, rule}; --lua-dir script used" \
  eval 'rc_is 0 && python3 - "$tmp/out" <<PY
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 4, rows
for r in rows:
    assert sorted(r) == sorted(["group", "version", "kind", "namespace", "name", "health", "message", "rule"]), r
pg = rows[3]
assert (pg["group"], pg["version"], pg["kind"], pg["health"]) == ("acid.zalan.do", "v1", "postgresql", "Healthy"), pg
assert pg["rule"].startswith("lua:") and pg["rule"].endswith("acid.zalan.do/postgresql/health.lua"), pg
assert rows[1]["health"] == "" and rows[1]["rule"] == "none", rows[1]
PY'

run "$gitsync" health -o yaml "$tmp/objs.yaml"
check "-o yaml: the same list as YAML" \
  eval 'rc_is 0 && out_has "^- group: apps" && out_has "^  rule: Deployment" && [ "$(count "^- group")" -eq 4 ]'

cat >"$tmp/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: gitsync-health, namespace: gitsync}
data:
  acid.zalan.do_postgresql: |
    return {status = "Suspended", message = "maintenance window"}
  resource.customizations.health.apps_Deployment: |
    local hs = {status = "Healthy"}
    hs.message = obj.spec.template.spec.containers[1].image
    return hs
YAML
run "$gitsync" health --lua-dir "$src/examples/health/resource_customizations" --lua-configmap "$tmp/cm.yaml" "$tmp/objs.yaml"
check "--lua-configmap: wins over --lua-dir; a script error is Unknown with the script's line" \
  eval 'rc_is 0 && out_has "postgresql .* Suspended +lua:ConfigMap gitsync-health key acid.zalan.do_postgresql +maintenance window" &&
        out_has "Deployment .* Unknown +lua:ConfigMap gitsync-health key resource.customizations.health.apps_Deployment .*:2: attempt to index"'

mkdir -p "$tmp/lua/example.com/Thing"
printf 'while true do end\n' >"$tmp/lua/example.com/Thing/health.lua"
printf 'apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\n' >"$tmp/thing.yaml"
run timeout 20 "$gitsync" health --lua-dir "$tmp/lua" "$tmp/thing.yaml"
check "a looping script is stopped by its budget: Unknown" \
  eval 'rc_is 0 && out_has "Thing .* Unknown .*exceeded its (time )?budget"'

printf 'return {status = \n' >"$tmp/lua/example.com/Thing/health.lua"
run "$gitsync" health --lua-dir "$tmp/lua" "$tmp/thing.yaml"
check "a script that does not compile stops the command, named with its line" \
  eval 'rc_is 1 && out_has "example.com/Thing/health.lua:[0-9]+:"'

printf '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"d"},"status":{"phase":"Pending","phase":"Bound"}}\n' >"$tmp/live.json"
run "$gitsync" health "$tmp/live.json"
check "JSON input (the API server's): duplicate keys keep the last" \
  eval 'rc_is 0 && out_has "PersistentVolumeClaim +- +d +Healthy"'
printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d}\nstatus:\n  phase: Pending\n  phase: Bound\n' >"$tmp/dup.yaml"
run "$gitsync" health "$tmp/dup.yaml"
check "YAML input (live objects, fixtures): duplicate keys keep the last too" \
  eval 'rc_is 0 && out_has "PersistentVolumeClaim +- +d +Healthy"'
run "$gitsync" render "$tmp/dup.yaml"
check "... while Git input (render) refuses them with file and line" \
  eval 'rc_is 1 && out_has "dup.yaml:6"'

run sh -c "\"$gitsync\" health -o json - <\"$tmp/live.json\""
check "- reads stdin" eval 'rc_is 0 && out_has "\"health\": \"Healthy\""'

run "$gitsync" health
check "no FILE: usage error (129)" eval 'rc_is 129 && out_has "FILE is required"'
run "$gitsync" health -o wide "$tmp/objs.yaml"
check "unknown -o: usage error (129)" eval 'rc_is 129 && out_has "table, json or yaml"'
run "$gitsync" health "$tmp/nonexistent.yaml"
check "a missing file is an error naming it" eval 'rc_is 1 && out_has "nonexistent.yaml"'
run "$gitsync" health --lua-dir "$tmp/no-such-dir" "$tmp/objs.yaml"
check "a missing --lua-dir is an error naming it" eval 'rc_is 1 && out_has "no-such-dir"'
run "$gitsync" health --help
check "--help documents the options" eval 'rc_is 0 && out_has "--lua-dir DIR" && out_has "--lua-configmap FILE"'

echo "1..$n"
[ "$failed" -eq 0 ]
