#!/usr/bin/env bash
# Sync waves (ours and Argo CD's annotation), hooks (PreSync/PostSync/
# SyncFail with delete policies), CreateNamespace, PruneLast.
. "$(dirname "${BASH_SOURCE[0]}")/sync-lib.sh"
start_cluster 0.5
cat > "$tmp/app.yaml" <<'Y'
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: late, annotations: {gitsync.io/sync-wave: "2"}}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, annotations: {argocd.argoproj.io/sync-wave: "-1"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: "postgres:15"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: normal}
data: {a: "1"}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: smoke
  annotations: {gitsync.io/hook: PostSync}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: s, image: busybox}]
Y
run gs sync "$tmp/app.yaml" --app waves --namespace waves --sync-option CreateNamespace=true
check "sync with hooks and waves: exit 0" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
line() { grep -nE "^[0-9]{4}-.* $1 " "$tmp/out" | head -1 | cut -d: -f1; }
check "CreateNamespace created the destination" eval 'k get ns waves -o name | grep -q waves'
check "order: PreSync hook, wave -1, wave 0, wave 2, PostSync hook" \
  eval '[ "$(line migrate)" -lt "$(line db)" ] && [ "$(line db)" -lt "$(line normal)" ] && [ "$(line normal)" -lt "$(line late)" ] && [ "$(line late)" -lt "$(line smoke)" ]'
check "the PreSync hook ran to completion, then was deleted (HookSucceeded)" \
  eval 'out_has "migrate .*PreSync .*completed" && ! jp job migrate -n waves -o name | grep -q migrate'
check "the PostSync hook ran and is kept (BeforeHookCreation default)" eval 'jp job smoke -n waves -o name | grep -q smoke'
check "wave -1 was healthy before wave 0 started" eval 'out_has "db +Synced +Healthy"'
run gs sync "$tmp/app.yaml" --app waves --namespace waves
check "re-sync runs the hooks again (BeforeHookCreation replaces the old Job)" eval 'rc_is 0 && out_has "smoke .*PostSync .*completed"'

# a failing PreSync hook stops the sync and runs SyncFail hooks
cat > "$tmp/fail.yaml" <<'Y'
apiVersion: batch/v1
kind: Job
metadata:
  name: failing
  annotations: {gitsync.io/hook: PreSync}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {gitsync.io/test-phase: Failed}}
    spec:
      restartPolicy: Never
      containers: [{name: f, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: on-fail
  annotations: {gitsync.io/hook: SyncFail}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: never}
data: {a: "1"}
Y
run gs sync "$tmp/fail.yaml" --app failing --namespace waves --timeout 60s
check "a failing PreSync hook fails the sync (exit 1)" eval 'rc_is 1 && out_has "Phase: +Failed"'
check "nothing of the Sync phase was applied" eval '! jp cm never -n waves -o name | grep -q never'
check "the SyncFail hook ran" eval 'jp cm on-fail -n waves -o name | grep -q on-fail'

finish
