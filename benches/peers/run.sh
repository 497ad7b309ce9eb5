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
mkdir -p "$root/benches/out"
table="$root/benches/out/peers.md"
json_out="$root/benches/out/peers.jsonl"
: > "$json_out"
{
echo "| corpus | system | train s | micro-F1 | macro-F1 | P@1 | P@3 | P@5 | predict docs/s (1 thread) | peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for spec in "reuters21578:en" "cail2019_element:zh"; do
  corpus="${spec%%:*}"; lang="${spec##*:}"
  : > "$tmp/peers.jsonl"
  for system in svc lr fasttext omikuji; do
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$venv/bin/python" "$here/peers.py" "$data/$corpus" "$lang" "$system" \
      2>/dev/null | grep '^{"system"' >> "$tmp/peers.jsonl"
  done
  /usr/bin/time -f "%e %M" -o "$tmp/time.txt" \
    "$bin" train --corpus "$data/$corpus/train" --out "$tmp/m.tgm" --quiet 2>/dev/null
  "$bin" eval --model "$tmp/m.tgm" --corpus "$data/$corpus/test" --json --threads 1 > "$tmp/eval.json"
  "$bin" eval --model "$tmp/m.tgm" --corpus "$data/$corpus/test" --json > "$tmp/eval_all.json"
  python3 - "$corpus" "$tmp/peers.jsonl" "$tmp/eval.json" "$tmp/eval_all.json" "$tmp/time.txt" "$json_out" <<'PY'
import json, sys
corpus, peers, ev, ev_all, timef, out = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), json.load(open(sys.argv[4])), sys.argv[5], sys.argv[6]
secs, rss_kb = (float(v) for v in open(timef).read().split()[-2:])
rows = [json.loads(l) for l in open(peers)]
rows.append({"system": "tagger (default; trains on both cores)", "train_seconds": secs, "micro_f1": ev["micro_f1"],
             "macro_f1": ev["macro_f1"], "p_at_1": ev["p_at_1"], "p_at_3": ev["p_at_3"], "p_at_5": ev["p_at_5"],
             "predict_docs_per_sec": ev["predict_docs_per_sec"], "peak_rss_mb": rss_kb / 1024,
             "predict_docs_per_sec_all_cores": ev_all["predict_docs_per_sec"]})
with open(out, "a") as f:
    for r in rows:
        f.write(json.dumps({"corpus": corpus, **r}) + "\n")
for r in rows:
    print(f"| {corpus} | {r['system']} | {r['train_seconds']:.2f} | {r['micro_f1']:.4f} | {r['macro_f1']:.4f} | "
          f"{r['p_at_1']:.4f} | {r['p_at_3']:.4f} | {r['p_at_5']:.4f} | {r['predict_docs_per_sec']:.0f} | {r['peak_rss_mb']:.0f} |")
tagger = rows[-1]
tuned = [r for r in rows if r["system"].startswith("LinearSVC tuned")][0]
plain = [r for r in rows if r["system"].startswith("LinearSVC plain")][0]
ft = [r for r in rows if r["system"].startswith("fastText")][0]
best = max(r["micro_f1"] for r in rows[:-1])
print(f"| {corpus} | **ratios**: tagger train / tuned LinearSVC, / plain LinearSVC; tagger micro-F1 − best peer's; "
      f"tagger docs/s / fastText's (all cores: {tagger['predict_docs_per_sec_all_cores']:.0f} docs/s) | "
      f"{secs / tuned['train_seconds']:.2f}, {secs / plain['train_seconds']:.2f} | {tagger['micro_f1'] - best:+.4f} | | | | | "
      f"{tagger['predict_docs_per_sec'] / ft['predict_docs_per_sec']:.2f} | |")
PY
done
} | tee "$table"
python3 "$root/benches/update_section.py" peers "$table"
