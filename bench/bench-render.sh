#!/usr/bin/env bash
# `gitsync render` next to `kubectl kustomize` on real kustomizations:
# median wall time of RUNS runs each (hyperfine when installed, else a
# loop), the median ratio, and peak RSS (/usr/bin/time -v) of one run each.
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

# median wall time in milliseconds of RUNS runs of "$@" (output discarded)
median_ms() {
  local i t0 t1 times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" \
    '{ a[NR] = $1 } END { printf "%.2f", a[int((n + 1) / 2)] / 1000 }'
}

# "peak_kb cpu_ms" of one run: CPU time shows the work when the machine is
# busy and wall time mostly measures the wait for a core
peak_kb_cpu() {
  /usr/bin/time -f '%M %U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{ printf "%s %.0f\n", $1, ($2 + $3) * 1000 }'
}

printf '%-28s %11s %11s %8s %9s %9s %11s %11s %8s\n' target gitsync_ms kubectl_ms speedup \
  g_cpu_ms k_cpu_ms gitsync_kb kubectl_kb rss_ratio
for t in "${targets[@]}"; do
  dir="$repos/$t"
  [ -d "$dir" ] || { echo "skip $t (missing)"; continue; }
  # both must succeed before timing them
  "$gitsync" render "$dir" >/dev/null
  "$kubectl" kustomize "$dir" >/dev/null
  if command -v hyperfine >/dev/null; then
    hyperfine -N -r "$runs" --export-json /tmp/bench-render.$$.json \
      "$gitsync render $dir" "$kubectl kustomize $dir" >/dev/null
    g=$(python3 -c "import json;d=json.load(open('/tmp/bench-render.$$.json'));print('%.2f'%(d['results'][0]['median']*1000))")
    k=$(python3 -c "import json;d=json.load(open('/tmp/bench-render.$$.json'));print('%.2f'%(d['results'][1]['median']*1000))")
    rm -f /tmp/bench-render.$$.json
  else
    g=$(median_ms "$gitsync" render "$dir")
    k=$(median_ms "$kubectl" kustomize "$dir")
  fi
  read -r gr gc < <(peak_kb_cpu "$gitsync" render "$dir")
  read -r kr kc < <(peak_kb_cpu "$kubectl" kustomize "$dir")
  printf '%-28s %11s %11s %7.1fx %9s %9s %11s %11s %7.1fx\n' "$t" "$g" "$k" \
    "$(echo "$k / $g" | bc -l)" "$gc" "$kc" "$gr" "$kr" "$(echo "$kr / $gr" | bc -l)"
done
