#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# The CLI's render root (no cluster needed).  Outside a Git checkout the
# root is the given path, not `/`: a symlink in the directory to a file
# elsewhere (here one holding the test Secret's value) is refused.  Inside a
# checkout, `.git/` is never read: not by a generator naming `.git/config`,
# not through a symlink to `../.git/config` (where CI keeps a token in the
# remote URL).  The token and the Secret's value are in the suite's final
# grep.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ ! -x "$G" ]; then echo "1..0 # SKIP gitsync binary not built ($G)"; exit 0; fi
command -v git >/dev/null || { echo "1..0 # SKIP git not installed"; exit 0; }
if [ -z "${REL_ENV:-}" ]; then
  REL_ENV="$(mktemp -d "${TMPDIR:-/tmp}/gs-rel.XXXXXX")"
  REL_OUT="$REL_ENV/out"; REL_RESULTS="$REL_ENV/results.tsv"
  mkdir -p "$REL_OUT"
  printf '%s\n%s\n' "$REL_SECRET_VALUE" "$REL_SECRET_B64" >"$REL_ENV/secret-values"
  trap 'echo "1..$(cat "$REL_ENV/tapn" 2>/dev/null || echo 0)"; leaks=$(grep -rlF -f "$REL_ENV/secret-values" "$REL_OUT" --exclude="*.cmd"); [ -n "$leaks" ] && echo "not ok - leaked in: $leaks"; f=$(cat "$REL_ENV/failed" 2>/dev/null); rm -rf "$REL_ENV"; [ -z "$f$leaks" ]' EXIT
fi
CI_TOKEN="ghp_relConf1neT0kenInGitConfig9"
printf '%s\n' "$CI_TOKEN" >>"$REL_ENV/secret-values"
t="$REL_ENV/confine-cli"
rm -rf "$t"; mkdir -p "$t/outside" "$t/plain/app" "$t/checkout/app"
cm stolen "v=$REL_SECRET_VALUE" >"$t/outside/stolen.yaml"
printf '%s' "$REL_SECRET_VALUE" >"$t/outside/secret.txt"
refused() { ! rc_is 0 && ! grep -qF -e "$REL_SECRET_VALUE" -e "$CI_TOKEN" "$last"; }

# ---- not in a Git checkout: the root is the path
cm ok v=1 >"$t/plain/app/ok.yaml"
ln -s "$t/outside/stolen.yaml" "$t/plain/app/st.yaml"
printf 'resources:\n- ok.yaml\n- st.yaml\n' >"$t/plain/app/kustomization.yaml"
run "$G" render "$t/plain/app"; count_input "render symlink out"
check "no checkout: a resource symlinked to a file outside the path is refused" refused
diag "$(head -c 400 "$last")"
rm "$t/plain/app/st.yaml" "$t/plain/app/kustomization.yaml"
ln -s "$t/outside/secret.txt" "$t/plain/app/s.txt"
printf 'resources:\n- ok.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - s.txt\n' >"$t/plain/app/kustomization.yaml"
run "$G" render "$t/plain/app"; count_input "render symlink out"
check "no checkout: a generator file symlinked outside the path is refused" refused
rm "$t/plain/app/s.txt" "$t/plain/app/kustomization.yaml"
run "$G" render "$t/plain/app"
check "no checkout: the plain directory itself still renders" eval 'rc_is 0 && out_has "name: ok"'

# ---- inside a checkout: .git is never read
c="$t/checkout"
git init -q -b main "$c"
git -C "$c" remote add origin "https://x-access-token:$CI_TOKEN@git.example.com/org/repo.git"
cm ok v=1 >"$c/app/ok.yaml"
printf 'resources:\n- ok.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - config=.git/config\n' >"$c/kustomization.yaml"
cp "$c/app/ok.yaml" "$c/ok.yaml"
run "$G" render "$c"; count_input "render .git"
check "checkout: a generator reading .git/config is refused" refused
diag "$(head -c 400 "$last")"
rm "$c/kustomization.yaml" "$c/ok.yaml"
ln -s ../.git/config "$c/app/s.txt"
printf 'resources:\n- ok.yaml\nconfigMapGenerator:\n- name: g\n  files:\n  - s.txt\n' >"$c/app/kustomization.yaml"
run "$G" render "$c/app"; count_input "render symlink .git"
check "checkout: a generator file symlinked to ../.git/config is refused" refused
diag "$(head -c 400 "$last")"
rm "$c/app/s.txt"
ln -s ../.git/config "$c/app/cfg.yaml"
printf 'resources:\n- ok.yaml\n- cfg.yaml\n' >"$c/app/kustomization.yaml"
run "$G" render "$c/app"; count_input "render symlink .git"
check "checkout: a resource symlinked to ../.git/config is refused" refused
rm "$c/app/cfg.yaml" "$c/app/kustomization.yaml"
run "$G" render "$c/app"
check "checkout: the directory itself still renders" eval 'rc_is 0 && out_has "name: ok"'
