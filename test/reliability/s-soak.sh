#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Soak: APPS applications of OBJ objects each under one agent, with random
# drift (kubectl edits, deletions) and random commits, until the agent has
# made RECONCILES reconciles; RSS and open file descriptors sampled every
# few seconds.  At the end every app must be Synced at its last commit with
# every object at its value, and memory and descriptors flat: the last
# third of the samples no higher than the first third (after warm-up) by
# more than a margin.  CI: 10 apps, 300 reconciles; --full: 50 apps,
# 10,000 reconciles.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

if [ "$REL_MODE" = full ]; then APPS=${REL_SOAK_APPS:-50}; TARGET=${REL_SOAK_RECONCILES:-10000}
else APPS=${REL_SOAK_APPS:-10}; TARGET=${REL_SOAK_RECONCILES:-300}; fi
OBJ=${REL_SOAK_OBJECTS:-5}
DST=rel-soak-dst
k create namespace "$DST" >/dev/null 2>&1
declare -A val rev
for a in $(seq 1 "$APPS"); do
  repo_new "soak$a"
  for o in $(seq 1 "$OBJ"); do cm "s$a-$o" v=0 >"$(repo_dir "soak$a")/app/o$o.yaml"; done
  val[$a]=0
  rev[$a]=$(repo_commit "soak$a" v0)
  run "$G" app create "soak$a" --repo "$(repo_url "soak$a")" --path app --dest-namespace "$DST" \
    --app-namespace "$RNS" --sync-policy automated --auto-prune --self-heal
done
port=$(free_port)
agent_start sa "$port" --workers 4
all_synced() { local a; for a in $(seq 1 "$APPS"); do app_at "soak$a" "${rev[$a]}" || return 1; done; }
check "all $APPS apps ($((APPS * OBJ)) objects) synced" wait_for 300 all_synced
reconciles() {
  curl -s "http://127.0.0.1:$port/metrics" | awk '/^gitsync_reconciles_total/{s+=$2} END{printf "%d\n", s}'
}
samples="$REL_OUT/soak-samples.tsv"
printf 'elapsed_s\treconciles\trss_kb\tfds\tcommits\tdrifts\n' >"$samples"
t0=$(rel_now); commits=0; drifts=0
r0=$(reconciles)
limit=$(( TARGET / APPS * 6 + 600 ))   # seconds; a bound, not a measure
while :; do
  r=$(( $(reconciles) - r0 ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(rel_elapsed "$t0")" "$r" "$(rss_kb "$agent_pid")" "$(fds "$agent_pid")" \
    "$commits" "$drifts" >>"$samples"
  [ "$r" -ge "$TARGET" ] && break
  awk -v a="$(rel_elapsed "$t0")" -v l="$limit" 'BEGIN{exit !(a>l)}' && break
  kill -0 "$agent_pid" || break
  # one random commit and one random drift per round
  a=$(( RANDOM % APPS + 1 )); o=$(( RANDOM % OBJ + 1 ))
  val[$a]=$(( ${val[$a]} + 1 ))
  for o2 in $(seq 1 "$OBJ"); do cm "s$a-$o2" "v=${val[$a]}" >"$(repo_dir "soak$a")/app/o$o2.yaml"; done
  rev[$a]=$(repo_commit "soak$a" "v${val[$a]}"); commits=$((commits + 1))
  b=$(( RANDOM % APPS + 1 ))
  if [ $((RANDOM % 3)) -eq 0 ]; then
    k delete configmap "s$b-$o" -n "$DST" --wait=false >/dev/null 2>&1
  else
    k patch configmap "s$b-$o" -n "$DST" --type merge -p '{"data":{"v":"drift"}}' >/dev/null 2>&1
  fi
  drifts=$((drifts + 1))
  sleep 1
done
r=$(( $(reconciles) - r0 ))
check "the agent made $r reconciles (target $TARGET) in $(rel_elapsed "$t0") s" eval '[ "$r" -ge "$TARGET" ]'
check "the agent is alive" kill -0 "$agent_pid"
check "after $commits commits and $drifts drifts every app is Synced at its last commit" wait_for 300 all_synced
bad=0
for a in $(seq 1 "$APPS"); do for o in $(seq 1 "$OBJ"); do cm_is "$DST" "s$a-$o" v "${val[$a]}" || bad=$((bad + 1)); done; done
check "every object at its app's last value ($bad wrong)" eval '[ "$bad" -eq 0 ]'
# flatness: samples after the first 20% (warm-up), first third vs last third
read -r rss_first rss_last fd_first fd_last rss_max <<<"$(awk -F'\t' 'NR>1{n++; r[n]=$3; f[n]=$4}
  END{w=int(n*0.2)+1; m=n-w+1; t=int(m/3); if(t<1)t=1;
      for(i=w;i<w+t;i++){a+=r[i]; c+=f[i]} for(i=n-t+1;i<=n;i++){b+=r[i]; d+=f[i]}
      mx=0; for(i=1;i<=n;i++) if(r[i]>mx) mx=r[i];
      printf "%d %d %d %d %d\n", a/t, b/t, c/t, d/t, mx}' "$samples")"
diag "RSS kB: first third $rss_first, last third $rss_last, max $rss_max; fds: $fd_first -> $fd_last"
figure "soak-apps" "$APPS"
figure "soak-reconciles" "$r"
figure "soak-commits" "$commits"
figure "soak-drifts" "$drifts"
figure "soak-rss-start-kb" "$rss_first"
figure "soak-rss-end-kb" "$rss_last"
figure "soak-rss-max-kb" "$rss_max"
figure "soak-fds-start" "$fd_first"
figure "soak-fds-end" "$fd_last"
if [ "${REL_SANITIZED:-0}" = 1 ]; then
  # ASan keeps freed memory in quarantine (256 MiB by default): RSS grows by
  # design; leaks are LSan's job, checked when the agent exits
  skip "RSS flat" "ASan build: RSS includes the quarantine of freed memory; LSan checks leaks at exit"
else
  check "RSS flat: last third within 10% + 2 MiB of the first third" \
    eval '[ "$rss_last" -le $(( rss_first * 110 / 100 + 2048 )) ]'
fi
check "file descriptors flat (no more than 4 above the start)" eval '[ "$fd_last" -le $(( fd_first + 4 )) ]'
