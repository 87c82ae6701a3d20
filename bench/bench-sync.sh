#!/usr/bin/env bash
# bench-sync.sh [N...] - gitsync sync vs kubectl against the test cluster,
# through the fault proxy (no faults) so both are counted the same way.
# For each N (default 1000 5000) objects (ConfigMaps, Secrets, Services,
# ServiceAccounts in one namespace): first sync, no-op re-sync, one object
# changed; requests made (proxy counters), wall time, CPU time (user+sys)
# and peak RSS of the client; the same work by `kubectl apply
# --server-side -f` (and `kubectl diff --server-side -f` for the no-op).
# Env: GITSYNC (binary), KUBECTL, GITSYNC_KUBE_INFLIGHT (requests in flight).
# The machine is shared: compare gitsync with kubectl within one run.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
G="${GITSYNC:-$root/build/agent/gitsync}"
KUBECTL="${KUBECTL:-$("$root/scripts/get-kubectl.sh" 2>/dev/null || command -v kubectl)}"
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000 5000)
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gs-bench-sync.XXXXXX")"
D="$tmp/cluster"
trap '"$root/test/cluster/stop" "$D" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$root/test/cluster/start.py" "$D" --no-nodesim >/dev/null || { echo "cluster did not start"; exit 1; }
. "$D/env"
PK="$D/kubeconfig-proxy"

gen() { # gen N NS FILE [CHANGED]
  python3 - "$@" <<'PY'
import sys
n, ns, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
changed = len(sys.argv) > 4
out = []
for i in range(n):
    k = i % 4
    name = "obj-%05d" % i
    val = "changed" if (changed and i == n // 2) else "v1"
    if k == 0:
        out.append(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{bench: 'yes'}}\ndata:\n  key: {val}\n  other: some-longer-value-{i}\n")
    elif k == 1:
        out.append(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: Opaque\nstringData:\n  password: {val}-{i}\n")
    elif k == 2:
        out.append(f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector: {{app: {name}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n    protocol: TCP\n    name: http-{val}\n")
    else:
        out.append(f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations: {{note: {val}}}\n")
open(path, "w").write("---\n".join(out))
PY
}
reset() { curl -s -X POST "$GS_PROXY_CONTROL/reset" >/dev/null; }
count() { curl -s "$GS_PROXY_CONTROL/counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
# measure LABEL CMD...: one line: label, requests, wall s, cpu s, peak RSS MB, exit
measure() {
  local label="$1"; shift
  reset
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >"$tmp/out" 2>&1
  local rc=$?
  read -r wall usr sys rss < <(tail -n 1 "$tmp/time")
  printf "%-44s %8s %8.2f %8.2f %8.1f %4s\n" "$label" "$(count)" "$wall" \
    "$(echo "$usr + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)" "$rc"
}

# Warm-up (not measured): a fresh cluster is still settling (controllers,
# caches); without this the first tool measured pays for it.
"$KUBECTL" --kubeconfig "$D/kubeconfig" create namespace b-warmup >/dev/null
gen 300 b-warmup "$tmp/warm.yaml"
"$KUBECTL" --kubeconfig "$PK" --cache-dir "$tmp/kc" apply --server-side -f "$tmp/warm.yaml" >/dev/null

printf "%-44s %8s %8s %8s %8s %4s\n" "case" "requests" "wall_s" "cpu_s" "rss_MB" "rc"
for n in "${sizes[@]}"; do
  for who in gitsync kubectl; do
    ns="b-$who-$n"
    "$KUBECTL" --kubeconfig "$D/kubeconfig" create namespace "$ns" >/dev/null
    gen "$n" "$ns" "$tmp/a.yaml"
    gen "$n" "$ns" "$tmp/b.yaml" changed
    if [ "$who" = gitsync ]; then
      measure "gitsync N=$n first sync" "$G" sync "$tmp/a.yaml" --app "bench$n" --kubeconfig "$PK"
      measure "gitsync N=$n no-op re-sync" "$G" sync "$tmp/a.yaml" --app "bench$n" --kubeconfig "$PK"
      measure "gitsync N=$n diff (no-op)" "$G" diff "$tmp/a.yaml" --app "bench$n" --kubeconfig "$PK"
      measure "gitsync N=$n one object changed" "$G" sync "$tmp/b.yaml" --app "bench$n" --kubeconfig "$PK"
    else
      measure "kubectl N=$n apply --server-side (first)" "$KUBECTL" --kubeconfig "$PK" --cache-dir "$tmp/kc" apply --server-side -f "$tmp/a.yaml"
      measure "kubectl N=$n apply --server-side (no-op)" "$KUBECTL" --kubeconfig "$PK" --cache-dir "$tmp/kc" apply --server-side -f "$tmp/a.yaml"
      measure "kubectl N=$n diff --server-side (no-op)" "$KUBECTL" --kubeconfig "$PK" --cache-dir "$tmp/kc" diff --server-side -f "$tmp/a.yaml"
      measure "kubectl N=$n apply --server-side (1 changed)" "$KUBECTL" --kubeconfig "$PK" --cache-dir "$tmp/kc" apply --server-side -f "$tmp/b.yaml"
    fi
  done
done
