#!/usr/bin/env bash
# Fetch-and-render time through gitsync's Git source and renderer (libgit2
# cache, clean export of the commit, kustomize-lite), next to what one does
# by hand: `git fetch` + `git reset --hard` in a working copy + `kubectl
# kustomize`, both warm (cloned once before timing).
#
# The repository is generated here (git fast-import, a few seconds): 1,000
# commits, 2,000 files, 100 apps of 19 manifests and a kustomization each
# (apps/app-NNN), and `all/`, a kustomization over every app (1,900 objects).
# Two revisions are timed for two paths:
#   unchanged  the branch has not moved since the last run (gitsync: ls-remote,
#              the commit is cached, its export reused, render)
#   changed    a new commit was pushed before each run (gitsync: ls-remote,
#              fetch, export the new commit: the changed file written, the
#              1,999 others hard-linked from the previous export; render)
# Median wall time and CPU time (user + sys, child processes included) of
# RUNS runs each, in milliseconds, as a table.
#
# Usage: bench/bench-git.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR defaults to build/ (use an optimised build), RUNS to 5.
#   KUBECTL overrides kubectl (default: what scripts/get-kubectl.sh installs).
#   GS_BENCH_TRANSPORT=http serves the repository over smart HTTP (git
#   http-backend behind test/integration/git-http-server.py on 127.0.0.1)
#   instead of file://.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
runs="${2:-5}"
gitsync="$build/agent/gitsync"
kubectl="${KUBECTL:-$("$root/scripts/get-kubectl.sh")}"
transport="${GS_BENCH_TRANSPORT:-file}"

[ -x "$gitsync" ] || { echo "bench-git.sh: $gitsync not built" >&2; exit 1; }
[ -x "$kubectl" ] || { echo "bench-git.sh: kubectl not found" >&2; exit 1; }
command -v git >/dev/null || { echo "bench-git.sh: git not installed" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-bench-git.XXXXXX")"
httppid=
cleanup() {
  if [ -n "$httppid" ]; then kill "$httppid" 2>/dev/null || true; wait "$httppid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GITSYNC_CACHE_DIR="$tmp/cache" NO_COLOR=1

# ---- the repository: one fast-import stream ----------------------------------
gen_start=$(date +%s%N)
git init -q --bare "$tmp/origin.git"
git -C "$tmp/origin.git" symbolic-ref HEAD refs/heads/main
python3 - "$tmp/stream" <<'PY'
import sys
APPS, PER_APP, COMMITS = 100, 19, 1000   # 100 * (19 + 1) = 2,000 files
out = open(sys.argv[1], "wb")
def blob(mark, text):
    data = text.encode()
    out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
def manifest(a, i, gen):
    name = "app%03d-res%02d" % (a, i)
    if i % 3 == 0:
        return ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  labels: {app: %s}\n"
                "spec:\n  replicas: 2\n  selector:\n    matchLabels: {app: %s}\n  template:\n"
                "    metadata:\n      labels: {app: %s}\n    spec:\n      containers:\n"
                "      - name: main\n        image: registry.example.com/app%03d:1.%d\n"
                "        ports:\n        - containerPort: 8080\n" % (name, name, name, name, a, gen))
    if i % 3 == 1:
        return ("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector: {app: %s}\n"
                "  ports:\n  - port: 80\n    targetPort: 8080\n" % (name, name))
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  generation: \"%d\"\n"
            "  settings.yaml: |\n    level: info\n    shards: %d\n" % (name, gen, i))
mark = 0
files = {}
for a in range(APPS):
    d = "apps/app-%03d" % a
    for i in range(PER_APP):
        files["%s/res-%02d.yaml" % (d, i)] = manifest(a, i, 0)
    files[d + "/kustomization.yaml"] = ("resources:\n" + "".join("- res-%02d.yaml\n" % i for i in range(PER_APP))
                                        + "labels:\n- pairs: {team: t%d}\n" % (a % 7))
# all/ is one more file: 2,001 with it; keep 2,000 by dropping one ConfigMap of the last app
files.pop("apps/app-%03d/res-%02d.yaml" % (APPS - 1, PER_APP - 1))
files["apps/app-%03d/kustomization.yaml" % (APPS - 1)] = (
    "resources:\n" + "".join("- res-%02d.yaml\n" % i for i in range(PER_APP - 1)) + "labels:\n- pairs: {team: t%d}\n" % ((APPS - 1) % 7))
