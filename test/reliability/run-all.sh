#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154  # variables are read inside eval strings and set by lib.sh
# run-all.sh - the reliability suite (docs/RELIABILITY.md).
#
#   test/reliability/run-all.sh [--full] [--results DIR] [--doc FILE] [--fuzz BUILD] [--sanitized] [SCENARIO...]
#
# Builds one environment (test cluster with fault proxy, Git server behind a
# TCP fault proxy, CRD, agent Secret), runs the scenarios (default: all, in
# the order below) as one TAP stream, then greps every output of the run for
# the test Secrets' values, the Git passwords and the URL token the
# s-confine* scenarios use (they add theirs to $REL_ENV/secret-values).  --full is the documented long run (10 agent
# kills, a 200 MB scalar, the 50-app / 10,000-reconcile soak); the default
# is the bounded CI run.  --sanitized: GITSYNC is an ASan+UBSan build; any
# report from any gitsync process fails the run.  --fuzz BUILD also runs the libFuzzer targets of a
# `-Dfuzzing=true` build (3,000 runs each; --full: 10 minutes each).  --results DIR keeps results.tsv, figures.tsv and
# the outputs there; --doc FILE rewrites the generated part of
# docs/RELIABILITY.md from this run.  Env: GITSYNC (binary), GS_KEEP_TMP=1.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REL_MODE=ci
doc=""
resdir=""
fuzzdir=""
sanitized=0
scenarios=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) REL_MODE=full ;;
    --ci) REL_MODE=ci ;;
    --results) resdir="$2"; shift ;;
    --doc) doc="$2"; shift ;;
    --fuzz) fuzzdir="$2"; shift ;;
    --sanitized) sanitized=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) scenarios+=("$1") ;;
  esac
  shift
done
[ ${#scenarios[@]} -eq 0 ] && scenarios=(api-faults restart agent-kill git bad-commits lease hostile confine confine-cli confine-creds tenancy bounds secrets soak)
export REL_MODE
export REL_LEASH=$$
REL_SCENARIO=run-all
. "$here/lib.sh"
rel_require
if [ -n "$resdir" ]; then
  mkdir -p "$resdir"; rm -rf "${resdir:?}/out"
  export REL_OUT="$resdir/out" REL_RESULTS="$resdir/results.tsv"
  : >"$REL_RESULTS"
fi
trap 'rel_env_down' EXIT
t0=$(rel_now)
rel_env_up || exit 1
if [ "$sanitized" = 1 ]; then
  # GITSYNC is an ASan+UBSan build: every report of every gitsync process
  # (agents, CLI) goes to a file, checked at the end; leaks are reported at
  # exit (agents killed with SIGKILL cannot report theirs)
  mkdir -p "$REL_ENV/san"
  export REL_SANITIZED=1
  export ASAN_OPTIONS="log_path=$REL_ENV/san/asan:detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="log_path=$REL_ENV/san/ubsan:print_stacktrace=1:halt_on_error=0:${UBSAN_OPTIONS:-}"
fi
echo "# environment ready in $(rel_elapsed "$t0") s ($REL_ENV), mode $REL_MODE"
: >"$REL_ENV/figures"; : >"$REL_ENV/inputs"; : >"$REL_ENV/faults"
printf '%s\n%s\n' "$REL_SECRET_VALUE" "$REL_SECRET_B64" >"$REL_ENV/secret-values"

for s in "${scenarios[@]}"; do
  st=$(rel_now)
  echo "# --- scenario $s"
  REL_SCENARIO="s-$s" bash "$here/s-$s.sh"
  echo "# --- scenario $s: $(rel_elapsed "$st") s"
  printf 's-%s\t%s\n' "$s" "$(rel_elapsed "$st")" >>"$REL_ENV/durations"
done

# ---- libFuzzer targets of a -Dfuzzing=true build (ASan+UBSan), when given
if [ -n "$fuzzdir" ]; then
  REL_SCENARIO=fuzz
  st=$(rel_now)
  echo "# --- fuzz ($fuzzdir)"
  if [ "$REL_MODE" = full ]; then fr=(0 600); else fr=("${REL_FUZZ_RUNS:-3000}" 60); fi
  while IFS= read -r line; do
    case "$line" in
      "ok "*) ok "${line#ok * - }" ;;
      "not ok "*) not_ok "${line#not ok * - }" ;;
      "# figure "*) set -- ${line#\# figure }; figure "$1" "$2" ;;
      "#"*) echo "$line" ;;
    esac
  done < <("$here/fuzz-run.sh" "$fuzzdir" "${fr[@]}" 2>&1)
  printf 'fuzz\t%s\n' "$(rel_elapsed "$st")" >>"$REL_ENV/durations"
