#!/usr/bin/env bash
# Remote resources in kustomizations (issue 17): `gitsync render` fetches a
# remote base (https://host/org/repo//dir?ref=TAG) from a Git server on
# 127.0.0.1 through gitsrc and prints what `kubectl kustomize` prints for the
# same kustomization; the ref is honoured; --no-remote refuses; a private
# repository needs the GITSYNC_GIT_* credentials for its host; a hostile
# remote (symlinks out, ../ out of the clone) stays confined; errors name
# the kustomization file and the entry.  TAP output.
set -u
gitsync="${GITSYNC:?GITSYNC must point at the gitsync binary}"
src="${GS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=tap-lib.sh
. "$src/test/integration/tap-lib.sh"

tmp="$(mktemp -d)"
srv_pid=""
priv_pid=""
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
  [ -n "$priv_pid" ] && kill "$priv_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
export GITSYNC_CACHE_DIR="$tmp/cache" HOME="$tmp/home"
unset GITSYNC_GIT_USERNAME GITSYNC_GIT_PASSWORD GITSYNC_GIT_HOSTS GITSYNC_GIT_SSH_KEY_FILE
mkdir -p "$HOME"
g() { git -c user.email=t@example.com -c user.name=t -c init.defaultBranch=main "$@"; }

# ---- the repositories: bases at tag v1.2.3, a newer main; a hostile one ----
mkdir -p "$tmp/git" "$tmp/private" "$tmp/w"
(
  cd "$tmp/w" && g init -q . && mkdir -p base shared file
  printf 'resources:\n- deploy.yaml\n- ../shared\nlabels:\n- pairs:\n    app: web\n  includeSelectors: true\n' >base/kustomization.yaml
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n' >base/deploy.yaml
  printf 'resources:\n- svc.yaml\n' >shared/kustomization.yaml
  printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n' >shared/svc.yaml
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f\n' >file/cm.yaml
  g add -A && g commit -qm v1 && g tag v1.2.3
  sed -i 's/1.25/1.26/' base/deploy.yaml && g commit -qam v2
) || { echo "Bail out! cannot build the test repository"; exit 1; }
g clone -q --bare "$tmp/w" "$tmp/git/bases.git"
g clone -q --bare "$tmp/w" "$tmp/private/bases.git"
(
  mkdir -p "$tmp/e" && cd "$tmp/e" && g init -q . && mkdir -p leak climb
  printf 'resources:\n- passwd.yaml\n' >leak/kustomization.yaml
  ln -s /etc/passwd leak/passwd.yaml
  printf 'resources:\n- ../../../../../../../../etc\n' >climb/kustomization.yaml
  g add -A && g commit -qm evil
) || { echo "Bail out! cannot build the hostile repository"; exit 1; }
g clone -q --bare "$tmp/e" "$tmp/git/evil.git"

py3="$(command -v python3)"
"$py3" "$src/test/integration/git-http-server.py" "$tmp/git" "$tmp/port" >/dev/null 2>&1 &
srv_pid=$!
"$py3" "$src/test/integration/git-http-server.py" "$tmp/private" "$tmp/pport" \
  --user alice --password s3cret >/dev/null 2>&1 &
priv_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && [ -s "$tmp/pport" ] && break; sleep 0.1; done
port="$(cat "$tmp/port" 2>/dev/null)"
pport="$(cat "$tmp/pport" 2>/dev/null)"
[ -n "$port" ] && [ -n "$pport" ] || { echo "Bail out! the Git servers did not start"; exit 1; }
url="http://127.0.0.1:$port/bases.git"

overlay() { # DIR ENTRY [EXTRA]
  mkdir -p "$1"
  printf 'namePrefix: prod-\nresources:\n- %s\n%s' "$2" "${3:-}" >"$1/kustomization.yaml"
}

# 1. a remote base at a tag, equal to kubectl kustomize
mkdir -p "$tmp/app"
printf 'namePrefix: prod-\nresources:\n- %s\nimages:\n- name: nginx\n  newTag: "1.27"\n' \
  "$url//base?ref=v1.2.3" >"$tmp/app/kustomization.yaml"
"$gitsync" render "$tmp/app" >"$tmp/ours" 2>"$tmp/ours.err"
rc=$?
last="$tmp/ours.err"
check "a remote base at a tag renders (exit 0)" rc_is 0
kubectl="$("$src/scripts/get-kubectl.sh" 2>/dev/null)" || kubectl=""
if [ -z "$kubectl" ]; then
  skip "output equals kubectl kustomize" "kubectl not available (scripts/get-kubectl.sh)"
