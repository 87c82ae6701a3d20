#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Bad commits: invalid YAML, an unknown kind, an object the API server
# rejects.  Each bad commit ALSO changes a good object; nothing of that
# commit may be applied (the good change included), the last good state
# stays, a condition names the problem; the next good commit is applied.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-bad-dst
repo_new bad
wd=$(repo_dir bad)
cm good v=0 >"$wd/app/good.yaml"
cm other v=0 >"$wd/app/other.yaml"
rev=$(repo_commit bad v0)
app_new bad "$DST"
port=$(free_port)
agent_start ba "$port"
check "first sync converges" wait_for 120 app_at bad "$rev"
good_rev=$rev
n=0

# bad_commit DESC PATTERN FILE: FILE (in app/) is already written; the commit
# also sets good's value; PATTERN must appear in a condition.
bad_commit() {
  local desc="$1" pat="$2" file="$3" brev conds
  n=$((n + 1))
  cm good "v=bad$n" >"$wd/app/good.yaml"
  brev=$(repo_commit bad "bad: $desc")
  count_input "bad commit: $desc"
  cond_has() { conds="$(app_conditions bad)"; grep -qiE -- "$pat" <<<"$conds"; }
  if wait_for 60 cond_has; then ok "$desc: a condition names the problem"; else not_ok "$desc: a condition names the problem"; fi
  diag "conditions: $conds"
  sleep 2  # a few more reconciles (1 s interval) to give a wrong apply its chance
  check "$desc: nothing of the commit applied (good object unchanged)" cm_is "$DST" good v 0
  check "$desc: other objects unchanged, nothing pruned" cm_is "$DST" other v 0
  check "$desc: the Application does not claim the bad commit synced" \
    eval '[ "$(appj bad "{.status.operationState.syncResult.revision}")" != "$brev" ] || [ "$(appj bad "{.status.operationState.phase}")" != Succeeded ]'
  # repair: back to a good tree (new commit)
  rm -f "$wd/app/$file"
  cm good v=0 >"$wd/app/good.yaml"
  cm other "v=fixed$n" >"$wd/app/other.yaml"
  good_rev=$(repo_commit bad "fix $n")
  check "$desc: the next good commit is applied and the condition cleared" \
    wait_for 120 eval 'app_at bad "$good_rev" && cm_is "$DST" other v "fixed$n" && [ -z "$(app_conditions bad)" ]'
  cm other v=0 >"$wd/app/other.yaml"
  good_rev=$(repo_commit bad "reset $n")
  wait_for 120 eval 'app_at bad "$good_rev" && cm_is "$DST" other v 0'
}

printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: [unclosed\n  b: "x\n' >"$wd/app/broken.yaml"
bad_commit "invalid YAML" 'broken\.yaml' broken.yaml
printf 'apiVersion: example.com/v1\nkind: NoSuchKind\nmetadata:\n  name: ghost\nspec: {}\n' >"$wd/app/ghost.yaml"
bad_commit "unknown kind" 'NoSuchKind' ghost.yaml
cat >"$wd/app/rejected.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rejected
spec:
  replicas: -3
  selector:
    matchLabels: {app: rejected}
  template:
    metadata:
      labels: {app: other-label}
    spec:
      containers:
      - name: c
        image: nginx
Y
bad_commit "object the server rejects" 'rejected' rejected.yaml
check "the rejected Deployment was never created" eval '! k get deployment rejected -n "$DST" >/dev/null 2>&1'
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\ndata:\n  a: "1"\n  a: "2"\n' >"$wd/app/dup.yaml"
bad_commit "duplicate key" 'dup' dup.yaml
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\ndata: {}\n' >"$wd/app/badname.yaml"
bad_commit "invalid object name" 'Not_A_Valid_Name' badname.yaml
