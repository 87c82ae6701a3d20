#!/usr/bin/env bash
# Install the Debian packages gitsync's build and tests need.  Idempotent:
# does nothing when every package is already installed.  Needs root (or sudo).
set -euo pipefail
pkgs=(
  build-essential meson ninja-build pkg-config clang
  libgit2-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libmicrohttpd-dev libssl-dev
  libpcre2-dev  # kustomize target regexes with match limits
  libcmocka-dev shellcheck
  liblua5.1-0-dev  # users' Lua health checks (agent/health)
  docker-registry  # an OCI registry on loopback for the Helm OCI chart test (t-helm-repo)
  libjq-dev  # ignoreDifferences jqPathExpressions (agent/sync)
  python3 python3-yaml python3-prometheus-client git curl unzip openssl ca-certificates
  # test/cluster/setup builds kube-apiserver/controller-manager from Debian source
  golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev etcd-server
)
# node/npm may come from outside Debian (the machine image ships its own).
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