fi

if [ "$sanitized" = 1 ]; then
  REL_SCENARIO=sanitizers
  reps=$(find "$REL_ENV/san" -type f | wc -l)
  if [ "$reps" -eq 0 ]; then
    ok "no ASan/LSan/UBSan report from any gitsync process of the run"
  else
    not_ok "no ASan/LSan/UBSan report from any gitsync process of the run ($reps reports)"
    for f in $(find "$REL_ENV/san" -type f | head -5); do diag "$(head -c 2000 "$f")"; done
    mkdir -p "$REL_OUT/sanitizer-reports"; cp "$REL_ENV"/san/* "$REL_OUT/sanitizer-reports/" 2>/dev/null
  fi
  figure "sanitized" "yes ($reps reports)"
fi

# ---- the final grep: every output of the whole run
REL_SCENARIO=secrets-grep
k get events -A -o yaml >"$REL_OUT/final.events.yaml" 2>&1
k get applications -A -o yaml >"$REL_OUT/final.applications.yaml" 2>&1
nfiles=$(find "$REL_OUT" -type f ! -name '*.cmd' | wc -l)
nbytes=$(find "$REL_OUT" -type f ! -name '*.cmd' -printf '%s\n' | awk '{s+=$1} END{print s+0}')
leaks=$(grep -rlF -f "$REL_ENV/secret-values" --exclude='*.cmd' "$REL_OUT")
if [ -z "$leaks" ]; then
  ok "no test Secret value, Git password or URL token in any output of the suite ($nfiles files, $nbytes bytes: agent logs, CLI and API output, events, Applications)"
else
  not_ok "no test Secret value, Git password or URL token in any output of the suite"; diag "found in: $leaks"
fi
figure "outputs-grepped-files" "$nfiles"
figure "outputs-grepped-bytes" "$nbytes"
figure "faults-total" "$(grep -c . "$REL_ENV/faults")"
figure "bad-inputs-total" "$(grep -c . "$REL_ENV/inputs")"
figure "suite-seconds" "$(rel_elapsed "$t0")"
if [ "$sanitized" = 1 ]; then figure "mode" "$REL_MODE-sanitized"; else figure "mode" "$REL_MODE"; fi

n=$(cat "$REL_ENV/tapn" 2>/dev/null || echo 0)
echo "1..$n"
if [ -n "$resdir" ]; then
  cp "$REL_ENV/figures" "$resdir/figures.tsv"
  cp "$REL_ENV/durations" "$resdir/durations.tsv" 2>/dev/null
  sort "$REL_ENV/inputs" | uniq -c >"$resdir/inputs.txt"
  sort "$REL_ENV/faults" | uniq -c >"$resdir/faults.txt"
fi
if [ -n "$doc" ]; then
  "$PY3" "$here/report.py" --results "$REL_RESULTS" --figures "$REL_ENV/figures" \
    --durations "$REL_ENV/durations" --doc "$doc" >&2 || echo "# could not update $doc" >&2
fi
[ ! -s "$REL_ENV/failed" ]
