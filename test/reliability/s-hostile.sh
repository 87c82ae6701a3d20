#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Hostile input.  Webhooks: missing, wrong and mismatched signatures,
# replayed deliveries, oversized and malformed bodies.  The API: no token,
# wrong tokens, a read-only token asking to sync, odd paths.  Kustomizations
# reading outside the repository (../, absolute paths, symlinks out of the
# checkout); YAML alias bombs, deep nesting, huge scalars; application paths
# with `..`.  Each is refused with a clear error, changes nothing, and the
# agent keeps serving.  The file outside the repository holds the test
# Secret's value, so an error that echoed its content is caught by the
# suite's final grep.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-hostile-dst
repo_new hostile
wd=$(repo_dir hostile)
cm h1 v=0 >"$wd/app/h1.yaml"
rev=$(repo_commit hostile v0)
app_new hostile "$DST"
port=$(free_port)
agent_start ha "$port" --webhook-max-bytes 1048576
check "agent ready, app synced" wait_for 120 eval 'agent_ready "$port" && app_at hostile "$rev"'
base="http://127.0.0.1:$port"
tok_sync=$(cat "$REL_ENV/token.sync"); tok_read=$(cat "$REL_ENV/token.read")

# ---- webhooks
sig() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$2" | awk '{print $NF}'; }
# wh BODY [curl args]: POST a GitHub push; $code is the status
wh() {
  local body="$1"; shift
  last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"
  code=$(printf '%s' "$body" | curl -s -o "$last" -w '%{http_code}' -H "X-GitHub-Event: push" \
    -H "Content-Type: application/json" "$@" --data-binary @- "$base/api/webhook")
  count_input webhook
}
body=$(printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"%s","default_branch":"main"}}' "$rev" "$(repo_url hostile)")
good=$(sig "$body" "$REL_WEBHOOK_SECRET")
wh "$body"
check "webhook without a signature: 401" eval '[ "$code" = 401 ]'
wh "$body" -H "X-Hub-Signature-256: sha256=$(sig "$body" wrong-secret)"
check "webhook signed with the wrong secret: 401" eval '[ "$code" = 401 ]'
wh "${body% }x" -H "X-Hub-Signature-256: sha256=$good"
check "webhook whose body does not match its signature: 401" eval '[ "$code" = 401 ]'
wh "$body" -H "X-Hub-Signature-256: sha256=${good:0:63}"
check "webhook with a truncated signature: 401" eval '[ "$code" = 401 ]'
wh "$body" -H "X-Hub-Signature-256: ${good}"
check "webhook signature without its sha256= prefix: 401" eval '[ "$code" = 401 ]'
wh "$body" -H "X-Hub-Signature: sha1=$(printf '%s' "$body" | openssl dgst -sha1 -hmac "$REL_WEBHOOK_SECRET" | awk '{print $NF}')"
check "webhook with only a SHA-1 signature (downgrade): 401" eval '[ "$code" = 401 ]'
wh "$body" -H "X-Hub-Signature-256: sha256=$good" -H "X-GitHub-Delivery: rel-delivery-1"
check "correctly signed webhook: 200 and the app matched" eval '[ "$code" = 200 ] && out_has "\"matched\":1"'
wh "$body" -H "X-Hub-Signature-256: sha256=$good" -H "X-GitHub-Delivery: rel-delivery-1"
check "replayed delivery (same id): acknowledged, ignored as duplicate" eval '[ "$code" = 200 ] && out_has duplicate'
code=$(head -c 3000000 /dev/zero | tr '\0' 'x' | curl -s -o /dev/null -w '%{http_code}' -H "X-GitHub-Event: push" \
  -H "X-Hub-Signature-256: sha256=00" --data-binary @- "$base/api/webhook"); count_input webhook
check "oversized webhook body (3 MB, limit 1 MiB): 413" eval '[ "$code" = 413 ]'
code=$(head -c 3000000 /dev/zero | tr '\0' 'x' | curl -s -o /dev/null -w '%{http_code}' -H "X-GitHub-Event: push" \
  -H "Transfer-Encoding: chunked" -H "X-Hub-Signature-256: sha256=00" --data-binary @- "$base/api/webhook"); count_input webhook
