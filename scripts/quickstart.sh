#!/usr/bin/env bash
# scripts/quickstart.sh — the whole product on one machine, in a few minutes.
#
# README command 1 (scripts/demo.sh) runs this once gitsync is built.  It:
#   1. builds the test cluster's control plane once (test/cluster/setup, cached)
#      and starts a cluster with its node simulator in a temporary directory;
#   2. starts a smart-HTTP Git server on 127.0.0.1 (git http-backend behind a
#      tiny Python server) and pushes a repository made from examples/;
#   3. `gitsync install`, then creates the monsterstack dev and prod apps and
#      the postgres-operator app (automated sync);
#   4. runs `gitsync agent` in the background and prints `gitsync app list` /
#      `gitsync app get` while the apps converge to Synced and Healthy;
#   5. pushes a commit (a new image tag for the prod frontend), fires a
#      GitHub-signed push webhook at the agent and shows the app follow it.
# Everything it starts is stopped by PID, and its temporary directory
# removed, on exit, Ctrl-C or SIGTERM.
#
# Usage: scripts/quickstart.sh [--keep]
#   --keep   leave the cluster, Git server and agent running at the end and
#            wait for Ctrl-C (prints the KUBECONFIG to explore with)
# Env:
#   GITSYNC                 a built gitsync binary (skips dependencies and build)
#   GS_BUILD_DIR            meson build directory when building (default: build)
#   GS_QUICKSTART_TIMEOUT   seconds to wait for each convergence (default 150)
#   GS_QUICKSTART_NO_AGENT=1  no agent: the CLI syncs (`gitsync app sync`), as a CI
#                           job with cluster credentials does; no webhook step
#   TMPDIR                  where the temporary directory goes
#   NO_COLOR                no colours (colours are only used on a terminal anyway)
# Exit status: 0 when every app ended Synced and Healthy with the pushed
# commit deployed, 1 otherwise, 130/143 when interrupted.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

keep=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown option '$a' (try --help)" >&2; exit 129 ;;
  esac
done

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  B=$'\e[1m'; G=$'\e[32m'; Y=$'\e[33m'; RED=$'\e[31m'; D=$'\e[2m'; R=$'\e[0m'
else
  B=; G=; Y=; RED=; D=; R=
  export NO_COLOR="${NO_COLOR:-1}"   # and none from gitsync either
fi
t0=$SECONDS
say()  { printf '%s==> %s%s\n' "$B" "$*" "$R"; }
note() { printf '%s    %s%s\n' "$D" "$*" "$R"; }
ok()   { printf '%s    ok: %s%s\n' "$G" "$*" "$R"; }
warn() { printf '%s    warning: %s%s\n' "$Y" "$*" "$R"; }
die()  { printf '%squickstart: FAILED: %s%s\n' "$RED" "$*" "$R"; exit 1; }
# show a command (gitsync by name, not by its build path), then run it
run()  { local c="$1"; shift; printf '%s$ %s %s%s\n' "$B" "${c##*/}" "$*" "$R"; "$c" "$@"; }
timeout_s="${GS_QUICKSTART_TIMEOUT:-150}"

# ---- build ------------------------------------------------------------------
if [ -n "${GITSYNC:-}" ] && [ -x "${GITSYNC}" ]; then
  gitsync="$(cd "$(dirname "$GITSYNC")" && pwd)/$(basename "$GITSYNC")"
else
  say "installing dependencies"
  bash scripts/setup-deps.sh
  bdir="${GS_BUILD_DIR:-build}"
  say "building gitsync in $bdir"
  [ -d "$bdir" ] || meson setup "$bdir" >/dev/null
  ninja -C "$bdir" agent/gitsync >/dev/null   # the binary only: tests build with scripts/test.sh
  gitsync="$root/$bdir/agent/gitsync"
fi
for tool in git python3 openssl curl; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (run scripts/setup-deps.sh)"
done

say "test cluster binaries (built once from Debian's kubernetes source, then cached)"
if ! test/cluster/setup; then
  warn "could not build the test cluster: showing what works without one"
  GS_DEMO_RENDER_ONLY=1 GITSYNC="$gitsync" exec scripts/demo.sh
fi

