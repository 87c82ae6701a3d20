#!/usr/bin/env bash
# shellcheck disable=SC2154  # pid_NAME is set by start_agent (lib-agent.sh) through eval
# The agent under load (issue 9): APPS Applications x OBJS ConfigMaps each
# (default 100 x 50 = 5,000 objects) from one Git repository (a monorepo:
# every push webhook matches every app), on the test cluster.  Measures:
#   - time until every app is Synced after the agent starts (first sync)
#   - peak RSS of the agent (VmHWM)
#   - CPU seconds while idle over IDLE_S seconds (default 120) with a short
#     poll interval (POLL, default 10s), extrapolated to one hour
#   - webhook-to-synced latency over ROUNDS pushes (default 20): a commit
#     changes one ConfigMap of one app, a signed GitHub push is sent, and the
#     API server is polled (curl, every ~10 ms) until the new value is there;
#     median and p99 (the max with fewer than 100 rounds).  The apps carry
#     gitsync.io/refresh-paths=. (a push's file list selects the app it
#     touches); then UNFILTERED rounds (default 5) without it, where every
#     push refreshes all APPS apps (the monorepo worst case), also timed
#     until the last of them is done (queue empty), with what one such push
#     cost (phase seconds and API requests) and its write floor: the same
#     APPS status writes sent by curl alone (push_write_floor_seconds)
#   - the floor (issue 20): the same APPS x OBJS objects in APPS other
#     namespaces synced as one app by `gitsync sync` (floor_seconds), and
#     first_sync_seconds / floor_seconds
#   - where the first sync's time went: the agent's per-phase histogram
#     (gitsync_reconcile_phase_seconds: queue, fetch, export, render (a
#     render child ran), render_memo (answered by the render memo),
#     compare, apply, status), as summed seconds and counts, and what went
#     to the Git remote (ls-remote, fetch) against answers shared
#   - where the CPU went: seconds of each process (the cluster's and the
#     agent; render children are not counted) over the floor, the first
#     sync and the unfiltered pushes
#
# Usage: bench/bench-agent.sh [BUILD_DIR]     (env APPS OBJS IDLE_S POLL ROUNDS WORKERS MAX_WORKERS)
# Figures go to stdout, one "name value" per line at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
APPS="${APPS:-100}"
OBJS="${OBJS:-50}"
IDLE_S="${IDLE_S:-120}"
POLL="${POLL:-60s}"
ROUNDS="${ROUNDS:-20}"
UNFILTERED="${UNFILTERED:-5}"
export GITSYNC="$build/agent/gitsync"
export GS_SOURCE_ROOT="$root"
. "$root/test/integration/lib-agent.sh"
agent_skip_unless_ready >/dev/null || true
[ -x "$GITSYNC" ] || { echo "bench-agent.sh: $GITSYNC not built" >&2; exit 1; }

log() { echo "== $*" >&2; }

start_cluster
log "cluster up"
# Repository: app-NNN/cm-MMM.yaml
mkdir -p "$tmp/git"
git init -q --bare -b main "$tmp/git/bench.git"
work="$tmp/work"
git clone -q "$tmp/git/bench.git" "$work" 2>/dev/null
for ((a = 0; a < APPS; a++)); do
  d=$(printf '%s/app-%03d' "$work" "$a")
  mkdir -p "$d"
  for ((o = 0; o < OBJS; o++)); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\ndata:\n  value: "v0"\n  index: "%d"\n' \
      "$o" "$o" >"$d/$(printf 'cm-%03d.yaml' "$o")"
  done
done
git -C "$work" add . && git -C "$work" -c user.name=b -c user.email=b@example.com commit -qm init
git -C "$work" push -q origin main
repo_url="file://$tmp/git/bench.git"
run "$G" install --crd-only
k create namespace gitsync >/dev/null 2>&1 || true
"$G" token create bench --scope sync -o line 2>/dev/null >"$tmp/api.tokens"
k -n gitsync create secret generic gitsync-secret --from-file=api.tokens="$tmp/api.tokens" \
  --from-literal=webhook.github.secret=bench-secret >/dev/null
# The first app through the CLI; the others are its copies, applied in one
# kubectl call with their namespaces (one CLI and two kubectl processes per
# app made creating 1,000 apps take most of an hour)
"$G" app create app-000 --repo "$repo_url" --path app-000 --dest-namespace b-app-000 \
  --sync-policy automated >/dev/null
