# shellcheck shell=bash
# lib-agent.sh - shared by test/integration/t-agent-*.sh (sourced, not run).
#
# Starts a test cluster, a smart-HTTP Git server on loopback with one
# repository `deploy.git` holding app/cm.yaml, installs the CRD, and offers
# helpers to start/stop `gitsync agent` replicas by PID and to print TAP.
# Every server listens on 127.0.0.1 and is stopped by the PID recorded here.

root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cl="$root/test/cluster"
G="${GITSYNC:-$root/build/agent/gitsync}"
PY3=/usr/bin/python3
[ -x "$PY3" ] || PY3=python3

agent_skip_unless_ready() {
  if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$cl" >/dev/null 2>&1; then
    echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
    exit 0
  fi
  if ! KUBECTL="$("$root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
    echo "1..0 # SKIP kubectl not available (scripts/get-kubectl.sh)"
    exit 0
  fi
  if [ ! -x "$G" ]; then
    echo "1..0 # SKIP gitsync binary not built"
    exit 0
  fi
  command -v git >/dev/null || { echo "1..0 # SKIP git not installed"; exit 0; }
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-t-agent.XXXXXX")"
D="$tmp/cluster"
agent_pids=()
git_pid=""

agent_cleanup() {
  # errexit (bench) must not cut the cleanup short: a replica that already
  # exited makes kill fail
  set +e
  local p
  for p in "${agent_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [ -n "$git_pid" ] && kill "$git_pid" 2>/dev/null
  "$cl/stop" "$D" >/dev/null 2>&1
  if [ "${GS_KEEP_TMP:-0}" = 1 ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap agent_cleanup EXIT
# meson's timeout sends SIGTERM: exit through the EXIT trap
trap 'exit 143' TERM INT

TAP_DIAG_BYTES=1500
# shellcheck source=tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
k() { "$KUBECTL" --cache-dir "$tmp/kcache" --kubeconfig "$D/kubeconfig" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; }

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_for() {
  local limit="$1"; shift
  local end; end=$(awk -v a="$(now)" -v l="$limit" 'BEGIN{printf "%.3f", a+l}')
  while :; do
    "$@" && return 0
    awk -v e="$end" -v n="$(now)" 'BEGIN{exit !(n>e)}' && return 1
    sleep 0.05
  done
}

cm_color() { k get configmap demo-config -n demo -o jsonpath='{.data.color}' 2>/dev/null; }
cm_is() { [ "$(cm_color)" = "$1" ]; }

start_cluster() {
  run "$cl/start.py" "$D" --nodes 1 --no-proxy
  if [ "$rc" -ne 0 ]; then
    diag "$(cat "$tmp/out")"
    echo "Bail out! the test cluster did not start"
    exit 1
  fi
  . "$D/env"
  export KUBECONFIG="$D/kubeconfig"
}

# start_git: a bare repo served over smart HTTP; sets $repo_url and $work.
start_git() {
  mkdir -p "$tmp/git"
  git init -q --bare -b main "$tmp/git/deploy.git"
  git -C "$tmp/git/deploy.git" config http.receivepack true
  work="$tmp/work"
  git clone -q "$tmp/git/deploy.git" "$work" 2>/dev/null
  mkdir -p "$work/app"
  cat >"$work/app/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-config
data:
  color: blue
EOF
  git -C "$work" add . && git -C "$work" -c user.name=t -c user.email=t@example.com commit -qm blue
  git -C "$work" push -q origin main
  # GIT_HTTP_LOG: a file logging every request (t-agent-scale counts them)
  "$PY3" "$root/test/integration/git-http-server.py" "$tmp/git" "$tmp/git.port" \
    ${GIT_HTTP_LOG:+--log "$GIT_HTTP_LOG"} &
  git_pid=$!
  wait_for 20 test -s "$tmp/git.port" || { echo "Bail out! git server did not start"; exit 1; }
  repo_url="http://127.0.0.1:$(cat "$tmp/git.port")/deploy.git"
}

# commit COLOR: change the ConfigMap in Git; prints the new commit id.
commit() {
  sed -i "s/color: .*/color: $1/" "$work/app/cm.yaml"
  git -C "$work" -c user.name=t -c user.email=t@example.com commit -qam "$1"
  git -C "$work" push -q origin main
  git -C "$work" rev-parse HEAD
}

free_port() {
  "$PY3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_agent NAME PORT [extra args]: a replica logging to $tmp/NAME.log.
start_agent() {
  local name="$1" port="$2"; shift 2
  GITSYNC_CACHE_DIR="$tmp/cache-$name" "$G" agent --listen "127.0.0.1:$port" \
    --identity "$name" --log-format json "$@" >"$tmp/$name.log" 2>&1 &
  agent_pids+=($!)
  eval "pid_$name=$!"
}

ready() { curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; }
lease_holder() { k get lease gitsync-agent -n gitsync -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }

# github_webhook PORT SECRET BODY [DELIVERY]: prints "CODE BODY".
github_webhook() {
  local sig
  sig=$(printf '%s' "$3" | openssl dgst -sha256 -hmac "$2" | awk '{print $NF}')
  curl -s -o "$tmp/wh.out" -w '%{http_code}' -H "X-GitHub-Event: ${GH_EVENT:-push}" \
    -H "X-Hub-Signature-256: sha256=$sig" -H "X-GitHub-Delivery: ${4:-$RANDOM$RANDOM}" \
    -H "Content-Type: application/json" --data "$3" "http://127.0.0.1:$1/api/webhook"
  echo " $(cat "$tmp/wh.out")"
}

push_body() {
  printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"%s","default_branch":"main"}}' \
    "$1" "$repo_url"
}

# install: CRD, namespaces, Secret with a webhook secret and API tokens.
install_gitsync() {
  run "$G" install --crd-only
  k create namespace demo >/dev/null 2>&1
  k create namespace gitsync >/dev/null 2>&1
  "$G" token create ci --scope sync -o line 2>"$tmp/token.sync" >"$tmp/api.tokens"
  "$G" token create viewer --scope read -o line 2>"$tmp/token.read" >>"$tmp/api.tokens"
  k -n gitsync create secret generic gitsync-secret --from-file=api.tokens="$tmp/api.tokens" \
    --from-literal=webhook.github.secret=gh-test-secret >/dev/null
}

finish() {
  echo "1..$n"
  [ "$failed" -eq 0 ]
}
