#!/usr/bin/env bash
# Incremental learning against full retraining, on a time split of kirjastonhoitaja (YSO). The training split
# holds the questions before 2016; their ids grow with time, so the first 80% by id are the "old" documents a
# model was trained on and the last 20% the "new" ones indexed since. Three models, each evaluated on `validate`
# (the 2016 questions, never used for any choice here):
#   old      tagger train on the old documents
#   learn    tagger learn: the old model updated with the new documents (+ as many old ones replayed), and
#            without replay
#   retrain  tagger train on old + new (the whole training split)
# with wall time (/usr/bin/time) of each step.
#
#   bash benches/learn.sh          # data from ../shared/data, or TAGGER_DATA=/path/to/data
#
# Writes benches/out/learn.{jsonl,md} and the "learn" section of BENCHMARKS.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${TAGGER_DATA:-$root/../shared/data}"
(cd "$root" && cargo build --release -p tagger -q)
bin="$root/target/release/tagger"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$root/benches/out"
out="$root/benches/out/learn.jsonl"
table="$root/benches/out/learn.md"
: > "$out"
train="$data/kirjastonhoitaja/annif/train"
validate="$data/kirjastonhoitaja/annif/validate"
vocab=(--vocab "$data/vocab/yso-fi.tsv" --vocab "$data/vocab/yso-en.tsv")

mkdir -p "$tmp/old" "$tmp/new"
mapfile -t ids < <(find "$train" -name '*.txt' -printf '%f\n' | sed 's/\.txt$//' | sort -n)
cut=$(( ${#ids[@]} * 8 / 10 ))
for ((i = 0; i < ${#ids[@]}; i++)); do
  dest="$tmp/old"; [ "$i" -lt "$cut" ] || dest="$tmp/new"
  cp "$train/${ids[$i]}".* "$dest/"
done

timed() { local name=$1; shift; /usr/bin/time -f "%e %M" -o "$tmp/$name.time" "$@" 2> "$tmp/$name.log"; }
timed old "$bin" train -q --corpus "$tmp/old" "${vocab[@]}" --out "$tmp/old.tgm"
timed learn "$bin" learn --model "$tmp/old.tgm" --corpus "$tmp/new" --replay-corpus "$tmp/old" --out "$tmp/learn.tgm"
timed learn_no_replay "$bin" learn --model "$tmp/old.tgm" --corpus "$tmp/new" --out "$tmp/learn_no_replay.tgm"
timed retrain "$bin" train -q --corpus "$train" "${vocab[@]}" --out "$tmp/retrain.tgm"
for m in old learn learn_no_replay retrain; do
  "$bin" eval --model "$tmp/$m.tgm" --corpus "$validate" --json 2> /dev/null > "$tmp/$m.json"
  python3 - "$m" "$tmp/$m.time" "$tmp/$m.json" "$tmp/$m.log" "$cut" "${#ids[@]}" >> "$out" <<'PY'
import json, sys
name, timef, evalf, log, cut, total = sys.argv[1:]
wall, rss = open(timef).read().split()[-2:]
e = json.load(open(evalf))
print(json.dumps({"model": name, "seconds": float(wall), "rss_mb": int(rss) / 1024, "old_docs": int(cut),
                  "new_docs": int(total) - int(cut), "micro_f1": e["micro_f1"], "p_at_1": e["p_at_1"],
                  "f1_at_5": e["annif"]["f1_at_5"], "ndcg_at_5": e["annif"]["ndcg_at_5"],
                  "log": open(log).read().strip().splitlines()[-1] if name.startswith("learn") else ""}))
PY
done
python3 - "$out" "$(find "$validate" -name '*.txt' | wc -l)" > "$table" <<'PY'
import json, os, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n_validate = int(sys.argv[2])
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
r0 = rows[0]
print(f"Measured by `bash benches/learn.sh` at {commit} ({os.cpu_count()} cores): kirjastonhoitaja train split by id, "
      f"{r0['old_docs']:,} old and {r0['new_docs']:,} new documents; quality on validate ({n_validate} documents).\n")
what = {"old": "tagger train (old documents)", "learn": "tagger learn (new + as many old replayed)",
        "learn_no_replay": "tagger learn (new only)", "retrain": "tagger train (old + new)"}
print("| model | step | time | peak RSS | micro-F1 | P@1 | F1@5 | nDCG@5 |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['model']} | {what[r['model']]} | {r['seconds']:.1f} s | {r['rss_mb']:.0f} MB | {r['micro_f1']:.4f} | "
          f"{r['p_at_1']:.4f} | {r['f1_at_5']:.4f} | {r['ndcg_at_5']:.4f} |")
print()
by = {r["model"]: r for r in rows}
for m in ("learn", "learn_no_replay"):
    if m in by:
        print(f"* {m}: {by[m]['log']}")
if {"old", "learn", "retrain"} <= by.keys():
    o, l, t = by["old"], by["learn"], by["retrain"]
    gain = lambda k: (l[k] - o[k]) / (t[k] - o[k]) if t[k] != o[k] else float("nan")
    print(f"* learn recovers {gain('f1_at_5'):.0%} of the F1@5 and {gain('ndcg_at_5'):.0%} of the nDCG@5 a full retrain "
          f"gains over the old model, in {l['seconds'] / t['seconds']:.0%} of its time.")
PY
cat "$table"
python3 "$root/benches/update_section.py" learn "$table"
