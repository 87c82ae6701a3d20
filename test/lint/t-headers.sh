#!/usr/bin/env bash
# Every header compiles on its own and twice in a row (include guard): a
# file that includes it first needs nothing else.  Public headers of the
# libraries (manifests-engine/include, kustomize-lite/include) and the
# agent's module headers.  One TAP line per header.
#   Env: CC (default cc), GS_HEADER_CFLAGS (extra flags).
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$root" || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../integration/tap-lib.sh
. "$root/test/integration/tap-lib.sh"
read -ra cc <<<"${CC:-cc}" # may be "ccache cc"
command -v "${cc[0]}" >/dev/null || { echo "1..0 # SKIP no C compiler (${cc[*]})"; exit 0; }
# shellcheck disable=SC2207  # flags are words
deps=($(pkg-config --cflags libcjson yaml-0.1 libcurl libgit2 libmicrohttpd openssl 2>/dev/null))
flags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-function -fsyntax-only
       -Imanifests-engine/include -Ikustomize-lite/include -Iagent "${deps[@]}")
# shellcheck disable=SC2206  # extra flags are words
[ -n "${GS_HEADER_CFLAGS:-}" ] && flags+=(${GS_HEADER_CFLAGS})

for h in manifests-engine/include/*.h kustomize-lite/include/*.h agent/*/*.h; do
  case "$h" in
    manifests-engine/include/*) inc="${h#manifests-engine/include/}" ;;
    kustomize-lite/include/*) inc="${h#kustomize-lite/include/}" ;;
    agent/*) inc="${h#agent/}" ;;
  esac
  printf '#include "%s"\n#include "%s"\n' "$inc" "$inc" >"$tmp/t.c"
  run "${cc[@]}" "${flags[@]}" "$tmp/t.c"
  check "$h compiles alone" rc_is 0
done
tap_plan
[ "$failed" -eq 0 ]
