#!/usr/bin/env bash
# README command 1: set up and run gitsync's main job on the embedded default.
#
# Builds gitsync, then runs scripts/quickstart.sh (test cluster, Git server,
# Applications, agent, webhook; arguments are passed on, e.g. --keep).  Without
# quickstart.sh, or with GS_DEMO_RENDER_ONLY=1, it renders the bundled example
# (the examples/monsterstack prod overlay) instead.
# Env: GITSYNC (a built binary: skip install and build), GS_BUILD_DIR (default build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[0m'; else B=; G=; R=; fi
say() { printf '%s==> %s%s\n' "$B" "$*" "$R"; }

if [ -n "${GITSYNC:-}" ] && [ -x "${GITSYNC}" ]; then
  # an already built binary (tests pass theirs): no install, no build
  gitsync="$(cd "$(dirname "$GITSYNC")" && pwd)/$(basename "$GITSYNC")"
else
  say "installing dependencies"
  bash scripts/setup-deps.sh
  bdir="${GS_BUILD_DIR:-build}"
  say "building"
  [ -d "$bdir" ] || meson setup "$bdir" >/dev/null
  ninja -C "$bdir" agent/gitsync >/dev/null   # the binary only: tests build with scripts/test.sh
  gitsync="$(cd "$bdir" && pwd)/agent/gitsync"
fi

# The full story (cluster, Git server, apps, agent, webhook): scripts/quickstart.sh.
# GS_DEMO_RENDER_ONLY=1 keeps to rendering (quickstart.sh falls back to it
# when the test cluster cannot be built).
if [ -x scripts/quickstart.sh ] && [ "${GS_DEMO_RENDER_ONLY:-0}" != 1 ]; then
  GITSYNC="$gitsync" exec scripts/quickstart.sh "$@"
fi

example="$root/examples/monsterstack/k8s/prod"
say "rendering $example"
"$gitsync" render "$example"
printf '%s%s%s\n' "$G" "rendered OK" "$R"
