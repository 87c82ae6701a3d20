#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# Bounded on any input (issue 13).  The real agent runs with pod-like limits
# (a 256 MiB address space, `ulimit -v`, where the machine allows it; else
# its peak RSS is asserted) and a probes listener.  One app is hostile:
# each of its commits is one input that took the agent down before -- an
# 80 KB commit whose aliases explode over many files, a kustomization
# "diamond", JSON-patch copies doubling a document, a catastrophic target
# regex, a compressed 20 MB blob, 20,000 plain files (100,000 with --full).
# A long poll on a manual app's Running operation must answer when the
# operation ends, woken by the app's watch event (its reads are counted:
# never on a timer).  The HTTP server gets 70 slow connections, 62
# unauthenticated uploads and 64 `?wait=nan` polls.  After each: the agent is up and answers /healthz,
# the other app keeps syncing, the hostile app's condition names the limit,
# and the agent's peak RSS stays under 64 MiB.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rel_attach

DST=rel-bounds-dst
MAX_HWM_KB=65536
repo_new bgood
repo_new bbad
gwd=$(repo_dir bgood)
bwd=$(repo_dir bbad)
cm g1 v=0 >"$gwd/app/g1.yaml"
grev=$(repo_commit bgood g0)
cm b1 v=0 >"$bwd/app/b1.yaml"
brev=$(repo_commit bbad b0)
app_new bgood "$DST"
app_new bbad "$DST"
# manual sync: the agent leaves its operation state alone (an automated app
# with a Running phase is re-synced at once as an interrupted sync)
k create namespace "$DST-w" >/dev/null 2>&1
run "$G" app create bwait --repo "$(repo_url bgood)" --path app --dest-namespace "$DST-w" --app-namespace "$RNS"
port=$(free_port)
hport=$(free_port)

# the agent under a 256 MiB address-space limit when the machine allows
wrap="$REL_ENV/gitsync-as256"
printf '#!/bin/sh\nulimit -v 262144 || exit 97\nexec "%s" "$@"\n' "$(cd "$(dirname "$G")" && pwd)/$(basename "$G")" >"$wrap"
chmod +x "$wrap"
limited=0
if bash -c 'ulimit -v 262144' 2>/dev/null; then
  G_SAVED="$G"; G="$wrap"
  agent_start bd "$port" --health-listen "127.0.0.1:$hport"
  G="$G_SAVED"
  if wait_for 90 eval 'agent_ready "$port" && app_at bgood "$grev"'; then
    limited=1
  else
    diag "the agent did not start under ulimit -v 256 MiB; running it unlimited, peak RSS asserted"
    kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null
  fi
fi
if [ "$limited" = 0 ]; then
  port=$(free_port); hport=$(free_port)
  agent_start bd "$port" --health-listen "127.0.0.1:$hport"
fi
figure "bounds-agent-address-space-limit" "$([ "$limited" = 1 ] && echo 256MiB || echo none)"
check "agent ready, both apps synced" wait_for 120 eval 'agent_ready "$port" && app_at bgood "$grev" && app_at bbad "$brev"'
base="http://127.0.0.1:$port"
tok_read=$(cat "$REL_ENV/token.read")

hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$agent_pid/status" 2>/dev/null; }
healthy() { curl -sf --max-time 5 "http://127.0.0.1:$hport/healthz" >/dev/null && kill -0 "$agent_pid" 2>/dev/null; }
gn=0
# the other app keeps syncing: a new commit of bgood is applied
good_syncs() {
  gn=$((gn + 1))
  cm g1 "v=$gn" >"$gwd/app/g1.yaml"
  grev=$(repo_commit bgood "g$gn")
  wait_for 120 eval 'app_at bgood "$grev" && cm_is "$DST" g1 v "$gn"'
}

