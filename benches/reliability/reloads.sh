#!/usr/bin/env bash
# Model reloads under load (issue 14): a release `tagger serve` watches a model repository while two clients
# tag continuously (open loop: unary Tag calls, and TagBatch calls of 16 documents), and 100 new versions are
# published one after the other with `tagger publish` (each waits until the server answers with it). The
# versions cycle through three different models (A, B, C: trained on different halves of a generated corpus and
# with different seeds), so that an answer from a mixed or half-loaded model would differ from every one of them.
# Checked afterwards, from every answer the clients recorded:
#   * no call failed (every status OK);
#   * every answer equals, label for label and score for score (1e-5), what `tagger predict` gives for the same
#     document with the model of the version that answered: never a mix of two models;
#   * every TagBatch call was answered by one version;
#   * server RSS after the load is back near its steady state before it.
# Writes benches/out/reloads.md and the "reloads" section of RELIABILITY.md. About 3 minutes here.
#
#   bash benches/reliability/reloads.sh           # VERSIONS=100 by default
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release -p tagger -q
bin="$root/target/release/tagger"
VERSIONS=${VERSIONS:-100}
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p benches/out

echo "== three models from a generated corpus"
"$bin" synth --out "$tmp/gen" --docs 3000 --labels 40 --labels-per-doc 2 --tokens-per-doc 80 --latin --seed 7 > /dev/null
mkdir -p "$tmp/half1" "$tmp/half2" "$tmp/all" "$tmp/docs" "$tmp/heldout"
i=0
while IFS= read -r f; do
  case $((i % 10)) in
    0) cp "$f" "$tmp/docs/" ;;
    1) cp "$f" "$tmp/heldout/" ;;
    *) cp "$f" "$tmp/all/"; if [ $((i % 2)) -eq 0 ]; then cp "$f" "$tmp/half1/"; else cp "$f" "$tmp/half2/"; fi ;;
  esac
  i=$((i + 1))
done < <(find "$tmp/gen" -type f | sort)
"$bin" train -q --corpus "$tmp/half1" --out "$tmp/A.tgm" --seed 1
"$bin" train -q --corpus "$tmp/half2" --out "$tmp/B.tgm" --seed 2
"$bin" train -q --corpus "$tmp/all" --out "$tmp/C.tgm" --seed 3
for m in A B C; do "$bin" predict --model "$tmp/$m.tgm" "$tmp/docs" > "$tmp/$m.expected.jsonl"; done
model_of() { local names=(A B C); echo "${names[$(( ($1 - 1) % 3 ))]}"; }

echo "== server on a repository holding version 1"
models="$tmp/models"
"$bin" publish --candidate "$tmp/A.tgm" --models "$models" --name news --corpus "$tmp/heldout" > /dev/null
"$bin" serve --models "$models" --addr 127.0.0.1:50082 --metrics-addr 127.0.0.1:9182 --reload-interval-secs 1 \
  > "$tmp/serve.log" 2>&1 &
