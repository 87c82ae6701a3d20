#!/usr/bin/env bash
# README command 1, run as a newcomer would but non-interactively: the output
# must show every app Synced and Healthy, the pushed commit deployed through
# the webhook, no colour codes (not a terminal), and nothing may be left
# behind: no process mentioning its temporary directory, no directory.
# Skips when the test cluster binaries are not built (test/cluster/setup).
set -uo pipefail
src="${GS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
gitsync="${GITSYNC:-$src/build/agent/gitsync}"

# shellcheck source=../cluster/lib.sh
. "$src/test/cluster/lib.sh"
if ! gs_testenv_bin >/dev/null; then
  echo "1..0 # SKIP test cluster binaries absent (run test/cluster/setup)"
  exit 0
fi
for t in git python3 openssl curl; do
  command -v "$t" >/dev/null || { echo "1..0 # SKIP $t missing"; exit 0; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp"
out="$work/out.log"

# shellcheck source=tap-lib.sh
. "$src/test/integration/tap-lib.sh"

echo "1..12"
# GITSYNC: use the binary under test instead of installing and building again.
GITSYNC="$gitsync" TMPDIR="$work/tmp" TERM=dumb "$src/scripts/demo.sh" </dev/null >"$out" 2>&1
rc=$?
check "README command 1 exits 0 (got $rc)" [ "$rc" = 0 ]
if [ "$rc" != 0 ]; then sed 's/^/# /' "$out" | tail -n 40; fi

deployed="$(sed -n 's/^ *quickstart: deployed \([0-9a-f]\{40\}\) .*/\1/p' "$out")"
check "the pushed commit is reported deployed" [ -n "$deployed" ]
short="${deployed:0:7}"
for app in monsterstack-dev monsterstack-prod postgres-operator; do
  check "$app Synced and Healthy at the new commit" \
    grep -qE "^ *quickstart: app $app Synced Healthy ${short:-none}\$" "$out"
done
check "the frontend runs the new image tag" grep -qE '^ *quickstart: deployed [0-9a-f]{40} \(frontend[^ ]* runs [^ ]+:1\.[12]\)$' "$out"
check "the signed webhook was accepted (HTTP 200, apps matched)" grep -qE '^ *answer: 200 \{"matched":[1-9]' "$out"
check "a webhook with a wrong signature is refused (HTTP 401)" grep -qE '^ *answer: 401 ' "$out"
check "app history lists both revisions" \
  bash -c "grep -A3 '^ID ' '$out' | grep -c ' main ' | grep -qx 2"
check "output has no colour codes when not on a terminal" bash -c "! grep -q $'\e\\[' '$out'"

# Nothing left behind: every process the quickstart starts (cluster, node
# simulator, Git server, agent) carries its temporary directory in argv.
left=""
for f in /proc/[0-9]*/cmdline; do
  if tr '\0' ' ' 2>/dev/null <"$f" | grep -qF "$work/tmp/"; then
    left="$left ${f//[^0-9]/}"
  fi
done
check "no process left behind${left:+ (left:$left)}" [ -z "$left" ]
check "temporary directory removed" bash -c "[ -z \"\$(ls -A '$work/tmp')\" ]"
[ "$failed" = 0 ] || { echo "# output:"; sed 's/^/#   /' "$out" | tail -n 60; }
exit 0
