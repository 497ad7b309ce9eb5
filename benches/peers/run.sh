#!/usr/bin/env bash
# Peers vs tagger on the same corpus and split, measured in one run on this machine:
#   bash benches/peers/run.sh                 # Reuters-21578 and CAIL2019 from ../shared/data
# Sets up its own venv (benches/peers/.venv, from PyPI) the first time. Prints a markdown table.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${TAGGER_DATA:-$root/../shared/data}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sklearn, jieba, fasttext, omikuji" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "scikit-learn==1.*" jieba numpy fasttext-numpy2 omikuji
fi
(cd "$root" && cargo build --release -p tagger -q)
bin="$root/target/release/tagger"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "| corpus | system | train s | micro-F1 | macro-F1 | P@1 | predict docs/s (1 thread) |"
echo "|---|---|---:|---:|---:|---:|---:|"
for spec in "reuters21578:en" "cail2019_element:zh"; do
  corpus="${spec%%:*}"; lang="${spec##*:}"
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$venv/bin/python" "$here/peers.py" "$data/$corpus" "$lang" 2>/dev/null | grep '^{"system"' > "$tmp/peers.jsonl"
  start=$(date +%s.%N)
  "$bin" train --corpus "$data/$corpus/train" --out "$tmp/m.tgm" --quiet 2>/dev/null
  secs=$(python3 -c "import time; print(round(time.time() - $start, 2))")
  "$bin" eval --model "$tmp/m.tgm" --corpus "$data/$corpus/test" --json --threads 1 > "$tmp/eval.json"
  python3 - "$corpus" "$tmp/peers.jsonl" "$tmp/eval.json" "$secs" <<'PY'
import json, sys
corpus, peers, ev, secs = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), float(sys.argv[4])
rows = [json.loads(l) for l in open(peers)]
for r in rows:
    print(f"| {corpus} | {r['system']} | {r['train_seconds']:.2f} | {r['micro_f1']:.4f} | {r['macro_f1']:.4f} | {r['p_at_1']:.4f} | {r['predict_docs_per_sec']} |")
tuned = [r for r in rows if "tuned" in r["system"]][0]
print(f"| {corpus} | tagger (default; trains on both cores) | {secs:.2f} | {ev['micro_f1']:.4f} | {ev['macro_f1']:.4f} | {ev['p_at_1']:.4f} | {ev['predict_docs_per_sec']:.0f} |")
ft = [r for r in rows if r["system"].startswith("fastText")][0]
print(f"| {corpus} | ratios: tagger train time / tuned LinearSVC; tagger predict docs/s / fastText | {secs / tuned['train_seconds']:.2f} | | | | {ev['predict_docs_per_sec'] / ft['predict_docs_per_sec']:.2f} |")
PY
done
