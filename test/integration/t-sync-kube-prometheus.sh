#!/usr/bin/env bash
# kube-prometheus v0.7 in one run: Namespace and 8 CRDs first, CRDs waited
# Established before their custom resources are validated and applied,
# Services without `protocol` (rejected by v1.20's SSA unless defaulted),
# the APIService v1.20 cannot server-side apply, a ConfigMapList.
. "$(dirname "${BASH_SOURCE[0]}")/sync-lib.sh"
# trimmed to what is checked (test/data/sync/README.md); GS_KP_DIR=.../manifests for the whole release
KP="${GS_KP_DIR:-$root/test/data/sync/kube-prometheus-v0.7}"
start_cluster 0.5
# one stream, as a renderer would give it (setup/ first is not required:
# ordering is the engine's job, so put setup/ last on purpose)
for f in "$KP"/*.yaml "$KP"/setup/*.yaml; do echo "---"; cat "$f"; echo; done > "$tmp/kp.yaml"

t0=$(date +%s.%N)
run gs sync "$tmp/kp.yaml" --app kp
check "kube-prometheus v0.7 syncs in one run (exit 0)" eval 'rc_is 0 && out_has "Phase: +Succeeded"'
diag "first sync: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
first_crd=$(grep -nE "^[0-9]{4}-.*CustomResourceDefinition" "$tmp/out" | head -1 | cut -d: -f1)
first_cr=$(grep -nE "^[0-9]{4}-.*monitoring.coreos.com +(Prometheus|ServiceMonitor|Alertmanager|PrometheusRule) " "$tmp/out" | head -1 | cut -d: -f1)
first_ns=$(grep -nE "^[0-9]{4}-.* Namespace " "$tmp/out" | head -1 | cut -d: -f1)
check "Namespace, then CRDs, then custom resources" eval '[ -n "$first_ns" ] && [ -n "$first_crd" ] && [ -n "$first_cr" ] && [ "$first_ns" -lt "$first_crd" ] && [ "$first_crd" -lt "$first_cr" ]'
check "CRDs were Established before their CRs" eval 'k get crd prometheuses.monitoring.coreos.com -o jsonpath="{.status.conditions[?(@.type==\"Established\")].status}" | grep -q True'
check "a Service without protocol was applied (defaulted TCP)" eval '[ "$(jp svc grafana -n monitoring -o jsonpath={.spec.ports[0].protocol})" = TCP ]'
check "the APIService exists" eval 'jp apiservice v1beta1.metrics.k8s.io -o name | grep -q metrics'
check "a custom resource exists" eval 'jp prometheus k8s -n monitoring -o name | grep -q k8s'
run gs diff "$tmp/kp.yaml" --app kp
check "diff after sync is clean (exit 0)" eval 'rc_is 0'
pc_reset
run gsp sync "$tmp/kp.yaml" --app kp
check "re-sync writes nothing ($(pc verb:patch) patches, $(pc verb:update) updates, $(pc total) requests)" \
  eval 'rc_is 0 && [ "$(pc verb:patch)" -eq 0 ] && [ "$(pc verb:update)" -eq 0 ]'

finish
