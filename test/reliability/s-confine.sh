#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# What a repository can write, and what one app can read through the shared
# Git cache.  Crafted repositories (trees written with `git hash-object
# --literally`, as no git client would) hold entries named `../../../x`,
# `..`, `.GIT`, and `../<commit of another repository>` (the cache
# poisoning attack: pre-create another app's export so that it deploys the
# attacker's objects as its own).  Each such commit is refused with a
# condition naming the entry; nothing is written outside the export; the
# other app deploys its own commit.  A private repository (HTTP basic auth)
# synced by an app with credentials: a second app naming the same URL and
# the same pinned commit id, without credentials, is refused (the cache is
# no way around authentication).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-confine-dst
k create namespace "$DST" >/dev/null 2>&1
port=$(free_port)
agent_start ca "$port"
check "agent ready" wait_for 60 agent_ready "$port"

# rawtree GITDIR "MODE NAME SHA"...: write a tree byte for byte (names git
# itself would refuse included); prints its id.
rawtree() {
  local gd="$1"; shift
  "$PY3" -c 'import sys
ents=[]
for e in sys.argv[1:]:
    mode,name,sha=e.split(" ",2)
    ents.append((name.encode(),mode.encode(),bytes.fromhex(sha)))
ents.sort()
sys.stdout.buffer.write(b"".join(m+b" "+n+b"\0"+s for n,m,s in ents))' "$@" |
    git --git-dir="$gd" hash-object --literally -t tree -w --stdin
}
# rawcommit NAME TREE MSG: commit TREE on main of repo NAME (server side); prints its id.
rawcommit() {
  local gd="$REL_ENV/git/$1.git" c
  c=$(git --git-dir="$gd" -c user.name=rel -c user.email=rel@example.com commit-tree "$2" -m "$3")
  git --git-dir="$gd" update-ref refs/heads/main "$c"
  echo "$c"
}
blob() { printf '%s' "$2" | git --git-dir="$1" hash-object -w --stdin; }
no_escape() { [ -z "$(find "$REL_ENV" -name 'rel-escaped-*' 2>/dev/null)" ]; }
cond_names() { app_conditions "$1" | grep -qF -- "$2"; }

# ---- entries that leave the export: ../../../x, .., .GIT
repo_new conf-evil
gd="$REL_ENV/git/conf-evil.git"
cm e1 v=0 >"$(repo_dir conf-evil)/app/e1.yaml"
good=$(repo_commit conf-evil v0)
app_new conf-evil "$DST"
check "a plain commit of the repository is synced" wait_for 120 app_at conf-evil "$good"
apptree=$(git --git-dir="$gd" rev-parse "$good:app")
escblob=$(blob "$gd" "$(cm rel-escaped-file v=out)")
escdir=$(rawtree "$gd" "100644 rel-escaped-in-dir.yaml $escblob")
for entry in "100644 ../../../rel-escaped-file $escblob" "40000 .. $escdir" "40000 .GIT $escdir"; do
  name=$(echo "$entry" | cut -d' ' -f2)
  t=$(rawtree "$gd" "40000 app $apptree" "$entry")
  c=$(rawcommit conf-evil "$t" "hostile entry $name")
  count_input "tree entry $name"
  check "a commit with a tree entry '$name' is refused with a condition naming the entry" \
    wait_for 60 cond_names conf-evil "'$name'"
  diag "$(app_conditions conf-evil)"
  check "entry '$name': nothing written outside the export" no_escape
  check "entry '$name': the last good commit stays applied" \
    eval '[ "$(appj conf-evil "{.status.sync.revision}")" = "$good" ] && cm_is "$DST" e1 v 0'
done

