#!/usr/bin/env bash
# `gitsync render` of a large tree: 10,000 and 100,000 files, wall time,
# CPU time and peak RSS, to show that the work is linear in the number of
# files (it was quadratic: 100,000 files took 45 s).  Two trees per size:
# plain manifests (one ConfigMap per file, in directories of 1,000) and a
# kustomization listing every file.  The kustomization is rendered by
# `kubectl kustomize` too, side by side, when a kubectl is found ($KUBECTL,
# else scripts/get-kubectl.sh's cache, else PATH; KUBECTL=none skips it),
# each run cut at KUBECTL_TIMEOUT seconds (default 900; a row says so).
#
# Usage: bench/bench-render-large.sh [BUILD_DIR] [SIZES...]
#   BUILD_DIR defaults to build/; SIZES to "10000 100000".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000 100000)
read -r -a kinds <<<"${KINDS:-plain kz}"
gitsync="$build/agent/gitsync"
[ -x "$gitsync" ] || { echo "bench-render-large.sh: $gitsync not built" >&2; exit 1; }
kubectl="${KUBECTL:-}"
if [ -z "$kubectl" ]; then
  kubectl=$(ls -d "$HOME"/.cache/gitsync/kubectl/*/kubectl 2>/dev/null | tail -1)
  [ -n "$kubectl" ] || kubectl=$(command -v kubectl || true)
fi
[ "$kubectl" = none ] && kubectl=""
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-bench-large.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# tree N KIND: N ConfigMaps in $tmp/KIND-N (plain: 1,000 per directory;
# kz: one directory and a kustomization listing every file)
tree() {
  local n="$1" kind="$2" d="$tmp/$2-$1"
  mkdir -p "$d"
  awk -v n="$n" -v d="$d" -v kind="$kind" 'BEGIN {
    for (i = 1; i <= n; i++) {
      sub_ = (kind == "plain") ? sprintf("d%03d/", int((i - 1) / 1000)) : ""
      if (kind == "plain" && (i - 1) % 1000 == 0) system("mkdir -p " d "/" sub_)
      f = d "/" sub_ "cm" i ".yaml"
      printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm%d\n  labels: {app: bench}\ndata:\n  key: value-%d\n", i, i > f
      close(f)
      if (kind == "kz") print "- cm" i ".yaml" > (d "/list")
    }
  }'
  if [ "$kind" = kz ]; then { echo "resources:"; cat "$d/list"; } >"$d/kustomization.yaml"; rm "$d/list"; fi
  echo "$d"
}

printf '%-6s %-8s %8s %10s %10s %12s %14s\n' tree tool files wall_s cpu_s peak_rss_MB us_per_file
row() { # KIND TOOL N: the last /usr/bin/time of $tmp/t
  local wall user sys rss
  read -r wall user sys rss <"$tmp/t"
  awk -v k="$1" -v t="$2" -v n="$3" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
    'BEGIN { printf "%-6s %-8s %8d %10.2f %10.2f %12.1f %14.1f\n", k, t, n, w, u + s, r / 1024, (u + s) * 1e6 / n }'
}
for kind in "${kinds[@]}"; do
  for n in "${sizes[@]}"; do
    d=$(tree "$n" "$kind")
    flags=(); [ "$kind" = plain ] && flags=(--recurse)
    # 100,000 ConfigMaps plus a 100,000-entry kustomization are about 1.1
    # million YAML nodes: above the default render budget (1,000,000), which
    # is the point of a budget (and its 60 s clock); this bench measures the
    # growth, so raise both
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$gitsync" render --max-nodes 5000000 --timeout 3600 "${flags[@]}" "$d" >"$tmp/out"
    docs=$(grep -c '^kind: ConfigMap' "$tmp/out")
    [ "$docs" = "$n" ] || { echo "bench-render-large.sh: $docs objects, want $n" >&2; exit 1; }
    row "$kind" gitsync "$n"
    if [ "$kind" = kz ] && [ -n "$kubectl" ]; then
      if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" timeout "${KUBECTL_TIMEOUT:-900}" \
        "$kubectl" kustomize "$d" >"$tmp/out"; then
        printf '%-6s %-8s %8d %10s  (did not finish within KUBECTL_TIMEOUT=%s s)\n' "$kind" kubectl "$n" - "${KUBECTL_TIMEOUT:-900}"
        rm -rf "$d" "$tmp/out"
        continue
      fi
      docs=$(grep -c '^kind: ConfigMap' "$tmp/out")
      [ "$docs" = "$n" ] || { echo "bench-render-large.sh: kubectl: $docs objects, want $n" >&2; exit 1; }
      row "$kind" kubectl "$n"
    fi
    rm -rf "$d" "$tmp/out"
  done
done