server=$!
pids+=("$server")
version() { curl -sf http://127.0.0.1:9182/v1/models/news | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
for _ in $(seq 200); do version > /dev/null 2>&1 && break; sleep 0.1; done
[ "$(version)" = 1 ] || { cat "$tmp/serve.log" >&2; exit 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
(
  while kill -0 "$server" 2>/dev/null; do echo "$(date +%s.%N) $(rss)"; sleep 0.2; done
) > "$tmp/rss.txt" 2>/dev/null &
pids+=("$!")

# Warm up, then the steady state.
"$bin" loadgen --addr 127.0.0.1:50082 --corpus "$tmp/docs" --mode unary --concurrency 8 --duration-secs 5 \
  --requests 100000000 > /dev/null
sleep 1
steady_before=$(rss)

echo "== clients tagging while $VERSIONS versions are published"
load_secs=$((VERSIONS * 3 + 30))
"$bin" loadgen --addr 127.0.0.1:50082 --corpus "$tmp/docs" --mode unary --rate 200 --duration-secs "$load_secs" \
  --requests 100000000 --json --record "$tmp/unary.answers.jsonl" > "$tmp/unary.json" &
unary=$!
pids+=("$unary")
"$bin" loadgen --addr 127.0.0.1:50082 --corpus "$tmp/docs" --mode batch --batch-size 16 --rate 20 \
  --duration-secs "$load_secs" --requests 100000000 --json --record "$tmp/batch.answers.jsonl" > "$tmp/batch.json" &
batch=$!
pids+=("$batch")
start=$(date +%s.%N)
sleep 2
for v in $(seq 2 $((VERSIONS + 1))); do
  "$bin" publish --candidate "$tmp/$(model_of "$v").tgm" --models "$models" --name news --corpus "$tmp/heldout" \
    --tolerance 1 > "$tmp/publish.log" 2>&1 || { cat "$tmp/publish.log" >&2; exit 1; }
  kill -HUP "$server"
  for _ in $(seq 300); do [ "$(version 2>/dev/null)" = "$v" ] && break; sleep 0.05; done
  [ "$(version)" = "$v" ] || { echo "the server did not reload version $v" >&2; tail "$tmp/serve.log" >&2; exit 1; }
done
published=$(python3 -c "import time; print(round(time.time() - $start, 1))")
echo "   $VERSIONS versions published and served in $published s; clients still tagging"
sleep 2
kill -INT "$unary" "$batch" 2>/dev/null || true
wait "$unary" || true
wait "$batch" || true
sleep 5
steady_after=$(rss)
kill -TERM "$server"
wait "$server" || true

python3 - "$tmp" "$VERSIONS" "$published" "$steady_before" "$steady_after" > benches/out/reloads.md <<'PY'
import json, os, subprocess, sys
tmp, versions, published, before, after = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
expected = {m: [json.loads(l) for l in open(f"{tmp}/{m}.expected.jsonl")] for m in "ABC"}
model_of = lambda v: "ABC"[(v - 1) % 3]
problems, seen, answers, calls = [], set(), 0, {}
for kind in ("unary", "batch"):
    path = f"{tmp}/{kind}.answers.jsonl"
    if not os.path.exists(path):
        problems.append(f"{kind}: no answers recorded (the client did not finish)")
        continue
    for line in open(path):
        a = json.loads(line)
        answers += 1
        v = int(a["version"])
        seen.add(v)
        calls.setdefault((kind, a["call"]), set()).add(v)
        want = expected[model_of(v)][a["doc"]]["tags"]
        got = a["tags"]
        same = len(got) == len(want) and all(g[0] == w["label"] and abs(g[1] - w["score"]) <= 1e-5 for g, w in zip(got, want))
        if not same and len(problems) < 10:
            problems.append(f"{kind} call {a['call']} doc {a['doc']} version {v}: {got} != model {model_of(v)}: {want}")
mixed = [k for k, vs in calls.items() if len(vs) > 1]
reports = {k: json.load(open(f"{tmp}/{k}.json")) for k in ("unary", "batch") if os.path.exists(f"{tmp}/{k}.json")}
failed = {k: {c: s["calls"] for c, s in r["codes"].items() if c != "OK"} for k, r in reports.items()}
rss = [int(l.split()[1]) / 1024 for l in open(f"{tmp}/rss.txt") if len(l.split()) == 2 and l.split()[1].isdigit()]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"Measured by `bash benches/reliability/reloads.sh` at {commit} ({os.cpu_count()} cores, loopback): {versions} "
      f"versions published by `tagger publish` into the repository a `tagger serve --reload-interval-secs 1` "
      f"watches (each followed by SIGHUP; the next published once the server answers with it), cycling through "
      f"three models, while an open-loop client made 200 unary `Tag` calls/s and another 20 `TagBatch` calls/s of "
      f"16 documents.\n")
print("| figure | value |")
print("|---|---|")
print(f"| versions published and served | {versions} in {published:.0f} s (versions seen in answers: {len(seen)}) |")
for k, r in reports.items():
    ok = r["codes"].get("OK", {"calls": 0, "p99_ms": 0, "max_ms": 0})
    print(f"| {k} calls | {r['calls']:,} started, {ok['calls']:,} OK (p99 {ok['p99_ms']:.1f} ms, max {ok['max_ms']:.1f} ms), "
          f"failed: {sum(failed[k].values())} {failed[k] or ''} |")
print(f"| answers checked against the model of their version | {answers:,}, {len(problems)} differing |")
print(f"| `TagBatch` calls answered by more than one version | {len(mixed)} |")
print(f"| server RSS: steady before / max during / steady after | {before / 1024:.0f} / {max(rss):.0f} / {after / 1024:.0f} MB |")
if problems:
    print("\nFirst differences:\n")
    for p in problems:
        print(f"* {p}")
ok = not problems and not mixed and all(not f for f in failed.values()) and len(reports) == 2 and len(seen) >= versions
print(f"\nResult: {'PASS' if ok else 'FAIL'}.")
PY
cat benches/out/reloads.md
python3 benches/update_section.py reloads benches/out/reloads.md RELIABILITY.md
grep -q "^Result: PASS" benches/out/reloads.md
