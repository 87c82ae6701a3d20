# shellcheck shell=bash
# TAP helpers shared by the integration scripts.  Source it after setting
# $tmp (a scratch directory): run() captures a command's output in $tmp/out,
# and check() prints its tail as a diagnostic when a check fails.
#   ok/not_ok DESC, diag TEXT, check DESC CMD..., run CMD... (sets $rc),
#   out_has/out_lacks REGEX, rc_is N, count REGEX.  $n and $failed count.
n=0
failed=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag()   { sed 's/^/# /' <<<"$*"; }
check() {
  local desc="$1"; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; diag "$(tail -c "${TAP_DIAG_BYTES:-2000}" "$tmp/out" 2>/dev/null)"; fi
}
run() { "$@" >"$tmp/out" 2>&1; rc=$?; }
out_has() { grep -qE -- "$1" "$tmp/out"; }
out_lacks() { ! grep -qE -- "$1" "$tmp/out"; }
rc_is() { [ "$rc" -eq "$1" ]; }
count() { grep -cE -- "$1" "$tmp/out"; }
