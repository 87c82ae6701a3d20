#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Git credentials go where they are meant to, and are never shown.  An
# agent whose own namespace differs from the Applications' runs with global
# credentials (GITSYNC_GIT_USERNAME/PASSWORD) configured for one host only.
# - secretRef is read from the Application's namespace.
# - A credential template (label gitsync.io/secret-type: repo-creds, in the
#   agent's namespace) serves the repositories under its URL prefix.
# - The global credentials are not sent to another host (a server that
#   answers 401 and records every Authorization header it is offered), and
#   do not replace the password an Application's repoURL gives itself.
# - A password and a token given in repoURLs appear in no output: agent log,
#   `app list/get/history` in every -o, the API, metrics, status.  Both are
#   added to the suite's final grep.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

PASS="rel-GitPassw0rd-cr3ds-5e1f"
TOKEN="glpat-relUrlT0ken-8c2d"
GLOBAL_PASS="rel-GlobalPassw0rd-77aa"
printf '%s\n' "$PASS" "$TOKEN" "$GLOBAL_PASS" >>"$REL_ENV/secret-values"
AGNS=rel-confine-agentns
k create namespace "$AGNS" >/dev/null 2>&1
k -n "$AGNS" create secret generic gitsync-secret --from-file=api.tokens="$REL_ENV/api.tokens" \
  --from-literal=webhook.github.secret="$REL_WEBHOOK_SECRET" >/dev/null 2>&1

# the private server (team-a / $PASS), with repositories at / and /tmpl/
root="$REL_ENV/git-creds"
mkdir -p "$root/tmpl"
"$PY3" "$rel_root/test/integration/git-http-server.py" "$root" "$REL_ENV/gitcreds.port" \
  --user team-a --password "$PASS" >"$REL_OUT/git-creds.log" 2>&1 &
