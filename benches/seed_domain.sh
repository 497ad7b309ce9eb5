#!/usr/bin/env bash
# The seed's own domain: UN-like pre-segmented Chinese-like corpora (`tagger synth`: CJK-like words separated by
# spaces, ~700 tokens and ~13 labels per document, power-law label frequencies), trained with no configuration
# (the defaults) and with plain word unigrams (`{"tokenizer":{"segmenter":"whitespace"},"features":{"ngram_max":1,
# "min_df":2}}`), for every size in SIZES and label count in LABELS. Each corpus is N training documents plus
# TEST fresh documents from the same generator stream (same label world). Records train wall time, peak RSS,
# model size, the held-out estimate `tagger train` prints (micro-F1, precision, recall), the same figures on
# the fresh documents, and tagging speed (`tagger eval`, in process, all cores). Writes
# benches/out/seed_domain.{jsonl,md} and the "seed_domain" table of BENCHMARKS.md.
#
#   bash benches/seed_domain.sh            # SIZES="2000 20000", LABELS="200 2000", TEST=2000
#
# Environment: SIZES, LABELS, TEST, SEED (3), WORK (scratch, default /tmp/tagger-seed-domain), KEEP=1 keeps it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
SIZES="${SIZES:-2000 20000}"
LABELS="${LABELS:-200 2000}"
TEST="${TEST:-2000}"
SEED="${SEED:-3}"
WORK="${WORK:-/tmp/tagger-seed-domain}"
cargo build --release -p tagger >/dev/null 2>&1
bin="$root/target/release/tagger"
mkdir -p "$WORK" benches/out
echo '{"tokenizer":{"segmenter":"whitespace"},"features":{"ngram_max":1,"min_df":2}}' > "$WORK/unigrams.json"
out="benches/out/seed_domain.jsonl"
: > "$out"
for labels in $LABELS; do
  for n in $SIZES; do
    all="$WORK/synth-$n-$labels.jsonl"
    "$bin" synth --out "$all" --docs $((n + TEST)) --labels "$labels" --seed "$SEED" 2>/dev/null
    head -n "$n" "$all" > "$WORK/train.jsonl"
    tail -n "$TEST" "$all" > "$WORK/test.jsonl"
    rm -f "$all"
    for setting in defaults unigrams; do
      args=()
      [ "$setting" = unigrams ] && args=(--config "$WORK/unigrams.json")
      model="$WORK/model-$setting.tgm"
      /usr/bin/time -f "%e %M" -o "$WORK/time.txt" \
        "$bin" train --corpus "$WORK/train.jsonl" --out "$model" "${args[@]}" --quiet 2> "$WORK/train.log"
      eval_json=$("$bin" eval --model "$model" --corpus "$WORK/test.jsonl" --json)
      python3 - "$n" "$labels" "$setting" "$WORK/time.txt" "$model" "$eval_json" "$WORK/train.log" >> "$out" <<'PY'
import json, os, re, sys
n, labels, setting, timef, model, ev, log = sys.argv[1:8]
wall, rss_kb = open(timef).read().split()[-2:]
ev = json.loads(ev)
lines = open(log).read().strip().splitlines()
est = next(re.search(r"micro-F1 ([\d.]+) \(precision ([\d.]+), recall ([\d.]+)\)", l) for l in lines if "estimate" in l)
features = next((l for l in lines if l.startswith("features compared")), "")
print(json.dumps({
    "docs": int(n), "labels": int(labels), "setting": setting, "train_wall_s": float(wall),
    "peak_rss_gb": int(rss_kb) / 1024 / 1024, "model_mb": os.path.getsize(model) / 1e6,
    "estimate": {"micro_f1": float(est[1]), "precision": float(est[2]), "recall": float(est[3])},
    "test": {"micro_f1": ev["micro_f1"], "precision": ev["micro_precision"], "recall": ev["micro_recall"]},
    "predict_docs_per_sec": ev.get("predict_docs_per_sec"), "pilot": features, "train_log": lines,
}))
PY
    done
    [ "${KEEP:-0}" = 1 ] || rm -f "$WORK/train.jsonl" "$WORK/test.jsonl" "$WORK"/model-*.tgm
  done
done
python3 - "$out" > benches/out/seed_domain.md <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = {(r["docs"], r["labels"]): r for r in rows if r["setting"] == "unigrams"}
print("| training docs | labels | setting | train wall | vs unigrams | peak RSS | model | estimate F1 (P / R) "
      "| fresh F1 (P / R) | estimate − fresh | tag docs/s |")
print("|---:|---:|---|---:|---:|---:|---:|---|---|---:|---:|")
for r in rows:
    e, t = r["estimate"], r["test"]
    ratio = r["train_wall_s"] / base[(r["docs"], r["labels"])]["train_wall_s"]
    print(f"| {r['docs']:,} | {r['labels']:,} | {r['setting']} | {r['train_wall_s']:.1f} s | {ratio:.2f}× | "
          f"{r['peak_rss_gb']:.2f} GB | {r['model_mb']:.0f} MB | {e['micro_f1']:.3f} ({e['precision']:.3f} / "
          f"{e['recall']:.3f}) | {t['micro_f1']:.3f} ({t['precision']:.3f} / {t['recall']:.3f}) | "
          f"{e['micro_f1'] - t['micro_f1']:+.3f} | {r['predict_docs_per_sec']:,.0f} |")
PY
cat benches/out/seed_domain.md
python3 benches/update_section.py seed_domain benches/out/seed_domain.md
