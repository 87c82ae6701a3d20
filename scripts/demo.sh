#!/usr/bin/env bash
# README command 1: set up and run gitsync's main job on the embedded default.
#
# Builds gitsync, then renders the bundled example (examples/monsterstack prod
# overlay, or the shared corpus copy) with `gitsync render`.  When the test
# cluster binaries are available it goes further: see scripts/quickstart.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[0m'; else B=; G=; R=; fi
say() { printf '%s==> %s%s\n' "$B" "$*" "$R"; }

say "installing dependencies"
bash scripts/setup-deps.sh
say "building"
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
gitsync="$root/build/agent/gitsync"

if [ -x scripts/quickstart.sh ] && [ "${GS_DEMO_RENDER_ONLY:-0}" != 1 ]; then
  exec scripts/quickstart.sh
fi

example="$root/examples/monsterstack/k8s/prod"
[ -d "$example" ] || example="$root/../shared/corpus/repos/monsterstack/k8s/prod"
say "rendering $example"
"$gitsync" render "$example"
printf '%s%s%s\n' "$G" "rendered OK" "$R"
