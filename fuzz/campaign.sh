#!/usr/bin/env bash
# The fuzzing campaign: each target (all, or those named) runs until 10 million executions or 30 minutes,
# whichever comes first, under `nice -n 19` so it only takes idle CPU. After each target the script parses
# libFuzzer's final statistics and rewrites the "Fuzzing campaign" figures in RELIABILITY.md (between the
# fuzzing-campaign markers) from fuzz/campaign-results.tsv, one row per target, so nobody types a figure.
# A crash is minimized (`cargo fuzz tmin`) into fuzz/regressions/<target>/ and the campaign goes on.
#
#   bash fuzz/campaign.sh                    # every target, one after the other
#   bash fuzz/campaign.sh tokenize vocab_tsv # some of them
#   RUNS=100000 MAX_TIME=60 bash fuzz/campaign.sh corpus_jsonl   # a shorter pass (recorded as such)
#
# Two invocations may run side by side (say, one per core) on different targets: RELIABILITY.md and the
# results file are rewritten under a lock. The working corpora grow in fuzz/work/<target> (not committed);
# fuzz/corpus/<target> holds the committed seeds and is only read.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-10000000}
MAX_TIME=${MAX_TIME:-1800}
# sanitizer=none: tagger's crates forbid unsafe code, so the bugs to find are panics, aborts, hangs and runaway
# memory, which libFuzzer catches without ASan; ASan would halve the executions on a shared 2-core machine.
BUILD_FLAGS=(-O -a -s none)
FUZZ_FLAGS=(-runs="$RUNS" -max_total_time="$MAX_TIME" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1)
RESULTS=fuzz/campaign-results.tsv
DOC=RELIABILITY.md
LOGS=fuzz/work/logs
mkdir -p "$LOGS"

if ! command -v cargo-fuzz >/dev/null; then
  echo "cargo-fuzz is missing: nice -n 19 cargo install cargo-fuzz --version 0.13.2 --locked -j 1" >&2
  exit 1
fi

ALL=$(cargo +nightly fuzz list)
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  read -r -d '' -a TARGETS <<<"$ALL" || true
fi
for t in "${TARGETS[@]}"; do
  grep -qx "$t" <<<"$ALL" || { echo "no fuzz target named $t (there are: $(echo $ALL))" >&2; exit 2; }
done

echo "building every target (nice -n 19, one job)…" >&2
CARGO_BUILD_JOBS=1 nice -n 19 cargo +nightly fuzz build "${BUILD_FLAGS[@]}"

CARGO_FUZZ_VERSION=$(cargo fuzz --version | awk '{print $2}')
RUSTC_VERSION=$(rustc +nightly --version)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
CORES=$(nproc)
MEM_GB=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)

# Rewrite RELIABILITY.md's campaign figures from the results file.
render() {
  local tmp
  tmp=$(mktemp)
  {
    echo "<!-- fuzzing-campaign:begin (written by fuzz/campaign.sh; do not edit by hand) -->"
    echo
    echo "Machine: ${CORES} cores (${CPU}), ${MEM_GB} GB RAM, shared with other work: every run is \`nice -n 19\`,"
    echo "so the figures measure idle CPU, not the machine. cargo-fuzz ${CARGO_FUZZ_VERSION}, ${RUSTC_VERSION}."
    echo "Each target: \`nice -n 19 cargo +nightly fuzz run TARGET fuzz/work/TARGET fuzz/corpus/TARGET ${BUILD_FLAGS[*]} --"
    echo "-runs=RUNS -max_total_time=SECONDS ${FUZZ_FLAGS[*]:2}\` (RUNS and SECONDS in each row; 10000000 and 1800"
    echo "unless the row says otherwise), started by \`bash fuzz/campaign.sh\`. Executions, exec/s and peak RSS are"
    echo "libFuzzer's final \`stat::\` lines; cov (coverage points) and ft (features) its last status line; corpus the"
    echo "units of the working corpus at the end (seeds included)."
    echo
    echo "| target | date (UTC) | commit | limits (runs, s) | executions | wall time (s) | exec/s | cov | ft | corpus (units) | peak RSS (MB) | crashes | stopped by |"
    echo "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|"
    if [ -f "$RESULTS" ]; then
      sort -t$'\t' -k1,1 "$RESULTS" | awk -F'\t' '{
        printf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
      }'
    fi
    echo
    echo "<!-- fuzzing-campaign:end -->"
  } >"$tmp"
  python3 - "$DOC" "$tmp" <<'EOF'
