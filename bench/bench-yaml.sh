#!/usr/bin/env bash
# Throughput of mf_yaml_parse / mf_yaml_emit on the largest kube-prometheus
# manifests, next to a bare libyaml event parse of the same bytes (the
# ceiling: what any libyaml-based parser must pay before building anything).
#
# Usage: bench/bench-yaml.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR defaults to build/ (must contain bench/bench-yaml; an
#   optimised build gives meaningful figures), RUNS to 9.  GS_SHARED defaults
#   to ../shared next to the repository.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
runs="${2:-9}"
shared="${GS_SHARED:-$root/../shared}"
corpus="$shared/corpus/repos/kube-prometheus"
bin="$build/bench/bench-yaml"

[ -x "$bin" ] || { echo "bench-yaml.sh: $bin not built (ninja -C $build bench/bench-yaml)" >&2; exit 1; }
[ -d "$corpus" ] || { echo "bench-yaml.sh: $corpus missing" >&2; exit 1; }

# the five largest YAML files, biggest first
mapfile -t files < <(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' \) -printf '%s %p\n' \
  | sort -rn | head -5 | cut -d' ' -f2-)

echo "== largest file alone: ${files[0]#"$shared/"}"
"$bin" -n "$runs" "${files[0]}"
echo
echo "== five largest files as one stream:"
printf '   %s\n' "${files[@]#"$shared/"}"
"$bin" -n "$runs" "${files[@]}"
