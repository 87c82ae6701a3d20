#!/usr/bin/env bash
# `gitsync render` next to `kubectl kustomize` on real kustomizations: for
# each tool the median wall time, the median CPU time (user + system) and the
# median peak RSS of RUNS runs, and the ratios.  CPU time is the figure to
# trust on a busy machine: wall time then mostly measures the wait for a core.
# Wall and CPU come from wait4()'s rusage (microsecond CPU times:
# /usr/bin/time's 10 ms steps cannot see a 2 ms render).
#
# Usage: bench/bench-render.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR defaults to build/ (an optimised build gives meaningful
#   figures), RUNS to 11.  KUBECTL overrides the oracle (default: what
#   scripts/get-kubectl.sh installs).  GS_SHARED defaults to ../shared.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
runs="${2:-11}"
shared="${GS_SHARED:-$root/../shared}"
gitsync="$build/agent/gitsync"
kubectl="${KUBECTL:-$("$root/scripts/get-kubectl.sh")}"
repos="$shared/corpus/repos"
targets=(kube-prometheus postgres-operator/manifests monsterstack/k8s/prod)

[ -x "$gitsync" ] || { echo "bench-render.sh: $gitsync not built" >&2; exit 1; }
[ -x "$kubectl" ] || { echo "bench-render.sh: kubectl not found" >&2; exit 1; }

# "wall_ms cpu_ms rss_kb": medians over RUNS runs of "$@", output discarded.
# Peak RSS comes from /usr/bin/time (a small C program): a child forked from
# python would report python's RSS as its peak, since ru_maxrss counts the
# pages held before exec.
measure() {
  python3 - "$runs" "$@" <<'PY'
import os, subprocess, sys, tempfile, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
wall, cpu, rss = [], [], []
fd, tmp = tempfile.mkstemp()
os.close(fd)
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall.append((time.perf_counter() - t0) * 1000)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench-render.sh: %s failed" % " ".join(cmd))
    cpu.append((ru.ru_utime + ru.ru_stime) * 1000)
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tmp] + cmd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rss.append(int(open(tmp).read().split()[-1]))
os.unlink(tmp)
med = lambda v: sorted(v)[len(v) // 2]
print("%.2f %.2f %d" % (med(wall), med(cpu), med(rss)))
PY
}

printf '%-28s %10s %10s %7s %9s %9s %7s %9s %9s %7s\n' target g_wall_ms k_wall_ms wall_x \
  g_cpu_ms k_cpu_ms cpu_x g_rss_kb k_rss_kb rss_x
for t in "${targets[@]}"; do
  dir="$repos/$t"
  [ -d "$dir" ] || { echo "skip $t (missing)"; continue; }
  # both must succeed before they are timed
  "$gitsync" render "$dir" >/dev/null
  "$kubectl" kustomize "$dir" >/dev/null 2>&1
  read -r gw gc gr < <(measure "$gitsync" render "$dir")
  read -r kw kc kr < <(measure "$kubectl" kustomize "$dir")
  printf '%-28s %10s %10s %6.1fx %9s %9s %6.1fx %9s %9s %6.1fx\n' "$t" "$gw" "$kw" \
    "$(echo "$kw / $gw" | bc -l)" "$gc" "$kc" "$(echo "$kc / $gc" | bc -l)" \
    "$gr" "$kr" "$(echo "$kr / $gr" | bc -l)"
done