import re, sys
doc, new = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
text = open(doc, encoding="utf-8").read()
pattern = re.compile(r"<!-- fuzzing-campaign:begin.*?<!-- fuzzing-campaign:end -->\n", re.S)
if not pattern.search(text):
    sys.exit(f"{doc} has no fuzzing-campaign markers")
open(doc, "w", encoding="utf-8").write(pattern.sub(lambda _: new, text, count=1))
EOF
  rm -f "$tmp"
}

# Record one target's figures (replacing its previous row) and re-render, under a lock.
record() {
  (
    flock 9
    touch "$RESULTS"
    { grep -v "^$1"$'\t' "$RESULTS" || true; printf '%s\n' "$2"; } >"$RESULTS.tmp"
    mv "$RESULTS.tmp" "$RESULTS"
    render
  ) 9>fuzz/work/.campaign.lock
}

for t in "${TARGETS[@]}"; do
  mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
  log="$LOGS/$t.log"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  echo "fuzzing $t: at most $RUNS executions or $MAX_TIME s (log: $log)" >&2
  start=$(date +%s)
  set +e
  nice -n 19 cargo +nightly fuzz run "$t" "fuzz/work/$t" "fuzz/corpus/$t" "${BUILD_FLAGS[@]}" -- "${FUZZ_FLAGS[@]}" \
    >"$log" 2>&1
  status=$?
  set -e
  wall=$(( $(date +%s) - start ))
  final_stat() { grep -a "^stat::$1:" "$log" | tail -1 | awk '{print $2}'; }
  execs=$(final_stat number_of_executed_units); execs=${execs:-?}
  rate=$(final_stat average_exec_per_sec); rate=${rate:-?}
  rss=$(final_stat peak_rss_mb); rss=${rss:-?}
  # The last status line ("#N DONE cov: … ft: … corp: U/B …", or the last progress line before a crash).
  last=$(grep -aE '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last"); cov=${cov:-?}
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last"); ft=${ft:-?}
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$last"); corp=${corp:-?}
  after=$(ls "fuzz/artifacts/$t" | wc -l)
  crashes=0
  stopped="time"
  if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
    artifact=$(ls -t "fuzz/artifacts/$t" | head -1)
    crashes="1: \`fuzz/regressions/$t/${artifact:-?}\`"
    stopped="crash"
    if [ -n "$artifact" ]; then
      mkdir -p "fuzz/regressions/$t"
      echo "$t crashed; minimizing $artifact" >&2
      nice -n 19 cargo +nightly fuzz tmin "$t" "fuzz/artifacts/$t/$artifact" "${BUILD_FLAGS[@]}" -r 2000 \
        >"$LOGS/$t.tmin.log" 2>&1 || true
      minimized=$(ls -t "fuzz/artifacts/$t" | grep '^minimized-from-' | head -1 || true)
      cp "fuzz/artifacts/$t/${minimized:-$artifact}" "fuzz/regressions/$t/$artifact"
    fi
  elif [ "$execs" != "?" ] && [ "$execs" -ge "$RUNS" ]; then
    stopped="runs"
  fi
  row=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$t" "$(date -u +%Y-%m-%d)" \
    "$(git rev-parse --short HEAD)" "$RUNS, $MAX_TIME" "$execs" "$wall" "$rate" "$cov" "$ft" "$corp" "$rss" \
    "$crashes" "$stopped")
  record "$t" "$row"
  echo "$t: $execs executions in $wall s, cov $cov, ft $ft, corpus $corp, crashes $crashes" >&2
done