spec=$(k get application app-000 -n gitsync -o jsonpath='{.spec}')
for ((a = 0; a < APPS; a++)); do
  name=$(printf 'app-%03d' "$a")
  printf -- '---\n{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b-%s"}}\n---\n' "$name"
  printf '{"apiVersion":"gitsync.io/v1alpha1","kind":"Application","metadata":{"name":"%s","namespace":"gitsync","annotations":{"gitsync.io/refresh-paths":"."}},"spec":%s}\n' \
    "$name" "${spec//app-000/$name}"
done >"$tmp/apps.json"
k apply -f "$tmp/apps.json" >/dev/null
log "$APPS apps created"

# The floor: the same objects, in APPS namespaces of their own, as one app.
floor_dir="$tmp/floor"
mkdir -p "$floor_dir"
for ((a = 0; a < APPS; a++)); do
  printf -- '---\n{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"f-app-%03d"}}\n' "$a"
done >"$tmp/floor-ns.json"
k apply -f "$tmp/floor-ns.json" >/dev/null
for ((a = 0; a < APPS; a++)); do
  name=$(printf 'app-%03d' "$a")
  for ((o = 0; o < OBJS; o++)); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\n  namespace: f-%s\ndata:\n  value: "v0"\n  index: "%d"\n' \
      "$o" "$name" "$o" >"$floor_dir/$(printf '%s-cm-%03d.yaml' "$name" "$o")"
  done
done
# CPU seconds (user + system) of the cluster's processes and of one more
# pid: where a phase's time went on the 2 shared cores
cpu_of() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_snap() { # name seconds, one per line
  local name pid _
  while read -r name pid _; do echo "$name $(cpu_of "$pid")"; done <"$D/pids"
  [ -z "${1:-}" ] || echo "$1 $(cpu_of "$2")"
}
cpu_diff() { # before after -> "name=seconds ..."
  awk -v after="$2" 'BEGIN { k = split(after, l, "\n"); for (i = 1; i <= k; i++) { split(l[i], f, " "); a[f[1]] = f[2] } }
    { b[$1] = $2 } END { for (p in a) if (a[p] - b[p] >= 0.05) printf "%s=%.1f ", p, a[p] - b[p] }' <<<"$1"
}
cpu0=$(cpu_snap)
t0=$(now)
"$G" sync "$floor_dir" --app bench-floor >/dev/null
floor=$(elapsed "$t0")
floor_cpu=$(cpu_diff "$cpu0" "$(cpu_snap)")
log "floor: $((APPS * OBJS)) objects as one app in $floor s"

port=$(free_port)
t0=$(now)
start_agent bench "$port" --poll-interval "$POLL" --resync-interval 2s --self-heal-interval 1h \
  ${WORKERS:+--workers "$WORKERS"} ${MAX_WORKERS:+--max-workers "$MAX_WORKERS"}
