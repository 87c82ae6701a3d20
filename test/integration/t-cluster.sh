#!/usr/bin/env bash
# shellcheck disable=SC2034  # variables read inside check's eval strings
# Acceptance suite of the test cluster (issue 3), TAP: a fresh cluster from
# test/cluster/start.py driven by the real kubectl v1.35 — server-side apply,
# field managers, diff, dry-run, CRDs, workloads made Ready by the node
# simulator, storage, namespace deletion — and every fault of the proxy.
# Skips (1..0) when the binaries or kubectl are not available.
set -uo pipefail
root="${GS_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cl="$root/test/cluster"

if ! bash -c '. "$1/lib.sh" && gs_testenv_bin' _ "$cl" >/dev/null 2>&1; then
  echo "1..0 # SKIP test cluster binaries not built (run test/cluster/setup)"
  exit 0
fi
if ! KUBECTL="$("$root/scripts/get-kubectl.sh" 2>/dev/null)" || [ ! -x "$KUBECTL" ]; then
  echo "1..0 # SKIP kubectl v1.35 not available (scripts/get-kubectl.sh)"
  exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-t-cluster.XXXXXX")"
D="$tmp/cluster"
cleanup() {
  [ -n "${bgpid:-}" ] && kill "$bgpid" 2>/dev/null
  "$cl/stop" "$D"
  rm -rf "$tmp"
}
trap cleanup EXIT

TAP_DIAG_BYTES=1500
# shellcheck source=tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
k()  { "$KUBECTL" --cache-dir "$tmp/kcache" --kubeconfig "$D/kubeconfig" "$@"; }
kp() { "$KUBECTL" --cache-dir "$tmp/kcache-proxy" --kubeconfig "$D/kubeconfig-proxy" "$@"; }
jp() { k get "$@" 2>/dev/null; }    # jp KIND NAME -n NS -o jsonpath=...