# ---- cleanup: every process by PID, then the temporary directory ------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gitsync-quickstart.XXXXXX")"
cluster="$tmp/cluster"
agent_pid= git_pid=
stop_pid() { # PID NAME: TERM, wait up to 10 s, then KILL (our own children only)
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "quickstart: $2 ($pid) ignores SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ -s "$tmp/agent.log" ]; then
    echo "--- last lines of the agent's log:" >&2
    tail -n 15 "$tmp/agent.log" >&2
  fi
  stop_pid "$agent_pid" "gitsync agent"
  stop_pid "$git_pid" "git server"
  [ -f "$cluster/pids" ] && test/cluster/stop "$cluster" >/dev/null 2>&1
  rm -rf "$tmp"
  printf '%s==> cleaned up (processes stopped, %s removed)%s\n' "$D" "$tmp" "$R"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "quickstart: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# ---- helpers in Python (stdlib only): Git server, JSON queries ---------------
cat >"$tmp/qs.py" <<'PY'
"""quickstart helpers: git-server ROOT PORTFILE | status LISTJSON | ...
See scripts/quickstart.sh."""
import hashlib, hmac, http.server, json, os, re, ssl, subprocess, sys, urllib.request

def git_server(root, portfile):
    # Smart HTTP through `git http-backend` (CGI), anonymous push allowed by
    # the repositories' http.receivepack.  Loopback only.
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def _run(self):
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n else b""
            path, _, query = self.path.partition("?")
            env = {"GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                   "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                   "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                   "CONTENT_LENGTH": str(len(data)), "REMOTE_ADDR": "127.0.0.1",
                   "REMOTE_USER": "demo", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            out = subprocess.run(["git", "http-backend"], input=data, env=env,
                                 capture_output=True).stdout
            head, sep, body = out.partition(b"\r\n\r\n")
            if not sep:
                head, sep, body = out.partition(b"\n\n")
            status, hdrs = 200, []
            for line in head.decode("latin-1").splitlines():
                k, _, v = line.partition(":")
                if k.lower() == "status":
                    status = int(v.split()[0])
                elif k:
                    hdrs.append((k, v.strip()))
            self.send_response(status)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = _run
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()

def api(method, path, body=None, ctype="application/merge-patch+json"):
    ctx = ssl.create_default_context(cafile=os.environ["GS_CA"])
    tok = open(os.environ["GS_ADMIN_TOKEN_FILE"]).read().strip()
    req = urllib.request.Request(os.environ["GS_APISERVER"] + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": ctype})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)

def status(listjson, names, want_rev):
    # One line per app: NAME SYNC HEALTH REVISION; exit 0 when all converged.
    try:
        items = {a["metadata"]["name"]: a for a in json.load(open(listjson)).get("items") or []}
    except ValueError:
        items = {}
    done = True
    for n in names:
        st = (items.get(n) or {}).get("status") or {}
        s = (st.get("sync") or {}).get("status") or "Unknown"
        h = (st.get("health") or {}).get("status") or "Unknown"
        rev = (st.get("sync") or {}).get("revision") or ""
        good = s == "Synced" and h == "Healthy" and (not want_rev or rev == want_rev)
        done = done and good
        print(n, s, h, rev or "-", "ok" if good else "wait")
    return 0 if done else 1

def images(ns, app):
    sel = "gitsync.io%2Fapp%3D" + app
    for d in api("GET", "/apis/apps/v1/namespaces/%s/deployments?labelSelector=%s" % (ns, sel))["items"]:
        for c in d["spec"]["template"]["spec"]["containers"]:
            print("%s %s" % (d["metadata"]["name"], c["image"]))

def frontend_image(rendered):
    # The image of the first container of the frontend Deployment (else the first Deployment).
    items = json.load(open(rendered)).get("items") or []
    deps = [o for o in items if o.get("kind") == "Deployment"]
    deps.sort(key=lambda o: not o["metadata"]["name"].startswith("frontend"))
    img = deps[0]["spec"]["template"]["spec"]["containers"][0]["image"]
    if ":" in img.split("/")[-1]:
        name, tag = img.rsplit(":", 1)
    else:
        name, tag = img, "latest"
    print(name, tag)

def bump(kfile, image, tag):
    # Set `images: [{name: IMAGE, newTag: TAG}]` in a kustomization: append the
    # block when there is none (keeps the file as written), else rewrite it.
    text = open(kfile).read()
    if not re.search(r"(?m)^images:", text):
        with open(kfile, "a") as f:
            f.write('%simages:\n- name: %s\n  newTag: "%s"\n' % ("" if text.endswith("\n") else "\n", image, tag))
        return
    import yaml
    k = yaml.safe_load(text)
    imgs = [i for i in k["images"] if i.get("name") != image]
    k["images"] = imgs + [{"name": image, "newTag": tag}]
    open(kfile, "w").write(yaml.safe_dump(k, sort_keys=False))

def latency(log, ms0, rev):
    # ms from the webhook to the agent's "sync Succeeded" line for REV (logfmt time=).
    import datetime
    for line in open(log):
        if "sync Succeeded" in line and ("revision=" + rev) in line:
            m = re.search(r"time=(\S+)", line)
            t = datetime.datetime.strptime(m.group(1).rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")
            t = t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
            print(int(t - int(ms0)))
            return 0
    return 1

def webhook(url, secret, repo_url, before, after):
    # A GitHub push event, signed like GitHub signs it (X-Hub-Signature-256).
    body = json.dumps({"ref": "refs/heads/main", "before": before, "after": after,
                       "repository": {"clone_url": repo_url, "html_url": repo_url[:-4],
                                      "full_name": "demo/examples", "default_branch": "main"},
                       "pusher": {"name": "demo"}, "head_commit": {"id": after}}).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": hashlib.sha1(body + secret.encode()).hexdigest(), "X-Hub-Signature-256": sig,
        "User-Agent": "GitHub-Hookshot/quickstart"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            print(r.status, r.read().decode(errors="replace").strip())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode(errors="replace").strip())

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "git-server": git_server(*args)
    elif cmd == "status": sys.exit(status(args[0], args[2:], args[1]))
    elif cmd == "images": images(*args)
    elif cmd == "frontend-image": frontend_image(*args)
    elif cmd == "bump": bump(*args)
    elif cmd == "webhook": webhook(*args)
    elif cmd == "latency": sys.exit(latency(*args))
    else: sys.exit("unknown helper " + cmd)
PY
qs() { python3 "$tmp/qs.py" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- 1. cluster ---------------------------------------------------------------
say "starting a test cluster (kube-apiserver v1.20.2, controllers, node simulator) in $cluster"
test/cluster/start "$cluster" --nodes 2 --no-proxy >"$tmp/cluster-start.log" 2>&1 \
  || { cat "$tmp/cluster-start.log" >&2; die "the test cluster did not start"; }
tail -n 1 "$tmp/cluster-start.log" | sed 's/^/    /'
# shellcheck disable=SC1091
. "$cluster/env"
export KUBECONFIG GS_APISERVER GS_CA GS_ADMIN_TOKEN_FILE
export GITSYNC_CACHE_DIR="$tmp/cli-cache"     # the CLI's Git cache (default ~/.cache)
note "no ingress controller here: the node simulator gives each Ingress an address, as ingress-nginx would"

# ---- 2. Git server and repository ------------------------------------------------
say "starting a Git server (smart HTTP, git http-backend) on 127.0.0.1"
mkdir -p "$tmp/git" "$tmp/work"
python3 "$tmp/qs.py" git-server "$tmp/git" "$tmp/git.port" >"$tmp/git.log" 2>&1 &
git_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/git.port" ] && break; sleep 0.1; done
[ -s "$tmp/git.port" ] || die "the Git server did not start: $(cat "$tmp/git.log")"
repo="http://127.0.0.1:$(cat "$tmp/git.port")/examples.git"
ok "serving $repo"

# The repository a user would keep: examples/ as it is in this checkout.
cp -r examples/. "$tmp/work/"
pg_path=
for p in postgres-operator postgres-operator/manifests postgres-operator/k8s; do
  [ -f "$tmp/work/$p/kustomization.yaml" ] && { pg_path="$p"; break; }
done
[ -f "$tmp/work/monsterstack/k8s/prod/kustomization.yaml" ] || die "no monsterstack example found"
[ -n "$pg_path" ] || die "no postgres-operator example (a kustomization) found"

gitc() { git -C "$tmp/work" -c user.name="Quickstart Demo" -c user.email=demo@gitsync.invalid \
           -c init.defaultBranch=main -c advice.detachedHead=false "$@"; }
git init -q --bare "$tmp/git/examples.git"
git -C "$tmp/git/examples.git" symbolic-ref HEAD refs/heads/main
git -C "$tmp/git/examples.git" config http.receivepack true
gitc init -q -b main
gitc add -A
gitc commit -q -m "examples: monsterstack and postgres-operator"
gitc push -q "$repo" main
rev1="$(gitc rev-parse HEAD)"
ok "pushed $(gitc ls-files | wc -l) files from examples/ at ${rev1:0:7}"

# ---- 3. install, the webhook Secret and the Applications -------------------------------
say "installing gitsync into the cluster"
run "$gitsync" install
note "(this cluster only simulates kubelets, so the agent's pods merely pretend to run:"
note " the demo runs the same binary on this machine as 'gitsync agent', which is what they do)"

hook_secret="$(openssl rand -hex 16)"
mkdir -p "$tmp/config"
cat >"$tmp/config/gitsync-secret.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: gitsync-secret
  namespace: gitsync
type: Opaque
stringData:
  webhook.github.secret: $hook_secret
EOF
"$gitsync" sync "$tmp/config" --app gitsync-config >"$tmp/secret.log" 2>&1 \
  || { cat "$tmp/secret.log" >&2; die "could not create the Secret gitsync-secret"; }
ok "Secret gitsync/gitsync-secret holds the GitHub webhook secret"

say "creating the Applications"
apps=(monsterstack-dev monsterstack-prod postgres-operator)
run "$gitsync" app create monsterstack-dev --repo "$repo" --path monsterstack/k8s/dev \
  --revision main --dest-namespace monsterstack-dev --sync-policy automated --auto-prune --self-heal \
  --sync-option CreateNamespace=true --upsert
run "$gitsync" app create monsterstack-prod --repo "$repo" --path monsterstack/k8s/prod \
  --revision main --dest-namespace monsterstack-prod --sync-policy automated --auto-prune --self-heal \
  --sync-option CreateNamespace=true --upsert
run "$gitsync" app create postgres-operator --repo "$repo" --path "$pg_path" \
  --revision main --dest-namespace default --sync-policy automated --auto-prune --upsert
run "$gitsync" app list

# ---- 4. the agent ----------------------------------------------------------------------
say "starting the agent"
aport="$(free_port)"
agent_url="http://127.0.0.1:$aport"
printf '%s$ %s%s\n' "$B" "gitsync agent --listen 127.0.0.1:$aport --log-format logfmt &" "$R"
"$gitsync" agent --listen "127.0.0.1:$aport" --namespace gitsync --log-format logfmt \
  --cache-dir "$tmp/agent-cache" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
agent_ok=0
[ "${GS_QUICKSTART_NO_AGENT:-0}" != 1 ] || { stop_pid "$agent_pid" "gitsync agent"; agent_pid=; }
for _ in $(seq 1 150); do
  [ -n "$agent_pid" ] || break
  kill -0 "$agent_pid" 2>/dev/null || break
  if curl -fsS -o /dev/null "$agent_url/readyz" 2>/dev/null; then agent_ok=1; break; fi
  sleep 0.2
done
if [ "$agent_ok" = 1 ]; then
  ok "agent ready at $agent_url (/healthz, /readyz, /metrics, /api/webhook)"
elif [ -z "$agent_pid" ]; then
  warn "GS_QUICKSTART_NO_AGENT=1: no agent; the CLI runs the syncs ('gitsync app sync')"
else
  warn "the agent did not become ready; the demo goes on with 'gitsync app sync' from the CLI"
  tail -n 5 "$tmp/agent.log" | sed 's/^/    | /'
  stop_pid "$agent_pid" "gitsync agent"; agent_pid=
fi

# converge WANT_REV APP...: print `app list` whenever it changes until every
# app is Synced and Healthy (at WANT_REV when given).  When an app is Synced but its
# recorded health lags for a while, `app get --refresh` recomputes it.
refreshed_note=0
converge() {
  local want="$1"; shift
  local start=$SECONDS last="" cur lag=0 n
  while :; do
    "$gitsync" app list -o json >"$tmp/list.json" 2>/dev/null || true
    if qs status "$tmp/list.json" "$want" "$@" >"$tmp/status.txt"; then
      "$gitsync" app list
      return 0
    fi
    cur="$(cat "$tmp/status.txt")"
    if [ "$cur" != "$last" ]; then
      printf '%s    [%3ss]%s\n' "$D" "$((SECONDS - start))" "$R"
      "$gitsync" app list | sed 's/^/    /'
      last="$cur"; lag=0
    fi
    lag=$((lag + 1))
    if [ "$lag" -ge 5 ]; then
      for n in $(awk '$2 == "Synced" && $3 != "Healthy" {print $1}' "$tmp/status.txt"); do
        [ "$refreshed_note" = 1 ] || note "(recorded health lags: 'gitsync app get NAME --refresh' recomputes it)"
        refreshed_note=1
        "$gitsync" app get "$n" --refresh >/dev/null 2>&1 || true
      done
      lag=0
    fi
    if [ $((SECONDS - start)) -ge "$timeout_s" ]; then
      "$gitsync" app list || true
      return 1
    fi
    sleep 1
  done
}

cli_sync() { # the fallback when no agent runs: the CLI executes the operation itself
  local n
  for n in "$@"; do
    run "$gitsync" app sync "$n" --prune --timeout "${timeout_s}s" || warn "app sync $n failed"
  done
}

say "waiting for the apps to converge (Synced and Healthy)"
[ "$agent_ok" = 1 ] || cli_sync "${apps[@]}"
converge "$rev1" "${apps[@]}" || die "the apps did not converge within ${timeout_s}s"
for n in "${apps[@]}"; do
  run "$gitsync" app get "$n"
done

# ---- 5. a commit, a webhook, and the app follows -----------------------------------------
say "pushing a commit: a new image tag for the prod frontend"
"$gitsync" render "$tmp/work/monsterstack/k8s/prod" -o json >"$tmp/prod.json"
read -r img oldtag < <(qs frontend-image "$tmp/prod.json")
newtag="1.1"; [ "$oldtag" != "$newtag" ] || newtag="1.2"
qs bump "$tmp/work/monsterstack/k8s/prod/kustomization.yaml" "$img" "$newtag"
gitc commit -q -am "prod: $img:$newtag"
gitc --no-pager show --stat --format='%h %s' HEAD | sed '/^$/d; s/^ */    /'
gitc push -q "$repo" main
rev2="$(gitc rev-parse HEAD)"
ok "pushed ${rev2:0:7}"

if [ "$agent_ok" = 1 ]; then
  say "firing a GitHub push webhook (signed with X-Hub-Signature-256) at the agent"
  ms0=$(date +%s%3N)
  printf '%s$ curl -X POST %s/api/webhook -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=..." -d @push.json%s\n' "$B" "$agent_url" "$R"
  qs webhook "$agent_url/api/webhook" "$hook_secret" "$repo" "$rev1" "$rev2" | sed 's/^/    answer: /'
  note "(the same push signed with a wrong secret is refused, and refreshes nothing:)"
  qs webhook "$agent_url/api/webhook" "not-the-secret" "$repo" "$rev1" "$rev2" | sed 's/^/    answer: /'
else
  say "no agent: syncing monsterstack-prod from the CLI"
  cli_sync monsterstack-prod
fi
converge "$rev2" monsterstack-prod || die "monsterstack-prod did not deploy ${rev2:0:7} within ${timeout_s}s"
if [ "$agent_ok" = 1 ]; then
  ok "monsterstack-prod Synced and Healthy at ${rev2:0:7}, $(( $(date +%s%3N) - ms0 )) ms after the webhook (rollout included)"
  grep -E 'webhook|sync (started|Succeeded|Failed)' "$tmp/agent.log" | grep "monsterstack-prod" | tail -n 3 | sed 's/^/    agent: /' || true
  lat="$(qs latency "$tmp/agent.log" "$ms0" "$rev2")" && ok "the agent had synced ${rev2:0:7} $lat ms after the webhook"
fi
run "$gitsync" app get monsterstack-prod
say "what runs in monsterstack-prod now"
qs images monsterstack-prod monsterstack-prod | sed 's/^/    /'
run "$gitsync" app history monsterstack-prod || true

# ---- summary (t-quickstart.sh reads these lines) -----------------------------------------
"$gitsync" app list -o json >"$tmp/list.json"
qs status "$tmp/list.json" "" "${apps[@]}" >"$tmp/status.txt" || true
echo
say "summary"
while read -r n s h rev _; do
  printf '    quickstart: app %s %s %s %s\n' "$n" "$s" "$h" "${rev:0:7}"
done <"$tmp/status.txt"
deployed="$(qs images monsterstack-prod monsterstack-prod | awk -v i="$img:$newtag" '$2 == i {print $1}' | head -n 1)"
[ -n "$deployed" ] || die "the new image $img:$newtag is not deployed"
printf '    quickstart: deployed %s (%s runs %s:%s)\n' "$rev2" "$deployed" "$img" "$newtag"
[ "$agent_ok" = 1 ] || printf '    quickstart: DEGRADED: no agent; apps were synced with gitsync app sync, no webhook\n'
if ! qs status "$tmp/list.json" "" "${apps[@]}" >/dev/null; then
  die "not every app is Synced and Healthy"
fi
printf '%s    quickstart: OK in %ss%s\n' "$G" "$((SECONDS - t0))" "$R"

if [ "$keep" = 1 ]; then
  say "everything keeps running; press Ctrl-C to stop and clean up"
  note "export KUBECONFIG=$KUBECONFIG"
  note "gitsync app list;  curl $agent_url/metrics;  git clone $repo"
  while :; do sleep 3600; done
fi
