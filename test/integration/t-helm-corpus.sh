#!/usr/bin/env bash
# The shared Helm chart corpus (../shared/corpus/helm: real public charts
# with `helm template` outputs) rendered through gitsync's helm path
# (agent/helm, by helm-template-tool) and compared by the corpus's own
# run.sh: every rendering must equal helm's.  SKIPs without ../shared,
# without helm, or without python3-yaml.  TAP output.
set -u
src="${GS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
shared="${GS_SHARED:-$src/../shared}"
tool="${GS_HELM_TOOL:-${GS_BUILD:-$src/build}/test/integration/helm-template-tool}"
run_sh="$shared/corpus/helm/run.sh"
# shellcheck source=tap-lib.sh
. "$src/test/integration/tap-lib.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# helm: $GITSYNC_HELM, else the cached download (scripts/get-helm.sh), else PATH
if [ -z "${GITSYNC_HELM:-}" ]; then
  for h in "$HOME"/.cache/gitsync/helm/*/helm; do
    [ -x "$h" ] && GITSYNC_HELM="$h"
  done
  [ -n "${GITSYNC_HELM:-}" ] || GITSYNC_HELM="$(command -v helm || true)"
fi
export GITSYNC_HELM

if [ ! -x "$run_sh" ]; then
  skip "chart corpus renders as helm template" "no shared corpus at $shared/corpus/helm"
elif [ -z "$GITSYNC_HELM" ] || [ ! -x "$GITSYNC_HELM" ]; then
  skip "chart corpus renders as helm template" "helm not available (scripts/get-helm.sh)"
elif ! python3 -c 'import yaml' 2>/dev/null; then
  skip "chart corpus renders as helm template" "python3-yaml not installed"
elif [ ! -x "$tool" ]; then
  not_ok "chart corpus renders as helm template"
  diag "helm-template-tool not built: $tool"
else
  "$run_sh" "$tool" >"$tmp/out" 2>&1
  summary="$(tail -1 "$tmp/out")"
  case "$summary" in
    *" passed, 0 failed") ok "chart corpus renders as helm template: $summary" ;;
    *) not_ok "chart corpus renders as helm template: $summary"
       grep '^FAIL' "$tmp/out" | head -30 | sed 's/^/# /' ;;
  esac
fi
tap_plan
[ "$failed" -eq 0 ]
