#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# The Git server down, slow, and force-pushed to an unrelated history.
# Down: the new commit cannot be fetched; the cluster keeps the last good
# state, a condition says why; back up: the commit is applied and the
# condition cleared.  Slow (every connection delayed): it still converges.
# Force-pushed to an orphan history: a manual app keeps the last good state
# and reports ForcePushed; an automated one follows the branch and prunes
# what the new history no longer has.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-git-dst
repo_new git1
wd=$(repo_dir git1)
cm g1 v=0 >"$wd/app/g1.yaml"; cm g2 v=0 >"$wd/app/g2.yaml"
rev=$(repo_commit git1 v0)
app_new git1 "$DST"
port=$(free_port)
agent_start ga "$port"
check "first sync converges" wait_for 120 app_at git1 "$rev"

# ---- down
git_mode down
cm g1 v=1 >"$wd/app/g1.yaml"
rev1=$(repo_commit git1 v1)
err_cond() { [ -n "$(app_conditions git1 | grep -iE 'error|fail')" ]; }
check "Git down: a condition reports the fetch failure" wait_for 60 err_cond
diag "$(app_conditions git1)"
count_fault "git down"
sleep 2
check "Git down: the cluster keeps the last good state" cm_is "$DST" g1 v 0
check "Git down: the agent is still serving" agent_ready "$port"
git_mode pass
t0=$(rel_now)
check "Git back: the pending commit is applied" wait_for 120 eval 'app_at git1 "$rev1" && cm_is "$DST" g1 v 1'
diag "applied $(rel_elapsed "$t0") s after the server came back"
check "Git back: the error condition is cleared" wait_for 30 eval '[ -z "$(app_conditions git1)" ]'

# ---- slow
git_mode delay:2500
cm g1 v=2 >"$wd/app/g1.yaml"
rev2=$(repo_commit git1 v2)
t0=$(rel_now)
check "Git slow (2.5 s per connection): the commit is applied" wait_for 180 eval 'app_at git1 "$rev2" && cm_is "$DST" g1 v 2'
diag "applied after $(rel_elapsed "$t0") s; tcpfault: $(cat "$REL_ENV/gitproxy.port.stats")"
count_fault "git slow"
git_mode pass

# ---- force-pushed to an unrelated history
# manual app on its own repo: last good state kept, condition says so
repo_new git2
cm f1 v=0 >"$(repo_dir git2)/app/f1.yaml"
m0=$(repo_commit git2 v0)
k create namespace rel-git-manual >/dev/null 2>&1
run "$G" app create git2 --repo "$(repo_url git2)" --path app --dest-namespace rel-git-manual --app-namespace "$RNS"
run "$G" app sync git2 --app-namespace "$RNS" --kubeconfig "$D/kubeconfig"
check "manual app synced" eval 'rc_is 0 && cm_is rel-git-manual f1 v 0'
run "$G" app get git2 --refresh --app-namespace "$RNS"
for repo in git1 git2; do
  w=$(repo_dir "$repo")
  git -C "$w" checkout -q --orphan other
  git -C "$w" rm -rqf . >/dev/null
  mkdir -p "$w/app"
done
cm g3 v=new >"$wd/app/g3.yaml"
cm f1 v=forced >"$(repo_dir git2)/app/f1.yaml"
frev=$(repo_commit git1 "unrelated history")
mrev=$(repo_commit git2 "unrelated history")
count_fault "force push"; count_fault "force push"
check "force-push: the automated app follows the new history" wait_for 120 eval 'app_at git1 "$frev" && cm_is "$DST" g3 v new'
check "force-push: objects absent from the new history are pruned" \
  wait_for 30 eval '! k get configmap g1 -n "$DST" >/dev/null 2>&1 && ! k get configmap g2 -n "$DST" >/dev/null 2>&1'
forced() { [ -n "$(app_condition git2 ForcePushed)" ]; }
run "$G" app get git2 --refresh --app-namespace "$RNS"
check "force-push: the manual app reports a ForcePushed condition" wait_for 60 forced
diag "$(app_conditions git2)"
check "force-push: the manual app keeps the last good state (OutOfSync, not applied)" \
  eval 'cm_is rel-git-manual f1 v 0 && [ "$(appj git2 "{.status.sync.status}")" = OutOfSync ]'
