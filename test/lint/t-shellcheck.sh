#!/usr/bin/env bash
# Every shell script of the tree passes shellcheck at severity "warning"
# (settings in .shellcheckrc: sourced libraries are followed).  One TAP line
# per script.  Skips when shellcheck is not installed (scripts/setup-deps.sh
# installs it).
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$root" || exit 1
command -v shellcheck >/dev/null || { echo "1..0 # SKIP shellcheck not installed"; exit 0; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=../integration/tap-lib.sh
. "$root/test/integration/tap-lib.sh"

# the files git tracks (a tarball without .git: every file), *.sh and
# extension-less files whose first line runs a shell
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then git ls-files; else find . -type f -not -path './build*' | sed 's|^\./||'; fi
}
files=()
while IFS= read -r f; do
  case "$f" in
    *.sh) ;;
    */*.*|*.*) continue ;;
    *) head -n1 "$f" 2>/dev/null | grep -qE '^#!.*\b(ba)?sh\b' || continue ;;
  esac
  files+=("$f")
done < <(list_files | sort)
# one run for all (a library sourced by many is read once), then a line per file
shellcheck -S warning -f gcc "${files[@]}" >"$tmp/all" 2>&1
for f in "${files[@]}"; do
  awk -v f="$f:" 'index($0, f) == 1' "$tmp/all" >"$tmp/out"
  last="$tmp/out"
  check "shellcheck $f" eval '[ ! -s "$tmp/out" ]'
done
tap_plan
[ "$failed" -eq 0 ]
