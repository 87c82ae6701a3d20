#!/usr/bin/env bash
# Functions the C sources must not call (git's banned.h, for the same
# reasons).  One TAP line per function, naming every call found.
#   strcpy strcat strncpy strncat    no bound, or a bound that may leave the
#                                    string unterminated: use gs_buf or snprintf
#   sprintf vsprintf                 unbounded: snprintf, gs_buf_printf, gs_asprintf
#   gets                             unbounded by design
#   strtok                           hidden state, not thread-safe (the agent has
#                                    threads): strtok_r or a manual split
#   gmtime localtime ctime asctime   static result buffers shared by threads:
#                                    the *_r forms, gs_time_rfc3339
#   atoi atol                        no error detection: strtol/strtoll + checks
#   rand srand                       hidden global state, weak: RAND_bytes, rand_r
#   system popen                     a shell parses the command (injection):
#                                    fork/exec with an argument vector
#   tmpnam tempnam mktemp            name races: mkstemp, mkdtemp
#   alloca                           unbounded stack use
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$root" || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../integration/tap-lib.sh
. "$root/test/integration/tap-lib.sh"

dirs=(agent manifests-engine kustomize-lite)
for fn in strcpy strcat strncpy strncat sprintf vsprintf gets strtok gmtime localtime ctime \
          asctime atoi atol rand srand system popen tmpnam tempnam mktemp alloca; do
  # a call: the name as a word followed by "(", outside // and /* */ comment lines
  run grep -rnE --include='*.c' --include='*.h' "(^|[^[:alnum:]_.>])${fn}[[:space:]]*\(" "${dirs[@]}"
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' "$last" >"$tmp/calls"
  cp "$tmp/calls" "$last"
  check "no call of $fn()" eval '[ ! -s "$tmp/calls" ]'
done
tap_plan
[ "$failed" -eq 0 ]
