#!/usr/bin/env bash
# Rendering one chart (issue 18): `helm template` alone, against gitsync's
# helm path (agent/helm: confined child, private home, memo) without and
# with the memo.  N renders each (default 20):
#   helm_template_ms      `helm template` run directly, per render
#   gitsync_nomemo_ms     helm_template with the memo off, per render
#                         (one runner, N helm runs: the runner's overhead)
#   gitsync_memo_ms       helm_template with the memo, per render (one helm
#                         run, then N-1 answers from the memo: an unchanged
#                         app)
#   gitsync_memo_hit_ms   the memo's answer alone, timed inside the process
#                         (hashing the chart and values, looking up)
# The chart: CHART_DIR (with its chart/ and case flags) if given, else the
# shared corpus's ingress-nginx (../shared/corpus/helm/02-ingress-nginx)
# when present, else `helm create`'s starter chart.
#
# Usage: bench/bench-helm.sh [BUILD_DIR]      (env N, GITSYNC_HELM)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)" # absolute: the benches cd
N="${N:-20}"
tool="$build/test/integration/helm-template-tool"
[ -x "$tool" ] || { echo "bench-helm.sh: $tool not built (ninja -C $build)" >&2; exit 1; }
if [ -z "${GITSYNC_HELM:-}" ]; then
  for h in "$HOME"/.cache/gitsync/helm/*/helm; do [ -x "$h" ] && GITSYNC_HELM="$h"; done
  [ -n "${GITSYNC_HELM:-}" ] || GITSYNC_HELM="$(command -v helm || true)"
fi
[ -x "${GITSYNC_HELM:-}" ] || { echo "bench-helm.sh: no helm (scripts/get-helm.sh)" >&2; exit 1; }
export GITSYNC_HELM
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
shared="$root/../shared/corpus/helm/02-ingress-nginx"
if [ -n "${CHART_DIR:-}" ]; then
  dir="$CHART_DIR"; name=bench
elif [ -d "$shared/chart" ]; then
  dir="$shared"; name=ingress-nginx
else
  dir="$tmp"; name=starter
  (cd "$tmp" && "$GITSYNC_HELM" create chart >/dev/null)
fi
args=(--namespace bench --kube-version 1.30.0)
cd "$dir"

now_ms() { date +%s%3N; }
t0=$(now_ms)
for _ in $(seq "$N"); do "$GITSYNC_HELM" template "$name" chart "${args[@]}" >/dev/null; done
t1=$(now_ms)
"$tool" --repeat "$N" --no-memo "$name" chart "${args[@]}" >/dev/null 2>"$tmp/nomemo"
t2=$(now_ms)
t3=$(now_ms)
"$tool" --repeat "$N" "$name" chart "${args[@]}" >/dev/null 2>"$tmp/memo"
t4=$(now_ms)
# the outputs are the same bytes
"$GITSYNC_HELM" template "$name" chart "${args[@]}" >"$tmp/a"
"$tool" "$name" chart "${args[@]}" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" && same=yes || same=no

hit="$(sed -n 's/.*rest_ms \([0-9.]*\).*/\1/p' "$tmp/memo")"
awk -v n="$N" -v a="$((t1 - t0))" -v b="$((t2 - t1))" -v hit="$hit" -v c="$((t4 - t3))" \
    -v chart="$name" -v same="$same" 'BEGIN {
  printf "chart %s\nrenders %d\n", chart, n
  printf "helm_template_ms %.1f\n", a / n
  printf "gitsync_nomemo_ms %.1f\n", b / n
  printf "gitsync_memo_ms %.1f\n", c / n
  if (n > 1) printf "gitsync_memo_hit_ms %.2f\n", hit
  printf "output_identical %s\n", same
}'
sed 's/^/# no memo: /' "$tmp/nomemo" >&2
sed 's/^/# memo: /' "$tmp/memo" >&2