check "oversized chunked webhook body (no Content-Length): 413" eval '[ "$code" = 413 ]'
for bad in '{"ref":' 'not json at all' '[1,2,3]' '{"ref":"refs/heads/main","repository":"x"}' \
           "$(printf '%*s' 20000 '' | tr ' ' '[')" '{"ref":"\ud800","repository":{"clone_url":1}}'; do
  wh "$bad" -H "X-Hub-Signature-256: sha256=$(sig "$bad" "$REL_WEBHOOK_SECRET")"
  [[ "$code" =~ ^(400|200)$ ]] || { not_ok "signed malformed webhook body answered $code"; continue; }
done
check "signed malformed/deeply nested JSON bodies: 400 (or 200 ignored), no crash" agent_ready "$port"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Gitlab-Event: Push Hook" -H "X-Gitlab-Token: guess" \
  --data "$body" "$base/api/webhook"); count_input webhook
check "GitLab webhook with a token when none is configured: 401" eval '[ "$code" = 401 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' --data "$body" "$base/api/webhook"); count_input webhook
check "webhook from no known forge: 400" eval '[ "$code" = 400 ]'

# ---- API tokens
api() {  # api METHOD PATH [curl args]: $code
  local m="$1" p="$2"; shift 2
  last="$REL_OUT/$REL_SCENARIO.$(_rel_seq).out"
  code=$(curl -s -o "$last" -w '%{http_code}' -X "$m" "$@" "$base$p"); count_input api
}
api GET "/api/v1/applications?namespace=$RNS"
check "API without a token: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications?namespace=$RNS" -H "Authorization: Bearer gst_wrong"
check "API with a wrong token: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications?namespace=$RNS" -H "Authorization: Bearer ${tok_sync}x"
check "API with a token one character longer: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications?namespace=$RNS" -H "Authorization: Bearer ${tok_sync:0:${#tok_sync}-1}"
check "API with a token one character short: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications?namespace=$RNS" -H "Authorization: Basic $(printf 'x:%s' "$tok_sync" | base64 -w0)"
check "API with the token in Basic auth instead of Bearer: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications?namespace=$RNS" -H "Authorization: Bearer "
check "API with an empty Bearer token: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications?namespace=$RNS" -H "Authorization: Bearer $(head -c 60000 /dev/zero | tr '\0' a)"
check "API with a 60 kB token: refused (4xx), agent alive" eval '[ "$code" -ge 400 ] && [ "$code" -lt 500 ] && agent_ready "$port"'
api POST "/api/v1/applications/hostile/sync?namespace=$RNS" -H "Authorization: Bearer $tok_read" --data '{}'
check "API: read-only token asking to sync: 403" eval '[ "$code" = 403 ]'
api POST "/api/v1/applications/hostile/sync?namespace=$RNS" --data '{}'
check "API: sync without a token: 401" eval '[ "$code" = 401 ]'
api GET "/api/v1/applications/hostile?namespace=$RNS" -H "Authorization: Bearer $tok_read"
check "API: read-only token may read the app (200)" eval '[ "$code" = 200 ]'
api GET "/api/v1/applications/..%2f..%2fsecrets?namespace=$RNS" -H "Authorization: Bearer $tok_read"
check "API: encoded ../ in the app name: 400/404" eval '[ "$code" = 400 ] || [ "$code" = 404 ]'
api GET "/api/v1/applications/hostile?namespace=..%2fkube-system" -H "Authorization: Bearer $tok_read"
check "API: invalid namespace parameter: 400" eval '[ "$code" = 400 ]'
api GET "/api/v1/applications/hostile/diff/../../x?namespace=$RNS" -H "Authorization: Bearer $tok_read" --path-as-is
check "API: path traversal in the action: 4xx" eval '[ "$code" -ge 400 ] && [ "$code" -lt 500 ]'
run grep -c 'CRYPTO_memcmp' "$rel_root/agent/httpd/apitoken.c" "$rel_root/agent/httpd/webhook.c"
check "tokens and signatures compared in constant time (CRYPTO_memcmp over SHA-256, every entry visited)" \
  eval '[ "$(grep -c CRYPTO_memcmp "$rel_root/agent/httpd/apitoken.c")" -ge 1 ] && [ "$(grep -c CRYPTO_memcmp "$rel_root/agent/httpd/webhook.c")" -ge 1 ]'

