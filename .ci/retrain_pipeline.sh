#!/usr/bin/env bash
# The retraining pipeline end to end without a cluster (deploy/local-retrain.sh, the steps of deploy/k8s):
#  1. 3 label shards of Reuters train → merge → gate → publish into an empty repository: the published file must
#     equal, byte for byte, what one `tagger train` writes for the same snapshot and SOURCE_DATE_EPOCH;
#  2. a server watching the repository serves it;
#  3. a deliberately worse candidate (a tenth of the corpus) is refused with exit code 3, nothing is installed,
#     and the server keeps serving and answering with version 1;
#  4. a good candidate again becomes version 2 and the server reloads it.
# Uses ../shared/data/reuters21578 when present, else a generated corpus. Needs target/release/tagger.
set -euo pipefail
cd "$(dirname "$0")/.."
tagger="$PWD/target/release/tagger"
[ -x "$tagger" ] || { echo "build target/release/tagger first" >&2; exit 1; }
data="${TAGGER_DATA:-../shared/data}"
tmp=$(mktemp -d -t tagger-retrain-ci.XXXXXX)
pid=
cleanup() { [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

if [ -d "$data/reuters21578/train" ]; then
  corpus="$data/reuters21578/train" heldout="$data/reuters21578/test"
else
  echo "($data absent: a generated corpus instead of Reuters)"
  "$tagger" synth --out "$tmp/gen" --docs 1500 --labels 40 --labels-per-doc 2 --tokens-per-doc 80 --latin > /dev/null
  mkdir -p "$tmp/train" "$tmp/test"
  i=0
  while IFS= read -r f; do
    if [ $((i % 5)) -eq 0 ]; then cp "$f" "$tmp/test/"; else cp "$f" "$tmp/train/"; fi
    i=$((i + 1))
  done < <(find "$tmp/gen" -type f | sort)
  corpus="$tmp/train" heldout="$tmp/test"
fi
models="$tmp/models"
retrain() { deploy/local-retrain.sh --heldout "$heldout" --models "$models" --name news --tagger "$tagger" "$@"; }

echo "== 1. three label shards, merged, gated, published"
retrain --corpus "$corpus" --shards 3 --work "$tmp/w1"
epoch=$(cat "$tmp/w1/run/epoch")
SOURCE_DATE_EPOCH=$epoch "$tagger" train --corpus "$tmp/w1/run/corpus" --out "$tmp/single.tgm" --quiet
cmp "$tmp/single.tgm" "$models/news/1/model.tgm"
echo "published version 1 equals the single-process model byte for byte ($(stat -c %s "$tmp/single.tgm") bytes)"

echo "== 2. a server watching the repository"
"$tagger" serve --models "$models" --addr 127.0.0.1:50071 --metrics-addr 127.0.0.1:9171 \
  --reload-interval-secs 1 > "$tmp/serve.log" 2>&1 &
pid=$!
version() { curl -sf http://127.0.0.1:9171/v1/models/news | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
for _ in $(seq 100); do version > /dev/null 2>&1 && break; sleep 0.1; done
[ "$(version)" = 1 ] || { echo "server does not serve version 1" >&2; cat "$tmp/serve.log" >&2; exit 1; }
tag() { curl -sf http://127.0.0.1:9171/v1/tag -H 'content-type: application/json' \
  -d '{"model": "news", "text": "The company said it agreed to acquire the shares of the bank for 40 mln dlrs."}'; }
tag > /dev/null

echo "== 3. a worse candidate (a tenth of the corpus) is refused"
mkdir -p "$tmp/tenth"
find "$corpus" -type f | sort | awk 'NR % 10 == 1' | while IFS= read -r f; do cp "$f" "$tmp/tenth/"; done
status=0
retrain --corpus "$tmp/tenth" --shards 3 --work "$tmp/w2" || status=$?
[ "$status" -eq 3 ] || { echo "the worse candidate was not refused (exit $status)" >&2; exit 1; }
[ "$(ls "$models/news")" = 1 ] || { echo "the repository changed: $(ls -A "$models/news")" >&2; exit 1; }
sleep 2
[ "$(version)" = 1 ] && tag > /dev/null || { echo "the server stopped serving version 1" >&2; exit 1; }
echo "refused with exit 3; the repository holds version 1 only and the server still answers with it"

echo "== 4. a good candidate becomes version 2 and the server reloads it"
retrain --corpus "$corpus" --shards 2 --work "$tmp/w3"
for _ in $(seq 50); do [ "$(version)" = 2 ] && break; sleep 0.2; done
[ "$(version)" = 2 ] || { echo "the server did not reload version 2" >&2; cat "$tmp/serve.log" >&2; exit 1; }
tag > /dev/null
kill -TERM "$pid"
wait "$pid" || { echo "server exited badly after SIGTERM" >&2; cat "$tmp/serve.log" >&2; exit 1; }
pid=
echo "retraining pipeline: shards merged byte-identical, worse candidate refused while serving, version 2 hot-reloaded"
