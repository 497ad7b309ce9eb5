#!/usr/bin/env bash
# Label-sharded training against one training, on the thesaurus corpora (where training takes long enough to
# matter): `tagger train` once, then for 1, 2 and 4 shards `tagger train --shard K/N` run one after another (each
# with both cores, as a pod of its own would have them) and side by side (all N at once sharing the two cores),
# each followed by `tagger merge`. Every merged model is compared byte for byte with the single training's (all
# steps share one SOURCE_DATE_EPOCH).
#
#   bash benches/shards.sh          # data from ../shared/data, or TAGGER_DATA=/path/to/data
#
# Columns: wall time (/usr/bin/time) of the single training; per shard count, the slowest shard alone, the work
# each shard repeats (reading the corpus, counting terms, TF-IDF — the "vocabulary" and "features" stages
# `tagger train` prints), the merge, and the sum of the shards run one after another and the wall time of all of
# them side by side; "cluster" estimates a cluster with a machine like this one per shard: slowest shard + merge.
# Writes benches/out/shards.{jsonl,md} and the "shards" section of BENCHMARKS.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${TAGGER_DATA:-$root/../shared/data}"
(cd "$root" && cargo build --release -p tagger -q)
bin="$root/target/release/tagger"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$root/benches/out"
out="$root/benches/out/shards.jsonl"
table="$root/benches/out/shards.md"
: > "$out"
export SOURCE_DATE_EPOCH=1764547200

# run NAME CMD…: wall seconds, peak RSS and the stage times of one tagger command, as a JSON object on stdout.
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/$name.time" "$@" 2> "$tmp/$name.log"
  python3 - "$tmp/$name.time" "$tmp/$name.log" <<'PY'
import json, re, sys
wall, rss = open(sys.argv[1]).read().split()[-2:]
stages = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", (re.search(r"\(time: ([^)]*)\)", open(sys.argv[2]).read()) or [None, ""])[1])}
print(json.dumps({"wall": float(wall), "rss_mb": int(rss) / 1024, "stages": stages}))
PY
}

for spec in "kirjastonhoitaja:$data/kirjastonhoitaja/annif/train:yso-fi.tsv,yso-en.tsv" \
            "makupalat:$data/makupalat/makupalat-train.tsv:ykl-skos.ttl"; do
  IFS=: read -r corpus train vocabs <<< "$spec"
  vocab_args=()
  IFS=, read -r -a vfiles <<< "$vocabs"
  for v in "${vfiles[@]}"; do vocab_args+=(--vocab "$data/vocab/$v"); done
  whole=$(run whole "$bin" train -q --corpus "$train" "${vocab_args[@]}" --out "$tmp/whole.tgm")
  for n in 1 2 4; do
    rm -f "$tmp"/shard-*.tgs
    alone=()
    for ((k = 0; k < n; k++)); do
      alone+=("$(run "alone-$k" "$bin" train -q --corpus "$train" "${vocab_args[@]}" --shard "$k/$n" --out "$tmp/shard-$k.tgs")")
    done
    merge=$(run merge "$bin" merge -q --out "$tmp/merged.tgm" "$tmp"/shard-*.tgs)
    cmp -s "$tmp/whole.tgm" "$tmp/merged.tgm" && same=true || same=false
    rm -f "$tmp"/shard-*.tgs "$tmp/merged.tgm"
    start=$(date +%s.%N)
    for ((k = 0; k < n; k++)); do
      "$bin" train -q --corpus "$train" "${vocab_args[@]}" --shard "$k/$n" --out "$tmp/shard-$k.tgs" 2> /dev/null &
    done
    wait
    side=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
    "$bin" merge -q --out "$tmp/merged.tgm" "$tmp"/shard-*.tgs 2> /dev/null
    cmp -s "$tmp/whole.tgm" "$tmp/merged.tgm" && same_side=true || same_side=false
    python3 - "$corpus" "$n" "$whole" "$merge" "$side" "$same" "$same_side" "${alone[@]}" >> "$out" <<'PY'
import json, sys
corpus, n, whole, merge, side, same, same_side, *alone = sys.argv[1:]
whole, merge, alone = json.loads(whole), json.loads(merge), [json.loads(a) for a in alone]
shared = lambda r: r["stages"].get("vocabulary", 0) + r["stages"].get("pilot", 0) + r["stages"].get("features", 0)
print(json.dumps({
    "corpus": corpus, "shards": int(n), "whole_wall": whole["wall"], "whole_rss_mb": whole["rss_mb"],
    "whole_stages": whole["stages"], "shard_walls": [a["wall"] for a in alone],
    "shard_rss_mb": max(a["rss_mb"] for a in alone), "shared_per_shard": max(shared(a) for a in alone),
    "merge_wall": merge["wall"], "merge_rss_mb": merge["rss_mb"], "merge_stages": merge["stages"],
    "side_by_side_wall": float(side), "identical": same == "true" and same_side == "true",
}))
PY
  done
done
python3 - "$out" > "$table" <<'PY'
import json, os, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"Measured by `bash benches/shards.sh` at {commit} ({os.cpu_count()} cores, load average before: "
      f"{os.getloadavg()[0]:.2f}).\n")
print("| corpus | one training | shards | slowest shard alone | repeated per shard | merge | one after another (+ merge) | side by side (+ merge) | cluster: slowest + merge | speed-up | peak RSS shard / merge / one | identical |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    slow, merge = max(r["shard_walls"]), r["merge_wall"]
    cluster = slow + merge
    print(f"| {r['corpus']} | {r['whole_wall']:.1f} s | {r['shards']} | {slow:.1f} s | {r['shared_per_shard']:.1f} s | {merge:.1f} s | "
          f"{sum(r['shard_walls']) + merge:.1f} s | {r['side_by_side_wall'] + merge:.1f} s | {cluster:.1f} s | "
          f"{r['whole_wall'] / cluster:.2f}x | {r['shard_rss_mb']:.0f} / {r['merge_rss_mb']:.0f} / {r['whole_rss_mb']:.0f} MB | "
          f"{'yes' if r['identical'] else 'NO'} |")
print()
for corpus in dict.fromkeys(r["corpus"] for r in rows):
    r = next(r for r in rows if r["corpus"] == corpus)
    st = ", ".join(f"{k} {v:.1f} s" for k, v in r["whole_stages"].items())
    ms = ", ".join(f"{k} {v:.1f} s" for k, v in r["merge_stages"].items())
    print(f"* {corpus}: one training's stages: {st}; the merge's: {ms}.")
PY
cat "$table"
python3 "$root/benches/update_section.py" shards "$table"
