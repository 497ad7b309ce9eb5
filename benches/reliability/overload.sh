#!/usr/bin/env bash
# Overload soak (issue 14): a release `tagger serve` on loopback, serving the default model repository (models/),
# is offered 4x the capacity just measured for 60 s, with unary calls and then with batches, while its RSS is
# sampled every 0.2 s. Per mode:
#   1. capacity: a closed loop (tagger loadgen --concurrency) for 15 s, documents answered per second = C;
#   2. overload: an open loop (tagger loadgen --rate) starting 4 x C documents' worth of calls per second for
#      60 s, every call with a 1 s deadline; how many were answered, refused with RESOURCE_EXHAUSTED (and how fast:
#      p99 of a refusal), past their deadline; the slowest OK answer against the deadline;
#   3. recovery: right after, an open loop at half of C for 15 s: the first second from which every second answers
#      at least 90% of what it was offered with no refusal.
# Bounded: at most 2 x 60 s of overload and about 2.5 minutes in all, loopback only. Writes
# benches/out/overload.{json,md} and the "overload" section of RELIABILITY.md.
#
# PIN=1 pins the server to core 1 and the generator to core 0 (taskset): the generator then cannot take the
# server's CPU, as if it ran on another machine, and the server works on one core. COMPUTE_NICE sets the
# server's --compute-nice (default: the server's default).
#
#   bash benches/reliability/overload.sh          # documents from ../shared/data (Reuters test) or generated
#   PIN=1 bash benches/reliability/overload.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
data="${TAGGER_DATA:-$root/../shared/data}"
cargo build --release -p tagger -q
bin="$root/target/release/tagger"
OVERLOAD_SECS=${OVERLOAD_SECS:-60}
FACTOR=${FACTOR:-4}
DEADLINE_MS=${DEADLINE_MS:-1000}
PIN=${PIN:-0}
server_pin=()
client_pin=()
if [ "$PIN" = 1 ]; then
  server_pin=(taskset -c 1)
  client_pin=(taskset -c 0)
fi
nice_flag=()
[ -z "${COMPUTE_NICE:-}" ] || nice_flag=(--compute-nice "$COMPUTE_NICE")
tmp="$(mktemp -d)"
pid=
sampler=
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p benches/out

if [ -d "$data/reuters21578/test" ]; then
  docs="$data/reuters21578/test"
else
  "$bin" synth --out "$tmp/docs" --docs 500 --labels 20 --tokens-per-doc 120 --latin > /dev/null
  docs="$tmp/docs"
fi
addr=127.0.0.1:50081
"${server_pin[@]}" "$bin" serve --models "$root/models" --addr "$addr" --metrics-addr 127.0.0.1:9181 \
  --reload-interval-secs 0 "${nice_flag[@]}" > "$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf http://127.0.0.1:9181/v1/projects > /dev/null 2>&1 && break; sleep 0.1; done
curl -sf http://127.0.0.1:9181/v1/projects > /dev/null || { cat "$tmp/serve.log" >&2; exit 1; }