# ---------------------------------------------------------------- cluster
t0=$(date +%s.%N)
run "$cl/start.py" "$D" --ready-delay 1 --leash $$
check "start: a fresh cluster is ready (exit 0)" eval 'rc_is 0 && out_has "test cluster ready"'
diag "$(cat "$tmp/out")"
if [ "$rc" -ne 0 ]; then
  for f in "$D"/logs/*.log; do diag "== $f"; diag "$(tail -n 20 "$f")"; done
  echo "Bail out! the test cluster did not start"
  exit 1
fi
. "$D/env"
diag "start took $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN{printf \"%.1f\", b-a}") s"

run k version -o json
check "server reports v1.20.2 (/version stamped by the build)" eval 'rc_is 0 && out_has "\"gitVersion\": \"v1.20.2\""'
run "$KUBECTL" --cache-dir "$tmp/kc2" --kubeconfig "$D/kubeconfig-nobody" get pods -n default
check "user nobody is authenticated but has no rights (forbidden)" eval 'rc_is 1 && out_has "forbidden: User \"nobody\""'
run "$KUBECTL" --cache-dir "$tmp/kc3" --kubeconfig "$D/kubeconfig-cert" get namespace default -o name
check "client-certificate kubeconfig (system:masters) works" eval 'rc_is 0 && out_has "^namespace/default$"'
run k get nodes -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{" "}{end}'
check "node simulator registered 3 Ready nodes" eval 'rc_is 0 && [ "$(grep -o "=True" "$tmp/out" | wc -l)" -eq 3 ]'

# ------------------------------------------------------------ server-side apply
k create namespace ssa >/dev/null
cat >"$tmp/cm1.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ssa}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.19"}]
EOF
sed 's/replicas: 1/replicas: 2/' "$tmp/cm1.yaml" >"$tmp/cm2.yaml"
sed 's/replicas: 1/replicas: 3/' "$tmp/cm1.yaml" >"$tmp/cm3.yaml"
run k apply --server-side -f "$tmp/cm1.yaml"
check "apply --server-side creates (exit 0, serverside-applied)" eval 'rc_is 0 && out_has "deployment.apps/web serverside-applied"'
g1="$(jp deploy web -n ssa -o jsonpath='{.metadata.generation}')"
run k apply --server-side -f "$tmp/cm2.yaml"
g2="$(jp deploy web -n ssa -o jsonpath='{.metadata.generation}')"
check "apply --server-side again with a changed field: generation 1 -> 2" eval 'rc_is 0 && [ "$g1" = 1 ] && [ "$g2" = 2 ]'
run k get deploy web -n ssa -o jsonpath='{range .metadata.managedFields[*]}{.manager}/{.operation};{end}'
check "managedFields: kubectl owns by Apply, the controller by Update" eval 'out_has "kubectl/Apply;" && out_has "kube-controller-manager/Update"'
run k get deploy web -n ssa -o jsonpath='{.spec.strategy.type}/{.spec.template.spec.containers[0].terminationMessagePath}'
check "server defaults are filled in (strategy, terminationMessagePath)" eval 'out_has "^RollingUpdate//dev/termination-log$"'

run k apply --server-side --field-manager=other -f "$tmp/cm3.yaml"
check "a second field manager conflicts (exit 1, names the owner and the field)" eval 'rc_is 1 && out_has "conflict with \"kubectl\"" && out_has "\.spec\.replicas"'
r="$(jp deploy web -n ssa -o jsonpath='{.spec.replicas}')"
check "the conflicting apply changed nothing (replicas 2)" [ "$r" = 2 ]
run k apply --server-side --field-manager=other --force-conflicts -f "$tmp/cm3.yaml"
r="$(jp deploy web -n ssa -o jsonpath='{.spec.replicas}')"
check "--force-conflicts takes the field over (replicas 3)" eval 'rc_is 0 && [ "$r" = 3 ]'
run k get deploy web -n ssa -o json --show-managed-fields
check "managedFields: other now owns spec.replicas" eval 'python3 -c "
import json,sys
o=json.load(open(sys.argv[1]))
own={m[\"manager\"]:m.get(\"fieldsV1\",{}) for m in o[\"metadata\"][\"managedFields\"] if m[\"operation\"]==\"Apply\"}
sys.exit(0 if \"f:replicas\" in own[\"other\"][\"f:spec\"] and \"f:replicas\" not in own[\"kubectl\"].get(\"f:spec\",{}) else 1)" "$tmp/out"'

# ------------------------------------------------------------------ diff
run k diff --server-side --field-manager=other --force-conflicts -f "$tmp/cm3.yaml"
check "diff --server-side: no difference -> exit 0, no output" eval 'rc_is 0 && [ ! -s "$tmp/out" ]'
sed 's/nginx:1.19/nginx:1.20/' "$tmp/cm3.yaml" >"$tmp/cm4.yaml"
run k diff --server-side --field-manager=other --force-conflicts -f "$tmp/cm4.yaml"
check "diff --server-side: a difference -> exit 1 and the changed line" eval 'rc_is 1 && out_has "^\+ .*image: nginx:1.20" && out_has "^- .*image: nginx:1.19"'
sed 's/replicas: 3/replicas: -4/' "$tmp/cm3.yaml" >"$tmp/bad.yaml"
run k diff --server-side --field-manager=other --force-conflicts -f "$tmp/bad.yaml"
check "diff --server-side: an invalid object -> exit > 1 with the server's message" eval '[ "$rc" -gt 1 ] && out_has "spec.replicas: Invalid value: -4"'

# ---------------------------------------------------------------- dry-run
cat >"$tmp/dry.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: dry, namespace: ssa}
data: {a: "1"}
EOF
run k apply --server-side --dry-run=server -f "$tmp/dry.yaml"
check "apply --dry-run=server succeeds (server dry run)" eval 'rc_is 0 && out_has "configmap/dry serverside-applied \(server dry run\)"'
run k get configmap dry -n ssa
check "--dry-run=server left nothing (NotFound)" eval 'rc_is 1 && out_has "NotFound|not found"'
run k apply --server-side --dry-run=server -f "$tmp/bad.yaml" --field-manager=other --force-conflicts
check "--dry-run=server rejects an invalid object (exit 1)" eval 'rc_is 1 && out_has "Invalid value: -4"'

# ------------------------------------------------------------ CRD + CR
cat >"$tmp/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.gitsync.io}
spec:
  group: test.gitsync.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              color: {type: string}
EOF
cat >"$tmp/cr.yaml" <<'EOF'
apiVersion: test.gitsync.io/v1
kind: Widget
metadata: {name: w1, namespace: ssa}
spec: {color: blue}
EOF
run k apply --server-side -f "$tmp/crd.yaml"
check "CRD applied" eval 'rc_is 0 && out_has "customresourcedefinition.apiextensions.k8s.io/widgets.test.gitsync.io serverside-applied"'
run k wait --for condition=Established crd/widgets.test.gitsync.io --timeout=60s
check "CRD becomes Established" eval 'rc_is 0 && out_has "condition met"'
run k apply --server-side -f "$tmp/cr.yaml"
check "custom resource applied once the CRD is Established" eval 'rc_is 0 && out_has "widget.test.gitsync.io/w1 serverside-applied"'
run k get widget w1 -n ssa -o jsonpath='{.spec.size}/{.spec.color}'
check "custom resource got its schema default (size 3)" eval 'rc_is 0 && out_has "^3/blue$"'

# ---------------------------------------------------------- workloads
k create namespace work >/dev/null
cat >"$tmp/work.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: work}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: "nginx:1.19"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: work}
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers: [{name: app, image: "example.com/app:broken"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: work}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:13"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: work}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "busybox:1.32"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: work}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: "busybox:1.32"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: fails, namespace: work}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: "example.com/job:fail"}]
---
apiVersion: v1
kind: Pod
metadata: {name: hook, namespace: work}
spec:
  restartPolicy: Never
  containers: [{name: hook, image: "busybox:1.32"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: crash, namespace: work}
spec:
  replicas: 1
  selector: {matchLabels: {app: crash}}
  template:
    metadata: {labels: {app: crash}}
    spec:
      containers: [{name: app, image: "example.com/app:fail"}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: work}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: lb-pending, namespace: work, annotations: {gitsync.io/test-lb: pending}}
spec:
  type: LoadBalancer
  selector: {app: app}
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: work}
spec:
  type: LoadBalancer
  selector: {app: app}
  ports: [{port: 80, protocol: TCP}]
EOF
run k apply --server-side -f "$tmp/work.yaml"
check "workloads applied (11 objects)" eval 'rc_is 0 && [ "$(grep -c serverside-applied "$tmp/out")" -eq 11 ]'
run k rollout status deployment/app -n work --timeout=90s
check "rollout status: Deployment made Ready by the node simulator" eval 'rc_is 0 && out_has "successfully rolled out"'
run k get deploy app -n work -o jsonpath='{.status.readyReplicas}/{.status.availableReplicas}/{.status.updatedReplicas}'
check "Deployment status computed by the real controllers (2/2/2)" eval 'out_has "^2/2/2$"'
run k get pods -n work -l app=app -o jsonpath='{range .items[*]}{.status.phase},{.status.podIP},{.spec.nodeName},{.status.containerStatuses[0].ready};{end}'
check "its pods: Running, podIP, bound to a node, ready" eval '[ "$(grep -oE "Running,10\.244\.[0-9.]+,gs-node-[0-9]+,true;" "$tmp/out" | wc -l)" -eq 2 ]'
run k rollout status statefulset/db -n work --timeout=90s
check "rollout status: StatefulSet (pods and their PVCs)" eval 'rc_is 0 && out_has "roll(ing update|out) complete|partitioned roll out complete"'
run k rollout status daemonset/agent -n work --timeout=90s
check "rollout status: DaemonSet on the 3 simulated nodes" eval 'rc_is 0 && out_has "successfully rolled out" && [ "$(jp ds agent -n work -o jsonpath="{.status.numberReady}")" = 3 ]'
run k wait --for=condition=Complete job/once -n work --timeout=90s
check "Job pod succeeds, the Job completes" eval 'rc_is 0 && out_has "condition met" && [ "$(jp job once -n work -o jsonpath="{.status.succeeded}")" = 1 ]'
run k wait --for=condition=Failed job/fails -n work --timeout=90s
check "Job whose image ends in :fail: pods fail, retried, Job Failed (BackoffLimitExceeded)" eval 'rc_is 0 && [ "$(jp job fails -n work -o jsonpath="{.status.conditions[?(@.type==\"Failed\")].reason}")" = BackoffLimitExceeded ] && [ "$(jp job fails -n work -o jsonpath="{.status.failed}")" = 2 ]'
run k wait --for=jsonpath='{.status.phase}'=Succeeded pod/hook -n work --timeout=60s
check "bare Pod with restartPolicy Never runs to completion (Succeeded, exit 0)" eval 'rc_is 0 && [ "$(jp pod hook -n work -o jsonpath="{.status.containerStatuses[0].state.terminated.exitCode}")" = 0 ]'
run k wait --for=jsonpath='{.status.containerStatuses[0].state.waiting.reason}'=CrashLoopBackOff pod -l app=crash -n work --timeout=60s
check "Deployment whose image ends in :fail: pod in CrashLoopBackOff, not ready" eval 'rc_is 0 && [ -z "$(jp deploy crash -n work -o jsonpath="{.status.availableReplicas}")" ]'
run k wait --for=jsonpath='{.status.phase}'=Bound pvc/data -n work --timeout=60s
check "PVC becomes Bound (PV provisioned by the simulator, bound by the PV controller)" eval 'rc_is 0 && [ -n "$(jp pvc data -n work -o jsonpath="{.spec.volumeName}")" ]'
run k get pv -o jsonpath='{range .items[*]}{.spec.claimRef.namespace}/{.spec.claimRef.name}={.status.phase};{end}'
check "PVs bound to the PVC and to the StatefulSet's claims" eval 'out_has "work/data=Bound;" && out_has "work/data-db-0=Bound;" && out_has "work/data-db-1=Bound;"'
run k wait --for=jsonpath='{.status.loadBalancer.ingress[0].ip}' svc/lb -n work --timeout=60s
check "LoadBalancer Service gets an ingress IP" eval 'rc_is 0 && [ -n "$(jp svc lb -n work -o jsonpath="{.status.loadBalancer.ingress[0].ip}")" ]'
check "LoadBalancer Service annotated test-lb: pending has no ingress" \
  eval '[ -z "$(jp svc lb-pending -n work -o jsonpath="{.status.loadBalancer.ingress}")" ]'

# The broken image: wait until the deployment controller itself gives up
# (progressDeadlineSeconds: 5), then check nothing ever became available.
run k wait --for=condition=Progressing=False deploy/broken -n work --timeout=90s
check ":broken image: Deployment exceeds its progress deadline" eval 'rc_is 0 && [ "$(jp deploy broken -n work -o jsonpath="{.status.conditions[?(@.type==\"Progressing\")].reason}")" = ProgressDeadlineExceeded ]'
run k rollout status deployment/broken -n work --timeout=20s
check ":broken image: rollout status fails (exit 1, progress deadline)" eval 'rc_is 1 && out_has "exceeded its progress deadline"'
run k get pods -n work -l app=broken -o jsonpath='{range .items[*]}{.status.phase},{.status.containerStatuses[0].state.waiting.reason},{.status.containerStatuses[0].ready};{end}'
check ":broken image: pod Pending, ImagePullBackOff, not ready" eval 'out_has "^Pending,ImagePullBackOff,false;$"'
check ":broken image: never available (availableReplicas unset, Available False)" eval '[ -z "$(jp deploy broken -n work -o jsonpath="{.status.availableReplicas}")" ] && [ "$(jp deploy broken -n work -o jsonpath="{.status.conditions[?(@.type==\"Available\")].status}")" = False ]'

# Garbage collection: foreground deletion of the Deployment removes its
# ReplicaSet and pods (the simulator plays the kubelet's part of pod deletion).
run k delete deployment app -n work --cascade=foreground --timeout=60s
run2="$rc"
run k get rs,pods -n work -l app=app -o name
check "garbage collector removes the ReplicaSet and pods of a deleted Deployment" eval '[ "$run2" = 0 ] && rc_is 0 && [ ! -s "$tmp/out" ]'

# ------------------------------------------------------ namespace deletion
run k delete namespace work ssa --timeout=120s
check "namespace deletion completes (pods, PVCs, custom resources inside)" eval 'rc_is 0 && out_has "namespace \"work\" deleted" && out_has "namespace \"ssa\" deleted"'
run k get namespace work ssa
check "deleted namespaces are gone" eval 'rc_is 1 && [ "$(grep -c NotFound "$tmp/out")" -eq 2 ]'
k wait --for=delete pv --all --timeout=60s >/dev/null 2>&1
run k get pv -o name
check "released PVs of deleted claims are deleted (reclaim policy Delete)" eval 'rc_is 0 && [ ! -s "$tmp/out" ]'

# ------------------------------------------------------------ fault proxy
ctl() { curl -sS --max-time 10 -X "$1" "$GS_PROXY_CONTROL$2" ${3:+-H 'Content-Type: application/json' --data "$3"}; }
counter() { # counter "VERB RESOURCE" -> the count (0 when absent)
  ctl GET /counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1],0))' "$1"
}
k create namespace px >/dev/null
k create configmap c1 -n px --from-literal=a=1 >/dev/null

ctl POST /reset >/dev/null
run kp get configmap c1 -n px -o name
check "proxy: forwards over TLS with its own certificate and kubeconfig" eval 'rc_is 0 && out_has "^configmap/c1$"'
check "proxy: counts the request (get configmaps = 1)" [ "$(counter "get configmaps")" = 1 ]

ctl POST /reset >/dev/null
ctl POST /rules '{"verb":"get","resource":"configmaps","name":"c1","status":500,"message":"injected 500","count":1}' >/dev/null
run kp get configmap c1 -n px -o name
check "proxy: injected 500 reaches kubectl as the server's Status (exit 1)" eval 'rc_is 1 && out_has "injected 500"'
run kp get configmap c1 -n px -o name
check "proxy: a rule with count 1 is spent after one hit" eval 'rc_is 0 && [ "$(counter "get configmaps")" = 2 ]'

ctl DELETE /rules >/dev/null; ctl POST /reset >/dev/null
ctl POST /rules '{"verb":"get","resource":"configmaps","status":429,"retry_after":1,"count":2}' >/dev/null
run kp get configmap c1 -n px -o name
check "proxy: 429 with Retry-After is retried by client-go until it succeeds (3 requests)" \
  eval 'rc_is 0 && out_has "^configmap/c1$" && [ "$(counter "get configmaps")" = 3 ]'
run ctl GET /rules
check "proxy: rule hit counts are reported (2 hits, 0 remaining)" eval 'out_has "\"hits\": 2" && out_has "\"remaining\": 0"'

ctl DELETE /rules >/dev/null
ctl POST /rules '{"verb":"get","resource":"configmaps","action":"delay","delay_ms":3000,"count":1}' >/dev/null
run kp get configmap c1 -n px -o name --request-timeout=1s
check "proxy: a 3 s delay makes a 1 s request timeout fail" eval '[ "$rc" -ne 0 ] && out_has "Timeout|deadline|timeout"'
ctl POST /rules '{"verb":"get","resource":"configmaps","action":"delay","delay_ms":300,"count":1}' >/dev/null
run kp get configmap c1 -n px -o name
check "proxy: a short delay is only latency (exit 0)" eval 'rc_is 0 && out_has "^configmap/c1$"'

ctl DELETE /rules >/dev/null; ctl POST /reset >/dev/null
ctl POST /rules '{"verb":"get","resource":"configmaps","action":"drop","count":1}' >/dev/null
run kp get --raw /api/v1/namespaces/px/configmaps/c1
check "proxy: a dropped connection is a client error (exit 1, EOF/reset)" eval 'rc_is 1 && out_has "EOF|connection reset|broken pipe"'
check "proxy: the dropped request was counted" [ "$(counter "get configmaps")" -ge 1 ]

ctl DELETE /rules >/dev/null
ctl POST /rules '{"verb":"create","resource":"configmaps","action":"drop","drop":"after","count":1}' >/dev/null
run kp create configmap c2 -n px --from-literal=a=2
r2="$rc"
run k get configmap c2 -n px -o name
check "proxy: drop after forwarding - the client fails but the write happened" eval '[ "$r2" -ne 0 ] && rc_is 0 && out_has "^configmap/c2$"'

ctl DELETE /rules >/dev/null; ctl POST /reset >/dev/null
ctl POST /rules '{"verb":"get","resource":"configmaps","action":"pause"}' >/dev/null
kp get configmap c1 -n px -o name >"$tmp/bg.out" 2>&1 &
bgpid=$!
for _ in $(seq 1 100); do [ "$(counter "get configmaps")" -ge 1 ] && break; sleep 0.1; done
held=no; kill -0 "$bgpid" 2>/dev/null && held=yes
check "proxy: pause holds a matching request" [ "$held" = yes ]
ctl DELETE /rules >/dev/null
wait "$bgpid"; rc=$?; bgpid=
cp "$tmp/bg.out" "$tmp/out"
check "proxy: removing the pause rule releases it (exit 0)" eval 'rc_is 0 && out_has "^configmap/c1$"'

ctl DELETE /rules >/dev/null
ctl POST /rules '{"verb":"watch","resource":"configmaps","action":"expire","count":1}' >/dev/null
run kp get --raw '/api/v1/namespaces/px/configmaps?watch=1&resourceVersion=1'
check "proxy: expire - a watch gets 200 and an ERROR event 410 Expired" eval 'rc_is 0 && out_has "\"type\":\"ERROR\"" && out_has "\"code\":410" && out_has "\"reason\":\"Expired\""'
ctl POST /rules '{"verb":"list","resource":"configmaps","action":"expire","count":1}' >/dev/null
run kp get configmaps -n px
check "proxy: expire - a list gets 410 Expired" eval 'rc_is 1 && out_has "too old resource version"'
ctl DELETE /rules >/dev/null
ctl POST /rules '{"verb":"watch","resource":"configmaps","action":"cut","after_ms":500,"count":1}' >/dev/null
run timeout 60 "$KUBECTL" --cache-dir "$tmp/kcache-proxy" --kubeconfig "$D/kubeconfig-proxy" get --raw '/api/v1/namespaces/px/configmaps?watch=1'
check "proxy: cut - a watch streams its events, then ends cleanly (exit 0)" eval 'rc_is 0 && out_has "\"type\":\"ADDED\"" && out_has "\"name\":\"c1\""'
ctl DELETE /rules >/dev/null

# Counting for benchmarks: exactly what server-side apply of N objects costs,
# and watches streamed through the proxy.
for i in 1 2 3 4 5; do printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n%d, namespace: px}\ndata: {i: "%d"}\n---\n' $i $i; done >"$tmp/five.yaml"
ctl POST /reset >/dev/null
run kp apply --server-side -f "$tmp/five.yaml"
check "proxy: apply --server-side of 5 ConfigMaps = 5 patch requests counted" eval 'rc_is 0 && [ "$(counter "patch configmaps")" = 5 ]'
run ctl GET /counters
check "proxy: counters by verb and by resource (JSON)" eval 'out_has "\"by_verb\"" && out_has "\"by_resource\"" && out_has "\"patch configmaps\": 5"'
run kp wait --for=delete configmap/n5 -n px --timeout=60s &
wpid=$!
sleep 0.5
k delete configmap n5 -n px >/dev/null
wait "$wpid"; rc=$?
check "proxy: watch responses stream through (kubectl wait --for=delete)" eval '[ "$rc" -eq 0 ] && [ "$(counter "watch configmaps")" -ge 1 ]'

# ------------------------------------------------- v1.20 gaps, on purpose
# These document the server we test against (docs/TEST-CLUSTER.md): if they
# start failing, the server changed and the docs must say so.
cat >"$tmp/svc.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: noproto, namespace: px}
spec:
  selector: {app: x}
  ports: [{name: http, port: 80}]
EOF
run k apply --server-side -f "$tmp/svc.yaml"
check "v1.20 SSA bug: Service port without protocol is rejected" eval 'rc_is 1 && out_has "omits key field \"protocol\""'
sed 's/port: 80}/port: 80, protocol: TCP}/' "$tmp/svc.yaml" >"$tmp/svc2.yaml"
run k apply --server-side -f "$tmp/svc2.yaml"
check "v1.20 SSA bug: the same Service with protocol: TCP applies" eval 'rc_is 0 && out_has "service/noproto serverside-applied"'
printf 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: px}\nspec: {minAvailable: 1, selector: {matchLabels: {a: b}}}\n' >"$tmp/pdb.yaml"
run k apply --server-side -f "$tmp/pdb.yaml"
check "v1.20 does not serve policy/v1 (no matches for kind)" eval 'rc_is 1 && out_has "no matches for kind \"PodDisruptionBudget\" in version \"policy/v1\""'

# --------------------------------------------------- API server restart
run "$cl/restart.py" "$D" kube-apiserver --down 1
check "restart: the API server comes back (test/cluster/restart.py)" eval 'rc_is 0 && out_has "restarted kube-apiserver"'
k create deployment after -n px --image=nginx:1.19 --replicas=2 >/dev/null 2>&1
run k rollout status deployment/after -n px --timeout=90s
check "restart: simulator and controllers reconnected (new Deployment rolls out)" eval 'rc_is 0 && out_has "successfully rolled out"'
run kp get deployment after -n px -o name
check "restart: the proxy reconnects upstream" eval 'rc_is 0 && out_has "^deployment.apps/after$"'

# ---------------------------------------------------------- restart / stop
pids_before="$(awk '{print $2}' "$D/pids" | tr '\n' ' ')"
"$cl/stop" "$D"
alive=0
for p in $pids_before; do  # a zombie (state Z) has exited; init reaps it later
  st="$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$st" ] && [ "$st" != Z ] && alive=$((alive + 1))
done
check "stop: every recorded process has exited" eval '[ "$alive" -eq 0 ] && [ ! -f "$D/pids" ]'

echo "1..$n"
[ "$failed" -eq 0 ]
