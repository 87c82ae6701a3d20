#!/usr/bin/env bash
# Regenerate the expected output of every case with the real kubectl (the
# oracle: kubectl v1.35 / kustomize v5.7.1, installed by scripts/get-kubectl.sh).
# A case is a directory holding `entry` (the directory to build, relative to
# the case); kubectl's stdout becomes expected.yaml, or its stderr
# expected-error.txt when it fails.  Run it on request; the tests compare
# against the committed files.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kubectl="${KUBECTL:-$("$here/../../../scripts/get-kubectl.sh")}"
for c in "$here"/*/; do
  c="${c%/}"
  [ -f "$c/entry" ] || continue
  rm -f "$c/expected.yaml" "$c/expected-error.txt"
  if out="$(cd "$c" && "$kubectl" kustomize "$(cat entry)" 2>"$c/.err")"; then
    printf '%s\n' "$out" > "$c/expected.yaml"
  else
    sed "s|$c|<CASE>|g" "$c/.err" > "$c/expected-error.txt"
  fi
  rm -f "$c/.err"
  echo "$(basename "$c"): $([ -f "$c/expected.yaml" ] && echo ok || echo error)"
done