# The niceness the compute threads really run at (field 19 of /proc/PID/task/TID/stat).
server_nice=$(for t in /proc/"$pid"/task/*; do
  if grep -q '^tagger-compute' "$t/comm"; then awk '{print $19}' "$t/stat"; fi
done | sort -u | paste -sd/)

# RSS of the server every 0.2 s, with the phase it was taken in (the phase file is rewritten by this script).
echo idle > "$tmp/phase"
(
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    echo "$(date +%s.%N) $(cat "$tmp/phase") $rss"
    sleep 0.2
  done
) > "$tmp/rss.txt" &
sampler=$!

load() { "${client_pin[@]}" "$bin" loadgen --addr "$addr" --corpus "$docs" --json --client-threads 1 "$@"; }
results="$tmp/results.jsonl"
: > "$results"
for mode in unary batch; do
  if [ "$mode" = unary ]; then per_call=1 conc=64; else per_call=64 conc=8; fi
  shape=(--mode "$mode" --batch-size "$per_call")
  echo "== $mode: capacity (closed loop, $conc clients, 15 s)"
  echo "$mode-capacity" > "$tmp/phase"
  load "${shape[@]}" --concurrency "$conc" --duration-secs 15 --requests 100000000 > "$tmp/$mode-capacity.json"
  cap=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["docs_per_sec"])' "$tmp/$mode-capacity.json")
  rate=$(python3 -c "print($FACTOR * $cap / $per_call)")
  echo "   $cap docs/s; overload: $rate calls/s of $per_call document(s) for $OVERLOAD_SECS s, deadline $DEADLINE_MS ms"
  echo "$mode-overload" > "$tmp/phase"
  load "${shape[@]}" --rate "$rate" --deadline-ms "$DEADLINE_MS" --duration-secs "$OVERLOAD_SECS" \
    --requests 1000000000 > "$tmp/$mode-overload.json"
  echo "$mode-recovery" > "$tmp/phase"
  rec_rate=$(python3 -c "print(0.5 * $cap / $per_call)")
  load "${shape[@]}" --rate "$rec_rate" --deadline-ms "$DEADLINE_MS" --duration-secs 15 --requests 1000000000 \
    > "$tmp/$mode-recovery.json"
  echo "$mode-idle" > "$tmp/phase"
  sleep 3
  python3 - "$mode" "$per_call" "$tmp" >> "$results" <<'PY'
import json, sys
mode, per_call, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cap = json.load(open(f"{tmp}/{mode}-capacity.json"))
over = json.load(open(f"{tmp}/{mode}-overload.json"))
rec = json.load(open(f"{tmp}/{mode}-recovery.json"))
# Recovery: the first second from which every full second answers >= 90% of the documents it was offered
# (the calls started in it) with no refusal.
tl = rec["timeline"][:-1]
ok = [s["ok_docs"] >= 0.9 * s["started"] * per_call and s["exhausted"] == 0 and s["deadline_exceeded"] == 0 for s in tl]
recovered = next((i for i in range(len(ok)) if all(ok[i:])), None)
codes = over["codes"]
print(json.dumps({
    "mode": mode, "per_call": per_call, "capacity_docs_per_sec": cap["docs_per_sec"],
    "offered_docs_per_sec": over["rate"] * per_call, "started_docs_per_sec": over["started_per_sec"] * per_call,
    "calls": over["calls"], "client_skipped": over["client_skipped"], "overload_seconds": over["seconds"],
    "ok_docs_per_sec": over["ok_docs_per_sec"], "codes": codes, "ok_after_deadline": over["ok_after_deadline"],
    "errors": over["errors"],
    "recovery_second": recovered, "recovery_ok_docs_per_sec": rec["ok_docs_per_sec"],
    "recovery_offered_docs_per_sec": rec["rate"] * per_call, "recovery_codes": rec["codes"],
    "recovery_timeline": [(s["t"], s["ok_docs"], s["exhausted"], round(s["ok_p99_ms"], 1)) for s in rec["timeline"]],
}))
PY
done
kill -TERM "$pid"
wait "$pid" || true
pid=
kill "$sampler" 2>/dev/null || true
sampler=

python3 - "$results" "$tmp/rss.txt" "$DEADLINE_MS" "$OVERLOAD_SECS" "$FACTOR" "$PIN" "$server_nice" \
  > benches/out/overload.md <<'PY'
import json, os, subprocess, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
deadline, secs, factor, pin, nice = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6] == "1", sys.argv[7]
rss = defaultdict(list)
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) == 3 and parts[2].isdigit():
        rss[parts[1]].append(int(parts[2]) / 1024)
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
where = ("the server pinned to core 1 and the load generator (one thread) to core 0 (`PIN=1`)" if pin else
         "server and load generator on the same machine sharing both cores (the generator on one thread)")
cmd = ("PIN=1 " if pin else "") + "bash benches/reliability/overload.sh"
print(f"Measured by `{cmd}` at {commit}: {os.cpu_count()} cores ({cpu}), {where}, server `--compute-nice` {nice}, "
      f"loopback, the default model repository "
      f"(`models/`, default model reuters), Reuters test documents. Overload: {factor}x the capacity measured just "
      f"before, for {secs} s, every call with a {deadline} ms deadline; recovery: half the capacity for 15 s "
      f"right after. Latencies are the client's, from the moment a call was due: they include any wait in the "
      f"generator itself; \"client\" deadline misses are calls the "
      f"generator abandoned at the deadline (as gRPC clients do).\n")
print("| mode | capacity (docs/s) | offered (docs/s) | started (docs/s) | answered OK (docs/s) | OK calls | OK p99 / max | "
      "RESOURCE_EXHAUSTED calls | refusal p50 / p99 | DEADLINE_EXCEEDED server / client | other errors | recovered after |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for r in rows:
    c = r["codes"]
    ok = c.get("OK", {"calls": 0, "p99_ms": 0, "max_ms": 0})
    ex = c.get("ResourceExhausted", {"calls": 0, "p50_ms": 0, "p99_ms": 0})
    de = c.get("DeadlineExceeded", {"calls": 0})["calls"]
    de_client = c.get("DeadlineExceeded (client)", {"calls": 0})["calls"]
    other = sum(v["calls"] for k, v in c.items()
                if k not in ("OK", "ResourceExhausted", "DeadlineExceeded", "DeadlineExceeded (client)"))
    rec = "never" if r["recovery_second"] is None else f"{r['recovery_second']} s"
    label = "unary `Tag`" if r["per_call"] == 1 else f"`TagBatch` of {r['per_call']}"
    print(f"| {label} | {r['capacity_docs_per_sec']:,.0f} | {r['offered_docs_per_sec']:,.0f} | "
          f"{r['started_docs_per_sec']:,.0f} | {r['ok_docs_per_sec']:,.0f} | {ok['calls']:,} | "
          f"{ok['p99_ms']:.0f} / {ok['max_ms']:.0f} ms | {ex['calls']:,} | {ex['p50_ms']:.1f} / {ex['p99_ms']:.1f} ms | "
          f"{de:,} / {de_client:,} | {other:,} | {rec} |")
print()
print("Server RSS (MB, sampled every 0.2 s), by phase:\n")
print("| phase | samples | min | median | max |")
print("|---|--:|--:|--:|--:|")
for phase, v in rss.items():
    v = sorted(v)
    print(f"| {phase} | {len(v)} | {v[0]:.0f} | {v[len(v) // 2]:.0f} | {v[-1]:.0f} |")
print()
for r in rows:
    if r["errors"]:
        print(f"* {r['mode']}: first error message per code: " +
              "; ".join(f"{k}: \"{v}\"" for k, v in r["errors"].items()))
    print(f"* {r['mode']} recovery, per second (s, documents OK, refusals, OK p99 ms): "
          + ", ".join(f"({t}, {d}, {e}, {p})" for t, d, e, p in r["recovery_timeline"]))
PY
cp "$results" benches/out/overload.jsonl
cat benches/out/overload.md
python3 benches/update_section.py overload benches/out/overload.md RELIABILITY.md