gpid=$!
# the spy: 401 to everything, records the Authorization headers offered
spyport=$(free_port)
"$PY3" - "$spyport" "$REL_ENV/spy.auth" >/dev/null 2>&1 <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        with open(out, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Authorization", "-")))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="spy"')
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
    do_POST = do_GET
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
spypid=$!
printf 'git-creds %s\nspy %s\n' "$gpid" "$spypid" >>"$REL_ENV/pids"
trap 'kill "$gpid" "$spypid" 2>/dev/null; rel_scenario_end' EXIT
wait_for 30 test -s "$REL_ENV/gitcreds.port"
gport=$(cat "$REL_ENV/gitcreds.port")
base="http://127.0.0.1:$gport"
for r in priv tmpl/priv; do
  git init -q --bare -b main "$root/$r.git"
done
pw="$REL_ENV/work/creds"; rm -rf "$pw"; git init -q -b main "$pw"; mkdir -p "$pw/app"
cm creds v=private >"$pw/app/creds.yaml"
git -C "$pw" add -A; git -C "$pw" -c user.name=rel -c user.email=rel@example.com commit -qm creds
for r in priv tmpl/priv; do git -C "$pw" push -q "$root/$r.git" HEAD:main; done
rev=$(git -C "$pw" rev-parse HEAD)

port=$(free_port)
GITSYNC_GIT_USERNAME=team-a GITSYNC_GIT_PASSWORD="$GLOBAL_PASS" GITSYNC_GIT_HOSTS="127.0.0.1:$gport" \
  agent_start cr "$port" --namespace "$AGNS"
check "agent (own namespace $AGNS, apps in $RNS) ready" wait_for 60 agent_ready "$port"
newapp() {  # newapp NAME URL [args]
  local n="$1" u="$2"; shift 2
  k create namespace "rel-cr-$n" >/dev/null 2>&1
  run "$G" app create "$n" --repo "$u" --path app --dest-namespace "rel-cr-$n" \
    --app-namespace "$RNS" --sync-policy automated "$@"
}
synced() { app_at "$1" "$rev" && cm_is "rel-cr-$1" creds v private; }

# ---- secretRef from the Application's namespace
k -n "$RNS" create secret generic cr-own --from-literal=username=team-a --from-literal=password="$PASS" >/dev/null
newapp cr-own "$base/priv.git" --repo-secret cr-own
check "secretRef is read from the Application's namespace (not the agent's)" wait_for 120 synced cr-own
diag "$(app_conditions cr-own)"

# ---- a credential template in the agent's namespace
k -n "$AGNS" create secret generic cr-template --from-literal=url="$base/tmpl" \
  --from-literal=username=team-a --from-literal=password="$PASS" >/dev/null
k -n "$AGNS" label secret cr-template gitsync.io/secret-type=repo-creds >/dev/null
newapp cr-tmpl "$base/tmpl/priv.git"
check "a credential template serves a repository under its URL prefix" wait_for 120 synced cr-tmpl
diag "$(app_conditions cr-tmpl)"

# ---- a password in the URL is not replaced by the global one
newapp cr-url "http://team-a:$PASS@127.0.0.1:$gport/priv.git"
check "the repoURL's own password is used, not the global credentials" wait_for 120 synced cr-url
diag "$(app_conditions cr-url)"

# ---- the global credentials stay with their host
newapp cr-spy "http://127.0.0.1:$spyport/other.git"
newapp cr-tok "http://$TOKEN@127.0.0.1:$spyport/tok.git"
count_input "spy host"
check "an app naming another host gets an authentication condition" \
  wait_for 60 eval 'app_conditions cr-spy | grep -qiE "auth|credential|401"'
sleep 2
gb64=$(printf 'team-a:%s' "$GLOBAL_PASS" | base64 -w0)
check "the global credentials were never offered to another host" \
  eval '! grep -qF "$gb64" "$REL_ENV/spy.auth" 2>/dev/null'
diag "spy saw: $(cut -c1-60 "$REL_ENV/spy.auth" 2>/dev/null | sort | uniq -c | head -5)"
printf '%s\n' "$gb64" "$(printf 'team-a:%s' "$PASS" | base64 -w0)" >>"$REL_ENV/secret-values"

# ---- never shown: every way of looking at the apps
check "the token app has a condition" wait_for 60 eval '[ -n "$(app_conditions cr-tok)" ]'
for a in cr-url cr-tok; do
  for o in "" "-o wide" "-o yaml" "-o json"; do
    # shellcheck disable=SC2086
    run "$G" app get "$a" --app-namespace "$RNS" $o
  done
  run "$G" app history "$a" --app-namespace "$RNS"
  run "$G" app history "$a" --app-namespace "$RNS" -o json
done
for o in "" "-o wide" "-o yaml" "-o json"; do
  # shellcheck disable=SC2086
  run "$G" app list --app-namespace "$RNS" $o
done
tok=$(cat "$REL_ENV/token.read")
for p in "/api/v1/applications?namespace=$RNS" "/api/v1/applications/cr-url?namespace=$RNS" \
         "/api/v1/applications/cr-tok?namespace=$RNS" "/metrics"; do
  last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"
  curl -s -H "Authorization: Bearer $tok" "http://127.0.0.1:$port$p" >"$last"
done
for o in "" "-o wide" "-o json"; do
  # shellcheck disable=SC2086
  GITSYNC_SERVER="http://127.0.0.1:$port" GITSYNC_AUTH_TOKEN="$tok" GITSYNC_PLAINTEXT=true \
    run "$G" app list --app-namespace "$RNS" $o
done
for a in cr-url cr-tok; do
  last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"
  k get application "$a" -n "$RNS" -o jsonpath='{.status}' >"$last" 2>&1
done
leaks=$(grep -rlF -e "$PASS" -e "$TOKEN" -e "$GLOBAL_PASS" --exclude='*.cmd' "$REL_OUT" |
  grep "/$REL_SCENARIO\.\|/agent-cr")
check "no Git password or URL token in any output (agent log, app get/list/history in every -o, API, metrics, status)" \
  eval '[ -z "$leaks" ]'
[ -n "$leaks" ] && diag "leaked in: $leaks"
# the spec holds what the user wrote: remove these apps so the suite's final
# dump of every Application checks status and events only
for a in cr-url cr-tok; do k delete application "$a" -n "$RNS" --wait=false >/dev/null 2>&1; done