# ---- cache poisoning: ../<commit of another repository>
repo_new conf-victim
cm victim v=victim >"$(repo_dir conf-victim)/app/victim.yaml"
vrev=$(repo_commit conf-victim "victim v0")
repo_new conf-attack
gd="$REL_ENV/git/conf-attack.git"
cm attack v=0 >"$(repo_dir conf-attack)/app/attack.yaml"
repo_commit conf-attack v0 >/dev/null
apptree=$(git --git-dir="$gd" rev-parse HEAD:app)
poison=$(blob "$gd" "$(cm victim v=poisoned)")
ptree=$(rawtree "$gd" "40000 app $(rawtree "$gd" "100644 victim.yaml $poison")")
t=$(rawtree "$gd" "40000 app $apptree" "40000 ../$vrev $ptree")
arev=$(rawcommit conf-attack "$t" "poison $vrev")
count_input "tree entry ../<sha>"
k create namespace rel-confine-attack >/dev/null 2>&1
k create namespace rel-confine-victim >/dev/null 2>&1
app_new conf-attack rel-confine-attack
attack_done() { app_at conf-attack "$arev" || cond_names conf-attack "../$vrev"; }
check "attacker's commit with an entry '../<victim commit>' is refused by name" \
  wait_for 120 cond_names conf-attack "'../$vrev'"
wait_for 30 attack_done
app_new conf-victim rel-confine-victim
check "the victim app syncs its own commit" wait_for 120 app_at conf-victim "$vrev"
check "the victim's objects come from its own repository, not the attacker's export" \
  cm_is rel-confine-victim victim v victim
diag "victim ConfigMap v=$(cmval rel-confine-victim victim v)"

# ---- a pinned commit of a private repository, without credentials
PRIV_PASS="rel-GitPassw0rd-c0nf1ne"
mkdir -p "$REL_ENV/git-private"
"$PY3" "$rel_root/test/integration/git-http-server.py" "$REL_ENV/git-private" "$REL_ENV/gitpriv.port" \
  --user team-a --password "$PRIV_PASS" >"$REL_OUT/git-private.log" 2>&1 &
privpid=$!
echo "git-private $privpid" >>"$REL_ENV/pids"
trap 'kill "$privpid" 2>/dev/null; rel_scenario_end' EXIT
wait_for 30 test -s "$REL_ENV/gitpriv.port"
printf '%s\n' "$PRIV_PASS" "$(printf 'team-a:%s' "$PRIV_PASS" | base64 -w0)" >>"$REL_ENV/secret-values"
git init -q --bare -b main "$REL_ENV/git-private/priv.git"
git -C "$REL_ENV/git-private/priv.git" config http.receivepack true
pw="$REL_ENV/work/priv"; rm -rf "$pw"; git init -q -b main "$pw"; mkdir -p "$pw/app"
cm private v=secret-config >"$pw/app/private.yaml"
git -C "$pw" add -A; git -C "$pw" -c user.name=rel -c user.email=rel@example.com commit -qm priv
git -C "$pw" push -q "$REL_ENV/git-private/priv.git" HEAD:main
prev=$(git -C "$pw" rev-parse HEAD)
purl="http://127.0.0.1:$(cat "$REL_ENV/gitpriv.port")/priv.git"
k -n "$RNS" create secret generic conf-priv-creds --from-literal=username=team-a \
  --from-literal=password="$PRIV_PASS" >/dev/null
k create namespace rel-confine-a >/dev/null 2>&1; k create namespace rel-confine-b >/dev/null 2>&1
run "$G" app create conf-priv-a --repo "$purl" --path app --dest-namespace rel-confine-a \
  --app-namespace "$RNS" --sync-policy automated --repo-secret conf-priv-creds
check "the app with credentials syncs the private repository" wait_for 120 app_at conf-priv-a "$prev"
run "$G" app create conf-priv-b --repo "$purl" --revision "$prev" --path app \
  --dest-namespace rel-confine-b --app-namespace "$RNS" --sync-policy automated
count_input "pinned commit without credentials"
check "the app without credentials, same URL and pinned commit: refused with an authentication condition" \
  wait_for 60 eval 'app_conditions conf-priv-b | grep -qiE "auth|credential|401"'
diag "$(app_conditions conf-priv-b)"
sleep 3
check "the app without credentials deployed nothing of the private repository" \
  eval '! k get configmap private -n rel-confine-b >/dev/null 2>&1'