else
  if "$kubectl" kustomize "$tmp/app" >"$tmp/theirs" 2>"$tmp/theirs.err"; then
    diag "kubectl fetched the remote base from the loopback server"
  else
    # kubectl could not fetch: compare with a local checkout of the same tree
    diag "kubectl could not fetch ($(head -c 300 "$tmp/theirs.err")); comparing with a checkout"
    g clone -q -b v1.2.3 "$tmp/git/bases.git" "$tmp/co" 2>/dev/null
    mkdir -p "$tmp/co/app"
    printf 'namePrefix: prod-\nresources:\n- ../base\nimages:\n- name: nginx\n  newTag: "1.27"\n' \
      >"$tmp/co/app/kustomization.yaml"
    "$kubectl" kustomize "$tmp/co/app" >"$tmp/theirs" 2>"$tmp/theirs.err"
  fi
  last="$tmp/ours"
  check "output equals kubectl kustomize byte for byte" cmp -s "$tmp/ours" "$tmp/theirs"
  [ $failed -eq 0 ] || diag "$(diff "$tmp/theirs" "$tmp/ours" | head -20)"
fi

# 2. the ref is honoured; no ref is the default branch
overlay "$tmp/tag" "$url//base?ref=v1.2.3"
run "$gitsync" render "$tmp/tag"
check "ref=v1.2.3 gives the tagged tree" out_has 'image: nginx:1.25'
overlay "$tmp/head" "$url//base"
run "$gitsync" render "$tmp/head"
check "no ref gives the default branch" out_has 'image: nginx:1.26'
check "the remote's own relative bases load (../shared inside the clone)" out_has 'name: prod-web'

# 3. --no-remote refuses, naming the kustomization file, line and entry
"$gitsync" render --no-remote "$tmp/tag" >"$tmp/out2" 2>"$tmp/err2"
rc=$?
last="$tmp/err2"
check "--no-remote: exit 1" rc_is 1
check "--no-remote: nothing on stdout" test ! -s "$tmp/out2"
check "--no-remote: the error names kustomization.yaml:3 and the entry" \
  out_has "tag/kustomization.yaml:3: .*$url//base\\?ref=v1.2.3"

# 4. errors name the file and the entry: a missing ref, a missing repository,
# a path that is a file
overlay "$tmp/noref" "$url//base?ref=v9.9.9"
run "$gitsync" render "$tmp/noref"
check "a missing ref fails (exit 1)" rc_is 1
check "a missing ref: names the kustomization and the entry" \
  out_has "noref/kustomization.yaml:3: .*ref=v9.9.9"
overlay "$tmp/norepo" "http://127.0.0.1:$port/nothere.git//base?ref=v1"
run "$gitsync" render "$tmp/norepo"
check "a missing repository fails naming the entry" out_has "norepo/kustomization.yaml:3: .*nothere.git"
overlay "$tmp/isfile" "$url//file/cm.yaml?ref=v1.2.3"
run "$gitsync" render "$tmp/isfile"
check "a remote path that is a file is refused" out_has "not a directory inside the repository"

# 5. a private repository: the GITSYNC_GIT_* credentials, for their hosts only
purl="http://127.0.0.1:$pport/bases.git//base?ref=v1.2.3"
overlay "$tmp/priv" "$purl"
run "$gitsync" render "$tmp/priv"
check "a private remote without credentials fails" rc_is 1
run env GITSYNC_GIT_USERNAME=alice GITSYNC_GIT_PASSWORD=s3cret "$gitsync" render "$tmp/priv"
check "credentials for hosts not in GITSYNC_GIT_HOSTS are not sent" rc_is 1
run env GITSYNC_GIT_USERNAME=alice GITSYNC_GIT_PASSWORD=s3cret \
  GITSYNC_GIT_HOSTS="127.0.0.1:$pport" "$gitsync" render "$tmp/priv"
check "with credentials for its host it renders" out_has 'name: prod-web'
check "the password never reaches the output" out_lacks 's3cret'

# 6. a hostile remote stays confined
evil="http://127.0.0.1:$port/evil.git"
overlay "$tmp/leak" "$evil//leak?ref=main"
run "$gitsync" render "$tmp/leak"
check "a symlink to /etc/passwd in a remote is not read (exit 1)" rc_is 1
check "nothing of /etc/passwd is printed" out_lacks 'root:'
overlay "$tmp/climb" "$evil//climb?ref=main"
run "$gitsync" render "$tmp/climb"
check "a remote base climbing out with ../ is refused" out_has 'escapes'
overlay "$tmp/up" "$evil//../../../../etc?ref=main"
run "$gitsync" render "$tmp/up"
check "a remote path climbing out of the clone is refused" \
  out_has "not a directory inside the repository"
check "the cache directory is never named" out_lacks "$tmp/cache"

tap_plan
[ "$failed" -eq 0 ]
