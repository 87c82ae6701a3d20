#!/usr/bin/env bash
# Retries through the fault proxy: 429 with Retry-After, 500/503, dropped
# connections before and after the write; the sync still converges, and the
# proxy's counters show the retries.
. "$(dirname "${BASH_SOURCE[0]}")/sync-lib.sh"
start_cluster 0.5
PG="$root/test/data/sync/postgres-operator.yaml"

pc_reset
rule '{"verb":"patch","resource":"deployments.apps","status":500,"count":2}'
rule '{"verb":"patch","resource":"configmaps","status":429,"retry_after":1,"count":1}'
rule '{"verb":"list","resource":"services","status":503,"count":1}'
run gsp sync "$PG" --app pg
check "sync converges through 500, 429 and 503 (exit 0)" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
# dry-run + apply of the Deployment = 2 PATCHes, plus 2 retried 500s
check "Deployment PATCH retried twice after 500 ($(pc 'patch deployments.apps') requests)" eval '[ "$(pc "patch deployments.apps")" -eq 4 ]'
check "ConfigMap PATCH retried after 429 ($(pc 'patch configmaps'))" eval '[ "$(pc "patch configmaps")" -eq 3 ]'
check "LIST retried after 503 ($(pc 'list services'))" eval '[ "$(pc "list services")" -ge 2 ]'
check "objects are there" eval 'jp deploy postgres-operator -o name | grep -q postgres-operator'

# dropped connections: before forwarding (nothing written) and after the
# write (the server applied it but the client never heard): SSA is
# idempotent, so retrying is safe either way
k delete -f "$PG" --wait=true >/dev/null 2>&1
pc_reset
rule '{"verb":"patch","resource":"services","action":"drop","drop":"before","count":1}'
rule '{"verb":"patch","resource":"serviceaccounts","action":"drop","drop":"after","count":2}'
run gsp sync "$PG" --app pg
check "sync converges through dropped connections (exit 0)" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
check "dropped PATCHes were retried ($(pc 'patch services') services, $(pc 'patch serviceaccounts') serviceaccounts)" \
  eval '[ "$(pc "patch services")" -ge 3 ] && [ "$(pc "patch serviceaccounts")" -ge 4 ]'
run gs diff "$PG" --app pg
check "and the result is exactly in sync" eval 'rc_is 0'

# a server that keeps failing: a clear error, bounded time
pc_reset
rule '{"verb":"list","status":500}'
run gsp diff "$PG" --app pg
check "a server failing every time: diff exit 2 with the server's message" eval 'rc_is 2 && out_has "error"'
check "retries are bounded ($(pc total) requests)" eval '[ "$(pc total)" -le 12 ]'
pc_reset

finish
