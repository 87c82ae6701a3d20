#!/usr/bin/env bash
# The build's layout rules, one TAP line each:
#  - every C file of a part is in its meson.build source list (the lists are
#    explicit, so a forgotten file would silently not be built);
#  - no module includes another module's private header (*-private.h):
#    kube/kube-private.h is kube's, gitsrc/gitsrc-private.h gitsrc's (unit
#    tests of that module may).  The agent shares one include root, so this
#    check is what keeps them private.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$root" || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../integration/tap-lib.sh
. "$root/test/integration/tap-lib.sh"

for part in manifests-engine kustomize-lite agent; do
  : >"$tmp/out"
  for f in "$part"/*/*.c; do
    rel="${f#"$part"/}"
    [ "$rel" = cli/main.c ] && continue # the binaries' own target
    grep -qF "'$rel'" "$part/meson.build" || echo "$f is not in $part/meson.build" >>"$tmp/out"
  done
  last="$tmp/out"
  check "$part/meson.build lists every source file" eval '[ ! -s "$tmp/out" ]'
done

for hdr in agent/*/*-private.h; do
  mod="$(basename "$(dirname "$hdr")")"
  inc="$mod/$(basename "$hdr")"
  grep -rlF "\"$inc\"" agent test/unit | while read -r f; do
    case "$f" in
      agent/"$mod"/*|test/unit/test-"$mod"*) ;;
      *) echo "$f" ;;
    esac
  done >"$tmp/out"
  last="$tmp/out"
  check "only $mod/ (and its unit tests) include $inc" eval '[ ! -s "$tmp/out" ]'
done
tap_plan
[ "$failed" -eq 0 ]