# ---- kustomizations reading outside the repository (render, and through the app)
out="$REL_ENV/outside"
mkdir -p "$out"
printf 'token: %s\n' "$REL_SECRET_VALUE" >"$out/secret.txt"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\nstringData:\n  token: %s\n' "$REL_SECRET_VALUE" >"$out/stolen.yaml"
printf 'resources:\n- stolen.yaml\n' >"$out/kustomization.yaml"
ln -s "$out" "$REL_ENV/outside-link"
# esc NAME KUSTOMIZATION [setup]: render must fail, the app must refuse it
esc() {
  local what="$1" kz="$2"
  rm -rf "$wd/app/kz" && mkdir -p "$wd/app/kz"
  cm h1 v=0 >"$wd/app/kz/h1.yaml"
  printf '%s\n' "$kz" >"$wd/app/kz/kustomization.yaml"
  [ -n "${3:-}" ] && eval "$3"
  count_input "kustomization: $what"
  run "$G" render "$wd/app/kz"
  check "render refuses $what (exit $rc)" eval '[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && ! out_has "$REL_SECRET_VALUE|$REL_SECRET_B64"'
  diag "$(head -c 300 "$last")"
}
esc "resources: ../ out of the repo" "$(printf 'resources:\n- h1.yaml\n- ../../../../outside')"
esc "resources: absolute path" "$(printf 'resources:\n- h1.yaml\n- %s' "$out")"
esc "resources: absolute file" "$(printf 'resources:\n- h1.yaml\n- %s/stolen.yaml' "$out")"
esc "configMapGenerator files: absolute path" "$(printf 'resources:\n- h1.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - %s/secret.txt' "$out")"
esc "secretGenerator files: ../ path" "$(printf 'resources:\n- h1.yaml\nsecretGenerator:\n- name: g\n  files:\n  - ../../../../outside/secret.txt')"
esc "configMapGenerator env file: /etc/passwd" "$(printf 'resources:\n- h1.yaml\nconfigMapGenerator:\n- name: g\n  envs:\n  - /etc/passwd')"
esc "patch file out of the repo" "$(printf 'resources:\n- h1.yaml\npatches:\n- path: ../../../../outside/stolen.yaml')"
esc "symlinked file out of the checkout" "$(printf 'resources:\n- h1.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - s.txt')" 'ln -s "$out/secret.txt" "$wd/app/kz/s.txt"'
esc "symlinked directory out of the checkout" "$(printf 'resources:\n- h1.yaml\n- dir')" 'ln -s "$out" "$wd/app/kz/dir"'
esc "symlinked resource file out of the checkout" "$(printf 'resources:\n- h1.yaml\n- st.yaml')" 'ln -s "$out/stolen.yaml" "$wd/app/kz/st.yaml"'
esc "a null resources entry (crashed the renderer before)" "$(printf 'resources:\n- h1.yaml\n- ')"
esc "a null components entry" "$(printf 'resources:\n- h1.yaml\ncomponents:\n- ')"
esc "remote resource (URL)" "$(printf 'resources:\n- h1.yaml\n- https://127.0.0.1:1/x.yaml')"
rm -rf "$wd/app/kz"

# through the agent: the escaping commit is not applied, the condition says why
cm h1 v=1 >"$wd/app/h1.yaml"
printf 'resources:\n- h1.yaml\n- ../../outside-link\n' >"$wd/app/kustomization.yaml"
ln -s "$out/stolen.yaml" "$wd/app/st.yaml"
brev=$(repo_commit hostile "escape")
count_input "kustomization escape via the agent"
cond() { [ -n "$(app_conditions hostile)" ]; }
check "agent: a commit whose kustomization escapes gets a condition" wait_for 60 cond
diag "$(app_conditions hostile)"
sleep 2
check "agent: nothing of it applied (h1 unchanged, no stolen Secret)" \
  eval 'cm_is "$DST" h1 v 0 && ! k get secret stolen -n "$DST" >/dev/null 2>&1'