# ---- a long poll is woken by its app's watch event, not by reading it on a timer
poll_reads() { curl -sf --max-time 5 "$base/metrics" | awk '/^gitsync_api_long_poll_reads_total /{print $2; f=1} END{if(!f) print 0}'; }
set_phase() { k patch application bwait -n "$RNS" --subresource=status --type merge -p "{\"status\":{\"operationState\":{\"phase\":\"$1\"}}}" >/dev/null; }
check "the manual app is compared (its status written)" wait_for 120 eval '[ -n "$(appj bwait "{.status.sync.status}")" ]'
set_phase Running
sleep 2
r0=$(poll_reads)
curl -s --max-time 90 -o "$REL_ENV/lp.json" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $tok_read" \
  "$base/api/v1/applications/bwait/operation?namespace=$RNS&wait=60" >"$REL_ENV/lp.code" &
lp=$!
sleep 6  # the poll waits: a 0.25 s timer would read the app about 24 times meanwhile
rmid=$(poll_reads)
check "a long poll on a Running operation is still waiting after 6 s" kill -0 "$lp"
set_phase Succeeded
wait "$lp"
r1=$(poll_reads)
diag "long poll: $(cat "$REL_ENV/lp.code"), reads $r0 -> $rmid (after 6 s) -> $r1, answer $(head -c 200 "$REL_ENV/lp.json")"
check "the long poll answers 200 with finished=true once the operation ends" \
  eval 'grep -q "^200 " "$REL_ENV/lp.code" && grep -q "\"finished\":true" "$REL_ENV/lp.json"'
check "the long poll returned on the change, before its 60 s wait ended" \
  eval '[ "$(awk "{print (\$2 < 55)}" "$REL_ENV/lp.code")" = 1 ]'
check "the long poll read the app $((rmid - r0)) time(s) in its first 6 s, $((r1 - r0)) in all (at the start and per event, never on a timer)" \
  eval '[ $((rmid - r0)) -ge 1 ] && [ $((rmid - r0)) -le 2 ] && [ $((r1 - r0)) -le 4 ]'
figure "bounds-long-poll-reads" "$((r1 - r0))"

# hostile DESC LIMIT-PATTERN: the files of bbad/app are written; commit them
hostile() {
  local desc="$1" pat="$2" rev conds kb
  cm b1 v=bad >"$bwd/app/b1.yaml"
  rev=$(repo_commit bbad "hostile: $desc")
  count_input "bounds: $desc"
  cond_has() { conds="$(app_conditions bbad)"; grep -qE -- "$pat" <<<"$conds"; }
  if wait_for 180 cond_has; then ok "$desc: the app's condition names the limit ($pat)"; else not_ok "$desc: the app's condition names the limit ($pat)"; fi
  diag "conditions: $(head -c 600 <<<"$conds")"
  check "$desc: agent up, /healthz answered" healthy
  check "$desc: nothing of the commit applied" cm_is "$DST" b1 v 0
  check "$desc: the other app keeps syncing" good_syncs
  kb=$(hwm_kb)
  check "$desc: agent peak RSS ${kb} kB < 64 MiB" eval '[ -n "$kb" ] && [ "$kb" -lt "$MAX_HWM_KB" ]'
  figure "bounds-hwm-kb-$(tr -c 'a-z0-9\n' - <<<"${desc%% *}")" "$kb"
  # back to a good tree
  find "$bwd/app" -mindepth 1 -delete
  cm b1 v=0 >"$bwd/app/b1.yaml"
  rev=$(repo_commit bbad "repair")
  # the repair restores what is live: compared Synced, no sync operation needed
  check "$desc: the repaired commit is Synced, the condition cleared" wait_for 180 eval \
    '[ "$(appj bbad "{.status.sync.revision}")" = "$rev" ] && [ "$(appj bbad "{.status.sync.status}")" = Synced ] && [ -z "$(app_conditions bbad)" ]'
}

# ---- an 80 KB commit: aliases exploding across documents and files
for f in $(seq 1 160); do
  { echo 'x0: &a0 [1,2,3,4,5,6,7,8,9]'
    for i in 1 2 3 4; do printf 'x%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n' $i $i $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)) $((i-1)); done
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: boom%d}\n' "$f"
    echo 'data: {k: *a4, l: *a4, m: *a4, n: *a4, o: *a4, p: *a4, q: *a4, r: *a4}'
  } >"$bwd/app/boom$f.yaml"