apid=$pid_bench
cpu0=$(cpu_snap agent "$apid")
# Polled from the agent's /metrics (each app's state once its outcome is
# written to its status): a kubectl process a second took a good part of
# the 2 cores the cluster and agent share.  Checked in the cluster after.
synced_count() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^gitsync_applications\{sync_status="Synced"/ {n += $2} END {print n + 0}'
}
while [ "$(synced_count)" -lt "$APPS" ]; do sleep 0.1; done
first_sync=$(elapsed "$t0")
first_cpu=$(cpu_diff "$cpu0" "$(cpu_snap agent "$apid")")
log "all $APPS apps synced in $first_sync s"
in_cluster() {
  k get applications -n gitsync -o jsonpath='{range .items[*]}{.status.sync.status}{"\n"}{end}' |
    grep -c '^Synced$' || true
}
[ "$(in_cluster)" -eq "$APPS" ] || { echo "bench-agent.sh: the agent said Synced, the cluster not" >&2; exit 1; }
metrics() { curl -s "http://127.0.0.1:$port/metrics"; }
# phase seconds and counts of the first sync (sum and count of the histogram)
phases=$(metrics | awk '
  /^gitsync_reconcile_phase_seconds_(sum|count)\{/ {
    match($0, /phase="[a-z_]*"/); ph = substr($0, RSTART + 7, RLENGTH - 8)
    if ($0 ~ /_sum/) s[ph] = $2; else c[ph] = $2 }
  END { n = split("queue fetch export render render_memo compare apply status", o, " ")
        for (i = 1; i <= n; i++) printf "phase_%s_seconds %.2f (n=%d, summed over workers)\n", o[i], s[o[i]], c[o[i]] }')
git_remote=$(metrics | awk -F'[{}" ]+' '/^gitsync_git_remote_requests\{/ {printf "%s=%s ", $3, $4}')
# API requests of the first sync by verb (PATCH: dry-runs, applies and
# status writes; counts, not noisy like the seconds)
kube_verbs=$(metrics | awk -F'[{}" ]+' '/^gitsync_kube_requests\{/ {printf "%s=%s ", $3, $4}')
workers=$(grep -o '[0-9]* workers' "$tmp/bench.log" | head -1 || true)

cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$apid/stat"; }
c0=$(cpu_s)
log "idle for $IDLE_S s (poll interval $POLL)"
sleep "$IDLE_S"
c1=$(cpu_s)
idle_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}')
per_hour=$(awk -v c="$idle_cpu" -v s="$IDLE_S" 'BEGIN{printf "%.1f", c*3600/s}')

# Webhook latency: poll one ConfigMap through the API server with curl.
token=$(cat "$GS_ADMIN_TOKEN_FILE")
value_of() {
  curl -s --cacert "$GS_CA" -H "Authorization: Bearer $token" \
    "$GS_APISERVER/api/v1/namespaces/b-app-$1/configmaps/cm-000" | grep -o '"value": *"[^"]*"' | cut -d'"' -f4
}
# one round: change app (r % APPS), push, webhook; prints the latency
round() {
  local r="$1" a rev body sig t0
  a=$(printf '%03d' $((r % APPS)))
  sed -i "s/value: .*/value: \"v$r\"/" "$work/app-$a/cm-000.yaml"
  git -C "$work" -c user.name=b -c user.email=b@example.com commit -qam "r$r"
  git -C "$work" push -q origin main
  rev=$(git -C "$work" rev-parse HEAD)
  body=$(printf '{"ref":"refs/heads/main","after":"%s","repository":{"clone_url":"%s","default_branch":"main"},"commits":[{"added":[],"modified":["app-%s/cm-000.yaml"],"removed":[]}]}' "$rev" "$repo_url" "$a")
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac bench-secret | awk '{print $NF}')
  t0=$(now)
  curl -s -o /dev/null -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$sig" \
    -H "X-GitHub-Delivery: bench-$r" --data "$body" "http://127.0.0.1:$port/api/webhook"
  while [ "$(value_of "$a")" != "v$r" ]; do sleep 0.01; done
  printf '%s ' "$(elapsed "$t0")"
  # every refreshed app done (queue empty): the last app compared at the
  # pushed commit, printed second
  while [ "$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^gitsync_workqueue_depth/{print $2}')" != 0 ]; do sleep 0.02; done
  elapsed "$t0"
}
stats() { # median p99 of the arguments
  printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); i=int(NR*0.99+0.999); if(i<1)i=1; print m, a[i]}'
}
lat=()
for ((r = 1; r <= ROUNDS; r++)); do read -r l _ <<<"$(round "$r")"; lat+=("$l"); done
read -r median p99 <<<"$(stats "${lat[@]}")"
log "webhook rounds with refresh-paths: median $median s, p99 $p99 s"
k annotate applications --all -n gitsync gitsync.io/refresh-paths- >/dev/null
sleep 3
# phase sums and request counts before the unfiltered pushes: their
# difference after them is what those pushes cost (per push, below)
phase_sums() {
  metrics | awk '/^gitsync_reconcile_phase_seconds_(sum|count)\{/ {
    match($0, /phase="[a-z_]*"/); ph = substr($0, RSTART + 7, RLENGTH - 8)
    if ($0 ~ /_sum/) s[ph] = $2; else c[ph] = $2 }
    END { for (p in s) print p, s[p], c[p] }'
  metrics | awk -F'[{}" ]+' '/^gitsync_kube_requests\{/ {print "req_" $3, $4, 0}'
}
push0=$(phase_sums)
pcpu0=$(cpu_snap agent "$apid")
ulat=()
uall=()
for ((r = ROUNDS + 1; r <= ROUNDS + UNFILTERED; r++)); do
  read -r l all <<<"$(round "$r")"
  ulat+=("$l")
  uall+=("$all")
