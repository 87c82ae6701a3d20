# shellcheck shell=bash
# tap-lib.sh - the TAP helpers of every shell test: the integration scripts
# (test/integration/t-*.sh) and the reliability scenarios (test/reliability/
# lib.sh sources it).  Sourced, not run.  Set $tmp (a scratch directory)
# first: run() keeps a command's output in $tmp/out ($last, which a suite may
# point elsewhere), and check() prints its tail when a check fails.
#
#   ok DESC, not_ok DESC, skip DESC REASON, todo DESC REASON   one TAP line each
#   diag TEXT                  "# "-prefixed lines
#   run CMD...                 output to $last, status to $rc
#   check DESC CMD...          ok when CMD succeeds, else not ok + tail of $last
#   known DESC REASON CMD...   a check for a known bug: ok, or TODO with REASON
#   out_has/out_lacks REGEX, count REGEX (on $last), rc_is N
#   tap_plan                   the trailing "1..N" plan
# $n is the number of the last line, $failed the number of failures.
#
# Hooks, for a suite whose scenarios run as separate processes (reliability):
#   TAP_COUNTER_FILE  a file holding the number of the last line, shared by
#                     every process of the run (default: $n in this shell)
#   TAP_PREFIX        put before each description, e.g. "[s-git] "
#   TAP_DIAG_BYTES    how much of $last a failed check shows (default 2000)
#   tap_result STATUS DESC [EXTRA]  when defined, called after each line with
#                     STATUS pass|fail|skip|todo (EXTRA: ok/not_ok's 2nd arg)
n=0
failed=0
rc=0

_tap_next() {
  if [ -n "${TAP_COUNTER_FILE:-}" ]; then
    n=$(( $(cat "$TAP_COUNTER_FILE" 2>/dev/null || echo 0) + 1 ))
    echo "$n" >"$TAP_COUNTER_FILE"
  else
    n=$((n + 1))
  fi
}
_tap_hook() {
  if declare -F tap_result >/dev/null; then tap_result "$@"; fi
  return 0
}
ok()     { _tap_next; echo "ok $n - ${TAP_PREFIX:-}$1"; _tap_hook pass "$1" "${2:-}"; }
not_ok() {
  _tap_next; failed=$((failed + 1))
  echo "not ok $n - ${TAP_PREFIX:-}$1"; _tap_hook fail "$1" "${2:-}"
}
skip()   { _tap_next; echo "ok $n - ${TAP_PREFIX:-}$1 # SKIP ${2:-}"; _tap_hook skip "$1" "${2:-}"; }
todo()   { _tap_next; echo "not ok $n - ${TAP_PREFIX:-}$1 # TODO $2"; _tap_hook todo "$1" "$2"; }
diag()   { sed 's/^/# /' <<<"$*"; }
tap_plan() { echo "1..$n"; }

run() { last="$tmp/out"; "$@" >"$last" 2>&1; rc=$?; }
check() {
  local desc="$1" f="${last:-${tmp:-}/out}"; shift
  if "$@"; then
    ok "$desc"
  else
    not_ok "$desc"
    if [ -s "$f" ]; then diag "$(tail -c "${TAP_DIAG_BYTES:-2000}" "$f")"; fi
  fi
}
known() {
  local desc="$1" why="$2"; shift 2
  if "$@"; then ok "$desc"; else todo "$desc" "$why"; fi
}
out_has() { grep -qE -- "$1" "${last:-${tmp:-}/out}"; }
out_lacks() { ! grep -qE -- "$1" "${last:-${tmp:-}/out}"; }
count() { grep -cE -- "$1" "${last:-${tmp:-}/out}"; }
rc_is() { [ "$rc" -eq "$1" ]; }
