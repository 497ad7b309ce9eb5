#!/usr/bin/env bash
# Batching sweep: start `tagger serve` with each (batch_max_docs, batch_max_delay_us) pair, load it with
# `tagger loadgen` (unary at concurrency 64, and TagBatch of 64), and print a markdown table of throughput and
# latency, with the in-process `predict` throughput of the same model and documents measured in the same run
# as the baseline. Bounded: each run stops after REQUESTS documents or 30 s. Rewrites the serve_sweep table of
# BENCHMARKS.md.
#
#   bash benches/serve_sweep.sh            # corpus: Reuters-21578 test, model: models/reuters
#
# Environment: CORPUS, MODEL, REQUESTS, PAIRS ("docs:delay_us ...").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
CORPUS="${CORPUS:-../shared/data/reuters21578/test}"
MODEL="${MODEL:-models/reuters/1/model.tgm}"
REQUESTS="${REQUESTS:-30000}"
PAIRS="${PAIRS:-1:0 8:0 32:0 32:500 64:500 64:2000 128:2000}"
PORT="${PORT:-50999}"
cargo build --release -p tagger >/dev/null 2>&1
bin="$root/target/release/tagger"
mkdir -p benches/out
out="benches/out/serve_sweep.jsonl"
: > "$out"
table="benches/out/serve_sweep.md"
{
echo "| batch_max_docs | max_delay µs | mode | docs/s | × in-process | p50 ms | p99 ms | codes |"
echo "|---:|---:|---|---:|---:|---:|---:|---|"
for pair in $PAIRS; do
  docs="${pair%%:*}"; delay="${pair##*:}"
  "$bin" serve --model "$MODEL" --addr "127.0.0.1:$PORT" --metrics-addr off --reload-interval-secs 0 \
    --batch-max-docs "$docs" --batch-max-delay-us "$delay" 2>/dev/null &
  pid=$!
  for _ in $(seq 50); do "$bin" loadgen --addr "127.0.0.1:$PORT" --corpus "$CORPUS" --requests 1 --concurrency 1 >/dev/null 2>&1 && break; sleep 0.1; done
  for mode in unary batch; do
    line=$("$bin" loadgen --addr "127.0.0.1:$PORT" --corpus "$CORPUS" --mode "$mode" --batch-size 64 \
      --concurrency $([ "$mode" = unary ] && echo 64 || echo 8) --requests "$REQUESTS" --duration-secs 30 \
      --baseline-model "$MODEL" --json)
    echo "{\"batch_max_docs\":$docs,\"delay_us\":$delay,\"result\":$line}" >> "$out"
    python3 - "$docs" "$delay" "$line" <<'PY'
import json, sys
d, delay, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"| {d} | {delay} | {r['mode']} x{r['concurrency']} | {r['docs_per_sec']:.0f} | {r['ratio_to_in_process']:.2f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['codes']} |")
PY
  done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
done
} | tee "$table"
python3 benches/update_section.py serve_sweep "$table"