done
read -r umedian up99 <<<"$(stats "${ulat[@]}")"
read -r amedian ap99 <<<"$(stats "${uall[@]}")"
push1=$(phase_sums)
push_cpu=$(cpu_diff "$pcpu0" "$(cpu_snap agent "$apid")")
# per unfiltered push: phase seconds summed over workers, and API requests
push_cost=$(printf '%s\n' "$push0" | awk -v n="$UNFILTERED" -v after="$push1" '
  BEGIN { k = split(after, l, "\n"); for (i = 1; i <= k; i++) { split(l[i], f, " "); s1[f[1]] = f[2]; c1[f[1]] = f[3] } }
  { s0[$1] = $2; c0[$1] = $3 }
  END { for (p in s1) if (p ~ /^req_/) printf "push_kube_requests_%s %.0f (per push)\n", substr(p, 5), (s1[p] - s0[p]) / n
        else if (c1[p] - c0[p] > 0) printf "push_phase_%s_seconds %.2f (n=%.0f per push, summed over workers)\n", p, (s1[p] - s0[p]) / n, (c1[p] - c0[p]) / n }' | sort)
rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$apid/status")
kill -TERM "$apid"; wait "$apid" || true

# The write floor of a push: one status write per app is what recording the
# new revision costs at least.  The same APPS merge patches of
# status.reconciledAt, sent by curl over HTTP/2, 50 at a time, the agent
# stopped: what the API server takes for them on this machine.
{
  at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for ((a = 0; a < APPS; a++)); do
    printf 'url = "%s/apis/gitsync.io/v1alpha1/namespaces/gitsync/applications/app-%03d/status"\n' "$GS_APISERVER" "$a"
    printf 'request = "PATCH"\noutput = "/dev/null"\n'
    printf 'header = "Content-Type: application/merge-patch+json"\n'
    printf 'data = "{\\"status\\":{\\"reconciledAt\\":\\"%s\\"}}"\n' "$at"
  done
} >"$tmp/floor.curl"
t0=$(now)
curl -s --http2 --parallel --parallel-max 50 --cacert "$GS_CA" -H "Authorization: Bearer $token" \
  -K "$tmp/floor.curl"
write_floor=$(elapsed "$t0")

echo "apps $APPS"
echo "objects $((APPS * OBJS))"
echo "first_sync_seconds $first_sync"
echo "floor_seconds $floor (the same objects as one app, gitsync sync)"
echo "floor_cpu_seconds $floor_cpu(the gitsync sync process not counted)"
echo "first_sync_cpu_seconds $first_cpu"
echo "ratio_first_sync_to_floor $(awk -v a="$first_sync" -v b="$floor" 'BEGIN{printf "%.2f", a/b}')"
echo "$phases"
echo "git_remote_first_sync $git_remote"
echo "kube_requests_first_sync $kube_verbs"
echo "agent_workers ${workers:-?}"
echo "peak_rss_mib $(awk -v k="$rss_kb" 'BEGIN{printf "%.1f", k/1024}')"
echo "idle_cpu_seconds_${IDLE_S}s $idle_cpu (poll interval $POLL)"
echo "idle_cpu_seconds_per_hour $per_hour"
echo "webhook_to_synced_median_seconds $median"
echo "webhook_to_synced_p99_seconds $p99 (n=$ROUNDS)"
echo "webhook_to_synced_unfiltered_median_seconds $umedian (every push refreshes all $APPS apps)"
echo "webhook_to_synced_unfiltered_max_seconds $up99 (n=$UNFILTERED)"
echo "webhook_to_all_apps_done_unfiltered_median_seconds $amedian (the last of the $APPS apps compared or synced at the pushed commit)"
echo "webhook_to_all_apps_done_unfiltered_max_seconds $ap99 (n=$UNFILTERED)"
echo "$push_cost"
echo "push_cpu_seconds $push_cpu(all $UNFILTERED pushes)"
echo "push_write_floor_seconds $write_floor ($APPS status patches, curl over HTTP/2, 50 in flight, agent stopped)"