done
diag "alias commit: $(cat "$bwd"/app/boom*.yaml | wc -c) bytes"
hostile "aliases over 160 files (80 KB)" 'render-max-nodes'

# ---- a kustomization diamond: each layer includes the one below 4 times
mkdir -p "$bwd/app/l0"
for i in $(seq 1 50); do cm "c$i" "k=$(head -c 300 /dev/zero | tr '\0' x)"; echo ---; done >"$bwd/app/l0/cms.yaml"
printf 'resources:\n- cms.yaml\n' >"$bwd/app/l0/kustomization.yaml"
for l in 1 2 3 4 5 6 7; do
  mkdir -p "$bwd/app/l$l"
  printf 'resources:\n- p1\n- p2\n- p3\n- p4\n' >"$bwd/app/l$l/kustomization.yaml"
  for j in 1 2 3 4; do
    mkdir -p "$bwd/app/l$l/p$j"
    printf 'resources:\n- ../../l%d\nnamePrefix: p%d-\n' $((l - 1)) "$j" >"$bwd/app/l$l/p$j/kustomization.yaml"
  done
done
printf 'resources:\n- b1.yaml\n- l7\n' >"$bwd/app/kustomization.yaml"
# on a loaded machine the time limit may come first, and the render child's
# address space may run out before the node count does: each limit is right,
# as long as the condition names it (the agent itself is never at risk)
hostile "diamond of bases (7 layers x 4)" 'render-max-nodes|render-timeout|render-max-memory'

# ---- JSON-patch copies doubling a document
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dbl\ndata:\n  a: {x: "%s"}\n' "$(head -c 1000 /dev/zero | tr '\0' y)" >"$bwd/app/dbl.yaml"
{ printf 'resources:\n- b1.yaml\n- dbl.yaml\npatches:\n- target: {kind: ConfigMap, name: dbl}\n  patch: |-\n'
  for i in $(seq 1 24); do echo "    - {op: copy, from: /data/a, path: /data/a/c$i}"; done; } >"$bwd/app/kustomization.yaml"
hostile "24 JSON-patch copies (1.5 KB)" 'would exceed 16 MiB'

# ---- a patch target whose name regex backtracks catastrophically
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n' >"$bwd/app/re.yaml"
printf 'resources:\n- b1.yaml\n- re.yaml\npatches:\n- target: {kind: ConfigMap, name: "(a?){25}a{25}"}\n  patch: |-\n    - {op: add, path: /data, value: {}}\n' >"$bwd/app/kustomization.yaml"
hostile "nested repetition in a target name regex" 'match limit'

# ---- a 20 MB blob that compresses to a few KB
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  x: "'; head -c 20000000 /dev/zero | tr '\0' x; echo '"'; } >"$bwd/app/big.yaml"
hostile "a 20 MB blob (compressed to KBs)" 'before inflating'

# ---- many plain files: linear, and within the budget they render
nfiles=20000; [ "$REL_MODE" = full ] && nfiles=100000
mkdir -p "$bwd/app/many"
seq 1 "$nfiles" | awk -v d="$bwd/app/many" '{printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m%d\n", $1 > (d "/m" $1 ".yaml"); close(d "/m" $1 ".yaml")}'
t0=$(rel_now)
run "$G" render --recurse "$bwd/app"
rs=$(rel_elapsed "$t0")
check "$nfiles plain files: render succeeds in ${rs} s" eval '[ "$rc" = 0 ]'
figure "bounds-render-$nfiles-files-s" "$rs"
rm -rf "$bwd/app/many"

# ---- HTTP: 70 slow connections, then probes and the other app
"$PY3" - "$port" 70 >"$REL_OUT/s-bounds-slow.log" 2>&1 <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /healthz HT")  # never finished
        socks.append(s)
    except OSError as e:
        print("conn", i, e)