rm -f "$wd/app/kustomization.yaml" "$wd/app/st.yaml"
rev=$(repo_commit hostile "repair")
check "agent: the repaired commit is applied" wait_for 120 eval 'app_at hostile "$rev" && cm_is "$DST" h1 v 1'

# ---- YAML bombs (render must fail fast and bounded, not crash)
yb() {
  local what="$1"; rm -rf "$REL_ENV/yb"; mkdir -p "$REL_ENV/yb"; cat >"$REL_ENV/yb/bomb.yaml"
  count_input "yaml: $what"
  run /usr/bin/time -f 'maxrss_kb=%M' "$G" render "$REL_ENV/yb"
  local kb; kb=$(grep -o 'maxrss_kb=[0-9]*' "$last" | cut -d= -f2)
  check "render refuses $what (exit $rc, peak RSS ${kb} kB)" eval '[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "${kb:-0}" -lt 1048576 ]'
  diag "$(grep -v maxrss "$last" | head -c 300)"
}
{ echo 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  for i in $(seq 1 12); do printf 'a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n' $i $i $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)); done
  echo 'apiVersion: v1'; echo 'kind: ConfigMap'; echo 'metadata: {name: bomb}'; } | yb "a billion-laughs alias bomb"
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: {x: '; printf '%*s' 100000 '' | tr ' ' '['; echo; } | yb "100,000 nested flow sequences"
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep2}\nx:\n'; for i in $(seq 1 3000); do printf '%*sa:\n' "$i" ''; done; } | yb "3,000 nested block mappings"
mb=32; [ "$REL_MODE" = full ] && mb=200
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: huge}\ndata:\n  x: "'; head -c $((mb * 1000000)) /dev/zero | tr '\0' x; echo '"'; } | yb "a $mb MB scalar"
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata:\n'; seq 1 300000 | sed 's/^/  k/; s/$/: v/'; printf '  k1: dup\n'; } | yb "300,000 keys and a duplicate"
{ printf 'a: &a\n  b: *a\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cyc}\n'; } | yb "a self-referencing alias"

# through the agent: an alias bomb committed to Git
{ echo 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  for i in $(seq 1 12); do printf 'a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n' $i $i $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)); done
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n'; } >"$wd/app/bomb.yaml"
cm h1 v=2 >"$wd/app/h1.yaml"
repo_commit hostile "bomb" >/dev/null
count_input "alias bomb via the agent"
check "agent: an alias bomb in Git gets a condition" wait_for 60 cond
sleep 2
check "agent: nothing of the bomb commit applied, agent alive" eval 'cm_is "$DST" h1 v 1 && agent_ready "$port"'
rss=$(rss_kb "$agent_pid"); diag "agent RSS after the bomb: ${rss} kB"
rm -f "$wd/app/bomb.yaml"
rev=$(repo_commit hostile "no bomb")
check "agent: the next good commit is applied" wait_for 120 eval 'app_at hostile "$rev" && cm_is "$DST" h1 v 2'

# ---- application paths with ..
for p in ../.. ../../../etc /etc app/../../.. 'app/../../../../outside'; do
  count_input "app path $p"
  run "$G" app create "dotdot-$RANDOM" --repo "$(repo_url hostile)" --path "$p" --dest-namespace "$DST" --app-namespace "$RNS" --sync-policy automated
  if [ "$rc" -ne 0 ]; then
    ok "app create refuses path '$p' (exit $rc)"
  else
    name=$(grep -o "dotdot-[0-9]*" "$last" | head -1)
    # accepted at create: the sync must fail and apply nothing
    run "$G" app sync "$name" --app-namespace "$RNS" --kubeconfig "$D/kubeconfig"
    check "path '$p' accepted by create, but the sync fails and applies nothing" \
      eval '[ "$rc" -ne 0 ] && ! out_has "Phase: +Succeeded"'
  fi
done
check "the agent is still serving after all of it" agent_ready "$port"
