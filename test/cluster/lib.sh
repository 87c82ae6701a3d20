# shellcheck shell=bash
# Shared settings of test/cluster/{setup,start,stop}.  Sourced, not run.
# The binaries are keyed by the Debian source package version so that a
# security update of the package gives a new cache directory, never a
# silently different binary under an old name.
GS_KUBE_PKG="${GS_KUBE_PKG:-kubernetes}"
GS_KUBE_PKGVER="${GS_KUBE_PKGVER:-1.20.5+really1.20.2-1.1+deb12u1}"
GS_KUBE_VERSION="${GS_KUBE_VERSION:-v1.20.2}"
# Upstream commit of the v1.20.2 tag, reported by /version like upstream's builds.
GS_KUBE_COMMIT="${GS_KUBE_COMMIT:-faecb196815e248d3ecfb03c680a4507229c2a56}"
GS_TESTENV_CACHE="${GS_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitsync/testenv}"

# gs_testenv_bin: print the directory holding kube-apiserver,
# kube-controller-manager and etcd, or fail.  GS_TESTENV_BIN overrides.
gs_testenv_bin() {
  local d
  local cur=""
  # "current": the version setup last built, when the pinned one had left the archive.
  [ -f "$GS_TESTENV_CACHE/current" ] && cur="$GS_TESTENV_CACHE/$(cat "$GS_TESTENV_CACHE/current")/bin"
  for d in "${GS_TESTENV_BIN:-}" "$GS_TESTENV_CACHE/$GS_KUBE_PKGVER/bin" "$cur"; do
    [ -n "$d" ] || continue
    if [ -x "$d/kube-apiserver" ] && [ -x "$d/kube-controller-manager" ] && [ -x "$d/etcd" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}