files["all/kustomization.yaml"] = "resources:\n" + "".join("- ../apps/app-%03d\n" % a for a in range(APPS))
assert len(files) == 2000, len(files)
t = 1700000000
for c in range(COMMITS):
    if c == 0:
        change = sorted(files)
    else:
        # each later commit edits one manifest (a new image or generation)
        a, i = (c * 37) % APPS, (c * 11) % (PER_APP - 1)
        p = "apps/app-%03d/res-%02d.yaml" % (a, i)
        files[p] = manifest(a, i, c)
        change = [p]
    marks = {}
    for p in change:
        mark += 1
        blob(mark, files[p])
        marks[p] = mark
    msg = b"commit %d\n" % c
    out.write(b"commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s"
              % (t + c * 60, len(msg), msg))
    for p in change:
        out.write(b"M 100644 :%d %s\n" % (marks[p], p.encode()))
    out.write(b"\n")
out.close()
PY
git -C "$tmp/origin.git" fast-import --quiet <"$tmp/stream"
rm -f "$tmp/stream"
gen_ms=$(( ($(date +%s%N) - gen_start) / 1000000 ))
ncommits=$(git -C "$tmp/origin.git" rev-list --count main)
nfiles=$(git -C "$tmp/origin.git" ls-tree -r --name-only main | wc -l)

if [ "$transport" = http ]; then
  python3 "$root/test/integration/git-http-server.py" "$tmp" "$tmp/port" >/dev/null 2>&1 &
  httppid=$!
  for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  url="http://127.0.0.1:$(cat "$tmp/port")/origin.git"
else
  url="file://$tmp/origin.git"
fi

# the pusher: a clone that makes one commit per "changed" run
git clone -q "$tmp/origin.git" "$tmp/pusher"
push_change() { # a new image tag (unique: runs happen in subshells)
  local f="$tmp/pusher/apps/app-000/res-00.yaml"
  sed -i "s|image: \(.*\):[0-9.]*$|image: \1:2.$(date +%s%N)|" "$f"
  git -C "$tmp/pusher" commit -qam "bench change" && git -C "$tmp/pusher" push -q origin main
}

# by hand: a working copy, cloned once
git clone -q "$url" "$tmp/wc"
by_hand() { # PATH
  git -C "$tmp/wc" fetch -q origin main && git -C "$tmp/wc" reset -q --hard FETCH_HEAD &&
    "$kubectl" kustomize "$tmp/wc/$1" >/dev/null
}
with_gitsync() { # PATH
  "$gitsync" app manifests --repo "$url" --path "$1" --revision main >/dev/null
}

# both must work, and agree on what they render, before anything is timed
for p in apps/app-000 all; do
  g=$("$gitsync" app manifests --repo "$url" --path "$p" --revision main | grep -c '^kind:')
  k=$("$kubectl" kustomize "$tmp/wc/$p" | grep -c '^kind:')
  [ "$g" = "$k" ] || { echo "bench-git.sh: $p: gitsync renders $g objects, kubectl $k" >&2; exit 1; }
done

# wall and CPU (user + sys, children included: git, kubectl) of one run, in
# ms; CPU shows the work when the machine is busy and wall time mostly
# measures the wait for a core
TIMEFORMAT='%R %U %S'
one_run() { # FUNC PATH -> "wall_ms cpu_ms"
  local t
  t=$( { time "$1" "$2" >/dev/null; } 2>&1 )
  awk '{ printf "%.0f %.0f\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
time_runs() { # changed|unchanged FUNC PATH -> "median_wall_ms median_cpu_ms"
  local mode="$1" fn="$2" path="$3" i
  : >"$tmp/times"
  for ((i = 0; i < runs; i++)); do
    if [ "$mode" = changed ]; then push_change; fi
    one_run "$fn" "$path" >>"$tmp/times"
  done
  echo "$(cut -d' ' -f1 "$tmp/times" | median) $(cut -d' ' -f2 "$tmp/times" | median)"
}

printf 'repository: %s commits, %s files (generated in %d ms with git fast-import), %s, median of %d runs\n\n' \
  "$ncommits" "$nfiles" "$gen_ms" "$transport" "$runs"
printf '%-10s %-13s %7s %11s %15s %8s %11s %15s\n' revision path objects gitsync_ms git+kubectl_ms speedup \
  gitsync_cpu git+kubectl_cpu
for mode in unchanged changed; do
  for p in apps/app-000 all; do
    objs=$("$kubectl" kustomize "$tmp/wc/$p" | grep -c '^kind:')
    read -r g gc < <(time_runs "$mode" with_gitsync "$p")
    read -r k kc < <(time_runs "$mode" by_hand "$p")
    printf '%-10s %-13s %7s %11s %15s %7.1fx %11s %15s\n' "$mode" "$p" "$objs" "$g" "$k" \
      "$(echo "$k / $g" | bc -l)" "$gc" "$kc"
  done
done
printf '\ngitsync: `gitsync app manifests --repo URL --path P --revision main` (ls-remote, fetch when\n'
printf 'the commit is new, export of the commit with unchanged files hard-linked from the previous\n'
printf 'export, render); by hand: `git fetch` + `git reset --hard` in a working copy + `kubectl\n'
printf 'kustomize P`.\n'
