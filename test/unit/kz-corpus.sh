#!/usr/bin/env bash
# The shared kustomize conformance corpus through `gitsync render` of this
# build, so that under the ASan+UBSan build (scripts/test.sh runs the unit
# suite there) every case runs sanitized.  Fails on any sanitizer report or
# crash (also in error cases, which run.sh counts as passed when the exit is
# non-zero) and on any case differing from kubectl kustomize.
# SKIPs without ../shared or python3-yaml.  TAP output.
set -u
gitsync="${GITSYNC:?GITSYNC must point at the gitsync binary}"
shared="${GS_SHARED:-}"
run="$shared/corpus/kustomize/run.sh"
echo "1..2"
if [ -z "$shared" ] || [ ! -x "$run" ] || ! python3 -c 'import yaml' 2>/dev/null; then
  echo "ok 1 # SKIP shared kustomize corpus or python3-yaml not available"
  echo "ok 2 # SKIP shared kustomize corpus or python3-yaml not available"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# exit 1 is gitsync's error; anything else (signal, sanitizer exit code) is a crash
cat >"$tmp/wrap" <<WRAP
#!/bin/sh
"$gitsync" render --root "$shared/corpus/kustomize/cases" "\$@"
rc=\$?
[ \$rc -le 1 ] || echo "\$*: exit \$rc" >>"$tmp/crashes"
exit \$rc
WRAP
chmod +x "$tmp/wrap"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86:log_path=$tmp/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=86:log_path=$tmp/ubsan"
"$run" "$tmp/wrap" >"$tmp/out" 2>&1
summary="$(tail -1 "$tmp/out")"
reports="$(cat "$tmp"/asan.* "$tmp"/ubsan.* "$tmp/crashes" 2>/dev/null | head -40)"
if [ -z "$reports" ]; then
  echo "ok 1 - no crash and no sanitizer report over the corpus ($summary)"
else
  echo "not ok 1 - crash or sanitizer report over the corpus"
  printf '%s\n' "$reports" | sed 's/^/# /'
fi
case "$summary" in
  *" passed, 0 failed") echo "ok 2 - every corpus case as kubectl kustomize: $summary" ;;
  *) echo "not ok 2 - corpus cases differ from kubectl kustomize: $summary"
     grep '^FAIL' "$tmp/out" | head -30 | sed 's/^/# /' ;;
esac
