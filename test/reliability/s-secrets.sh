#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Secrets never leave the cluster: an app whose Git holds a Secret (stringData
# and data) is synced, the Secret is changed by hand (drift), and every way
# of looking at it is exercised: agent logs, `app get` (table, -o yaml,
# -o json), `app diff`, `gitsync diff` and `sync --dry-run` of the path,
# the API's app and diff endpoints, events.  All of it lands in the suite's
# output directory, which run-all.sh greps for the values at the very end
# (and this scenario greps its own outputs too).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-secrets-dst
DRIFT="rel-Drifted-V4lue-31e8"
repo_new secrets
wd=$(repo_dir secrets)
cat >"$wd/app/secret.yaml" <<Y
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: $REL_SECRET_VALUE
data:
  token: $REL_SECRET_B64
Y
cm s1 v=0 >"$wd/app/s1.yaml"
rev=$(repo_commit secrets v0)
k create namespace "$DST" >/dev/null 2>&1
# automated without selfHeal: the drift made below stays for the diffs to see
run "$G" app create secrets --repo "$(repo_url secrets)" --path app --dest-namespace "$DST" \
  --app-namespace "$RNS" --sync-policy automated --auto-prune
port=$(free_port)
agent_start xa "$port" --log-level debug
check "app with a Secret synced" wait_for 120 app_at secrets "$rev"
check "the Secret holds the value from Git" \
  eval '[ "$(k get secret db -n "$DST" -o jsonpath="{.data.password}" | base64 -d)" = "$REL_SECRET_VALUE" ]'
# drift by hand: every diff has something to show
k patch secret db -n "$DST" --type merge -p "{\"stringData\":{\"password\":\"$DRIFT\"}}" >/dev/null
run "$G" app get secrets --refresh --app-namespace "$RNS"
run "$G" app get secrets --app-namespace "$RNS" -o yaml
run "$G" app get secrets --app-namespace "$RNS" -o json
run "$G" app diff secrets --app-namespace "$RNS"
check "app diff reports the drifted Secret (exit 1)" eval 'rc_is 1 && out_has "db"'
run "$G" diff "$wd/app" --app secrets --namespace "$DST"
check "diff PATH reports the drifted Secret (exit 1)" eval 'rc_is 1'
run "$G" sync "$wd/app" --app secrets --namespace "$DST" --dry-run
run "$G" app sync secrets --app-namespace "$RNS" --dry-run
api() { last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"; curl -s -o "$last" -w '%{http_code}' -H "Authorization: Bearer $(cat "$REL_ENV/token.read")" "http://127.0.0.1:$port$1"; }
check "API: app read (200)" eval '[ "$(api "/api/v1/applications/secrets?namespace=$RNS")" = 200 ]'
check "API: diff read (200)" eval '[ "$(api "/api/v1/applications/secrets/diff?namespace=$RNS")" = 200 ]'
api "/api/v1/applications?namespace=$RNS" >/dev/null
k get events -A -o yaml >"$REL_OUT/secrets.events.yaml" 2>&1
k get application secrets -n "$RNS" -o yaml >"$REL_OUT/secrets.application.yaml" 2>&1
curl -s "http://127.0.0.1:$port/metrics" >"$REL_OUT/secrets.metrics.txt"
# a sync through the API brings the Git value back
code=$(curl -s -o "$REL_OUT/secrets.apisync.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$REL_ENV/token.sync")" \
  --data '{}' "http://127.0.0.1:$port/api/v1/applications/secrets/sync?namespace=$RNS")
check "API sync accepted ($code)" eval '[ "$code" -ge 200 ] && [ "$code" -lt 300 ]'
check "the Git value is restored" \
  wait_for 60 eval '[ "$(k get secret db -n "$DST" -o jsonpath="{.data.password}" | base64 -d)" = "$REL_SECRET_VALUE" ]'
leaks=$(grep -rlF -e "$REL_SECRET_VALUE" -e "$REL_SECRET_B64" -e "$DRIFT" -e "$(printf '%s' "$DRIFT" | base64 -w0)" \
  --exclude='*.cmd' "$REL_OUT" | grep "/$REL_SCENARIO\.\|/agent-xa\|/secrets\." )
check "no Secret value in any output of this scenario ($(find "$REL_OUT" -name "$REL_SCENARIO.*.out" | wc -l) command outputs, agent log, events, Application)" \
  eval '[ -z "$leaks" ]'
[ -n "$leaks" ] && diag "leaked in: $leaks"
printf '%s\n' "$DRIFT" "$(printf '%s' "$DRIFT" | base64 -w0)" >>"$REL_ENV/secret-values"
