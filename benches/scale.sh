#!/usr/bin/env bash
# The scale curve: generate a UN-like synthetic corpus (`tagger synth`: CJK-like pre-segmented words, ~700 tokens
# and ~13 labels per document, power-law label frequencies) of N training documents plus 5,000 test documents
# from the same label world, train on the first N, evaluate on the 5,000, and record wall time, peak RSS, model
# size, quality and prediction speed. Writes benches/out/scale.{jsonl,md} and the "scale" table of BENCHMARKS.md.
#
#   bash benches/scale.sh                  # SIZES="10000 100000 1000000", LABELS=1000 -> section "scale"
#   LABELS=5000 bash benches/scale.sh      # -> section "scale_5000" (one table per label count)
#
# Environment: SIZES, LABELS, WORK (scratch directory for the corpora, default /tmp/tagger-scale; needs ~5 GB
# per million documents), KEEP=1 keeps the corpora.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
SIZES="${SIZES:-10000 100000 1000000}"
LABELS="${LABELS:-1000}"
WORK="${WORK:-/tmp/tagger-scale}"
TEST=5000
cargo build --release -p tagger >/dev/null 2>&1
bin="$root/target/release/tagger"
mkdir -p "$WORK" benches/out
# Words are given (pre-segmented), so plain word unigrams seen in at least two documents; everything else is the
# training default (thresholds on 5 folds up to 50,000 documents, one held-out slice above).
cfg="$WORK/config.json"
echo '{"tokenizer":{"segmenter":"whitespace"},"features":{"ngram_max":1,"min_df":2}}' > "$cfg"
section="scale"
[ "$LABELS" = 1000 ] || section="scale_$LABELS"
out="benches/out/$section.jsonl"
: > "$out"
for n in $SIZES; do
  all="$WORK/synth-$n.jsonl"
  "$bin" synth --out "$all" --docs $((n + TEST)) --labels "$LABELS" --seed 7 2>/dev/null
  head -n "$n" "$all" > "$WORK/train-$n.jsonl"
  tail -n "$TEST" "$all" > "$WORK/test-$n.jsonl"
  rm -f "$all"
  model="$WORK/model-$n.tgm"
  /usr/bin/time -f "%e %M" -o "$WORK/time-$n.txt" \
    "$bin" train --corpus "$WORK/train-$n.jsonl" --out "$model" --config "$cfg" --quiet 2> "$WORK/train-$n.log"
  eval_json=$("$bin" eval --model "$model" --corpus "$WORK/test-$n.jsonl" --json)
  python3 - "$n" "$LABELS" "$WORK/time-$n.txt" "$model" "$eval_json" "$WORK/train-$n.log" >> "$out" <<'PY'
import json, os, sys
n, labels, timef, model, ev, log = sys.argv[1:7]
wall, rss_kb = open(timef).read().split()[-2:]
ev = json.loads(ev)
print(json.dumps({
    "docs": int(n), "labels": int(labels), "train_wall_s": float(wall), "peak_rss_gb": int(rss_kb) / 1024 / 1024,
    "model_mb": os.path.getsize(model) / 1e6, "micro_f1": ev["micro_f1"], "macro_f1": ev["macro_f1"],
    "p_at_1": ev["p_at_1"], "predict_docs_per_sec": ev.get("predict_docs_per_sec"),
    "train_log": open(log).read().strip().splitlines(),
}))
PY
  [ "${KEEP:-0}" = 1 ] || rm -f "$WORK/train-$n.jsonl" "$WORK/test-$n.jsonl" "$model"
done
python3 - "$out" > "benches/out/$section.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| training docs | labels | train wall | s per 1k docs | peak RSS | model | test micro-F1 | macro-F1 | P@1 | predict docs/s (all cores) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['docs']:,} | {r['labels']:,} | {r['train_wall_s']:.0f} s | {1000 * r['train_wall_s'] / r['docs']:.2f} | "
          f"{r['peak_rss_gb']:.2f} GB | {r['model_mb']:.0f} MB | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} | "
          f"{r['p_at_1']:.3f} | {r['predict_docs_per_sec']:,.0f} |")
PY
cat "benches/out/$section.md"
python3 benches/update_section.py "$section" "benches/out/$section.md"