print("open", len(socks)); sys.stdout.flush()
time.sleep(20)
PY
slow=$!
count_input "http: 70 slow connections"
sleep 2
check "70 slow connections: /healthz answered on the probes listener" healthy
check "70 slow connections: /readyz answered on the probes listener" curl -sf --max-time 5 "http://127.0.0.1:$hport/readyz" -o /dev/null
check "70 slow connections: the other app keeps syncing" good_syncs
kill "$slow" 2>/dev/null; wait "$slow" 2>/dev/null

# ---- 62 unauthenticated 2 MB uploads at once
rss0=$(rss_kb "$agent_pid")
head -c 2000000 /dev/zero | tr '\0' x >"$REL_ENV/upload.bin"
pids=()
for i in $(seq 1 62); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=00" \
    --limit-rate 500k --data-binary @"$REL_ENV/upload.bin" "$base/api/webhook" >>"$REL_ENV/upload.codes" 2>/dev/null &
  pids+=($!)
done
count_input "http: 62 unauthenticated 2 MB uploads"
peak=0
for _ in $(seq 1 20); do r=$(rss_kb "$agent_pid"); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.5; done
wait "${pids[@]}" 2>/dev/null
diag "upload answers: $(sort "$REL_ENV/upload.codes" | uniq -c | tr '\n' ' ')"
check "62 unauthenticated uploads: agent RSS ${rss0} -> peak ${peak} kB, under 64 MiB" eval '[ "$peak" -lt "$MAX_HWM_KB" ]'
check "62 unauthenticated uploads: agent up, /healthz answered" healthy
check "62 unauthenticated uploads: some refused 503 (body budget) or 401, none accepted" \
  eval '! grep -q "^200" "$REL_ENV/upload.codes"'
figure "bounds-upload-peak-rss-kb" "$peak"

# ---- 64 ?wait=nan polls with a read-only token, then 64 valid long polls
: >"$REL_ENV/nan.codes"
pids=()
for i in $(seq 1 64); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -H "Authorization: Bearer $tok_read" \
    "$base/api/v1/applications/bgood/operation?namespace=$RNS&wait=nan" >>"$REL_ENV/nan.codes" &
  pids+=($!)
done
wait "${pids[@]}"  # never a bare wait: the agent is a child of this shell
count_input "http: 64 ?wait=nan polls"
diag "wait=nan answers: $(sort "$REL_ENV/nan.codes" | uniq -c | tr '\n' ' ')"
check "64 ?wait=nan polls: refused 400 at once (or the connection refused by the per-address limit), none waits" \
  eval '[ "$(grep -cE "^(400|000)" "$REL_ENV/nan.codes")" = 64 ] && [ "$(grep -c "^400" "$REL_ENV/nan.codes")" -ge 1 ]'
: >"$REL_ENV/wait.codes"
pids=()
for i in $(seq 1 64); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -H "Authorization: Bearer $tok_read" \
    "$base/api/v1/applications/bgood/operation?namespace=$RNS&wait=5" >>"$REL_ENV/wait.codes" &
  pids+=($!)
done
sleep 1
check "64 long polls: /healthz answered meanwhile" healthy
wait "${pids[@]}"
diag "long poll answers: $(sort "$REL_ENV/wait.codes" | uniq -c | tr '\n' ' ')"
# bgood is Synced, so a poll answers at once when its operation finished;
# either way no more than 8 are held, the others get 429 (or the
# per-address connection limit refuses them)
check "64 long polls: all answered within their bound (200, 429, or refused), the agent alive" \
  eval '[ "$(grep -cE "^(200|429|000)" "$REL_ENV/wait.codes")" = 64 ] && healthy'
check "after all of it: the other app keeps syncing" good_syncs
kb=$(hwm_kb)
check "after all of it: agent peak RSS ${kb} kB < 64 MiB" eval '[ -n "$kb" ] && [ "$kb" -lt "$MAX_HWM_KB" ]'
figure "bounds-agent-peak-rss-kb" "$kb"
