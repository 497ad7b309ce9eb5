#!/usr/bin/env bash
# Crash safety of every write (issue 14): `kill -9` at random moments of `tagger train`, `tagger merge`,
# `tagger publish` and of a server's reload, KILLS times each (20 by default). Random moments: half uniform over
# 0-110% of the time one uninterrupted run of the same command takes here, half over its last 15% (85-105%),
# where the output is written, so kills land in every stage, writing included, and some after the end. After every kill:
#   train / merge: the file under the final name is the complete previous model or the complete new one (it
#     loads and its bytes equal one of the two), never anything else;
#   publish: every version directory visible in the repository (not hidden) holds a model that loads, the
#     numbering has no hole, and a fresh `tagger serve` of the repository starts and answers;
#   reload: a server is killed while it loads a newly published version (SIGHUP, then kill -9); restarted, it
#     serves the newest version.
# Temporary files left behind by a killed process (hidden names, never loaded) are counted and removed.
# Writes benches/out/kill9.md and the "kill9" section of RELIABILITY.md.
#
#   bash benches/reliability/kill9.sh          # KILLS=20
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build --release -p tagger -q
bin="$root/target/release/tagger"
KILLS=${KILLS:-20}
tmp="$(mktemp -d)"
server=
cleanup() { [ -z "$server" ] || kill -9 "$server" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p benches/out
results="$tmp/results.tsv"
: > "$results"
# Reproducible model files (no wall-clock time in them), so "the new model" is one byte sequence.
export SOURCE_DATE_EPOCH=1

"$bin" synth --out "$tmp/gen" --docs 4000 --labels 60 --labels-per-doc 2 --tokens-per-doc 100 --latin --seed 11 > /dev/null
mkdir -p "$tmp/train" "$tmp/heldout"
i=0
while IFS= read -r f; do
  if [ $((i % 8)) -eq 0 ]; then cp "$f" "$tmp/heldout/"; else cp "$f" "$tmp/train/"; fi
  i=$((i + 1))
done < <(find "$tmp/gen" -type f | sort)
echo "a short document about nothing in particular" > "$tmp/probe.txt"
loads() { "$bin" predict --model "$1" "$tmp/probe.txt" > /dev/null 2>&1; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { local t1=$EPOCHREALTIME; python3 -c "print($t1 - $1)"; }
# Half the kills anywhere in the run, half in its last 15% (where the file is written), each uniform.
random_delay() {
  python3 -c "import random; t = $1; print(round(random.choice([random.uniform(0, 1.1 * t), random.uniform(0.85 * t, 1.05 * t)]), 3))"
}

# kill -9 "$@" after a random delay in [0, 1.1 x T]; prints whether the process was still running.
kill_after() {
  local t=$1
  shift
  local p d
  d=$(random_delay "$t")
  "$@" > /dev/null 2>&1 &
  p=$!
  sleep "$d"
  if kill -9 "$p" 2>/dev/null; then echo "killed at $d s"; else echo "finished before $d s"; fi
  wait "$p" 2>/dev/null || true
}

# Hidden entries a killed process left: `.NAME.tmp-PID` files, `.publish-PID` staging directories.
leftovers() { find "$1" -mindepth 1 -name '.*' -prune | wc -l; }
clear_leftovers() { find "$1" -mindepth 1 -name '.*' -prune -exec rm -rf {} +; }

# --- train and merge: a previous model under the final name, a new one being written over it ---------------
"$bin" train -q --corpus "$tmp/train" --out "$tmp/old.tgm" --seed 1
mkdir -p "$tmp/shards"
for k in 0 1; do "$bin" train -q --corpus "$tmp/train" --shard "$k/2" --out "$tmp/shards/shard-$k.tgs"; done
for cmd in train merge; do
  mkdir -p "$tmp/out-$cmd"
  out="$tmp/out-$cmd/model.tgm"
  if [ "$cmd" = train ]; then
    run=("$bin" train -q --corpus "$tmp/train" --out "$out")
  else
    run=("$bin" merge -q --out "$out" "$tmp/shards")
  fi
  cp "$tmp/old.tgm" "$out"
  t0=$(now)
  "${run[@]}"
  t=$(elapsed "$t0")
  cp "$out" "$tmp/$cmd.new.tgm"
  killed=0 old=0 new=0 bad=0 left=0
  for n in $(seq "$KILLS"); do
    cp "$tmp/old.tgm" "$out"
    what=$(kill_after "$t" "${run[@]}")
    [[ $what == killed* ]] && killed=$((killed + 1))
    if cmp -s "$out" "$tmp/old.tgm" && loads "$out"; then old=$((old + 1))
    elif cmp -s "$out" "$tmp/$cmd.new.tgm" && loads "$out"; then new=$((new + 1))
    else bad=$((bad + 1)); echo "$cmd kill $n ($what): the final file is neither model" >&2; fi
    l=$(leftovers "$tmp/out-$cmd"); left=$((left + l))
    clear_leftovers "$tmp/out-$cmd"
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cmd" "$KILLS" "$t" "$killed" "old $old, new $new" "$bad" "$left" \
    "file under the final name: the previous model or the new one" >> "$results"
  echo "$cmd: $KILLS kills over ${t} s runs: $killed while running; previous $old, new $new, damaged $bad; leftovers $left"
done

# --- publish: a repository with versions, a new version being installed ---------------------------------------
repo="$tmp/repo"
"$bin" publish --candidate "$tmp/old.tgm" --models "$repo" --name m --corpus "$tmp/heldout" > /dev/null
run=("$bin" publish --candidate "$tmp/merge.new.tgm" --models "$repo" --name m --corpus "$tmp/heldout" --tolerance 1)
t0=$(now)
"${run[@]}" > /dev/null
t=$(elapsed "$t0")
check_repo() {
  local v expect=1 ok=1
  for v in $(ls "$repo/m" | sort -n); do
    [ "$v" = "$expect" ] || { echo "version directories skip from $((expect - 1)) to $v" >&2; ok=0; }
    loads "$repo/m/$v/model.tgm" || { echo "version $v does not load" >&2; ok=0; }
    expect=$((v + 1))
  done
  [ "$ok" = 1 ]
}
serves() {
  "$bin" serve --models "$repo" --addr 127.0.0.1:50083 --metrics-addr 127.0.0.1:9183 --reload-interval-secs 0 \
    > "$tmp/serve.log" 2>&1 &
  server=$!
  local v=
  for _ in $(seq 100); do
    v=$(curl -sf http://127.0.0.1:9183/v1/models/m 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' 2>/dev/null) && break
    sleep 0.1
  done
  kill -9 "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
  [ -n "$v" ] && [ "$v" = "$(ls "$repo/m" | sort -n | tail -1)" ]
}
killed=0 installed=0 bad=0 left=0
for n in $(seq "$KILLS"); do
  before=$(ls "$repo/m" | wc -l)
  what=$(kill_after "$t" "${run[@]}")
  [[ $what == killed* ]] && killed=$((killed + 1))
  [ "$(ls "$repo/m" | wc -l)" -gt "$before" ] && installed=$((installed + 1))
  if ! check_repo || ! serves; then bad=$((bad + 1)); echo "publish kill $n ($what): repository broken" >&2; fi
  l=$(leftovers "$repo"); left=$((left + l))
  clear_leftovers "$repo"
done
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' publish "$KILLS" "$t" "$killed" "installed $installed, not $((KILLS - installed))" \
  "$bad" "$left" "every visible version loads, no hole, a server starts on the newest" >> "$results"
echo "publish: $KILLS kills: $killed while running; installed $installed; broken $bad; leftovers $left"

# --- reload: a server killed while it loads a new version ---------------------------------------------------
start_server() {
  "$bin" serve --models "$repo" --addr 127.0.0.1:50083 --metrics-addr 127.0.0.1:9183 --reload-interval-secs 0 \
    > "$tmp/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:9183/v1/models/m > /dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
served() { curl -sf http://127.0.0.1:9183/v1/models/m | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
# One reload's duration: SIGHUP until the new version answers.
start_server
"${run[@]}" > /dev/null
t0=$(now)
kill -HUP "$server"
for _ in $(seq 200); do [ "$(served)" = "$(ls "$repo/m" | sort -n | tail -1)" ] && break; sleep 0.01; done
t=$(elapsed "$t0")
kill -9 "$server"; wait "$server" 2>/dev/null || true; server=
bad=0 left=0
for n in $(seq "$KILLS"); do
  start_server || { bad=$((bad + 1)); continue; }
  "${run[@]}" > /dev/null
  d=$(random_delay "$t")
  kill -HUP "$server"
  sleep "$d"
  kill -9 "$server"; wait "$server" 2>/dev/null || true; server=
  if ! start_server || [ "$(served)" != "$(ls "$repo/m" | sort -n | tail -1)" ]; then
    bad=$((bad + 1)); echo "reload kill $n: the restarted server does not serve the newest version" >&2
  fi
  kill -9 "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=
  l=$(leftovers "$repo"); left=$((left + l))
done
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' reload "$KILLS" "$t" "$KILLS" "-" "$bad" "$left" \
  "the restarted server serves the newest version" >> "$results"
echo "reload: $KILLS kills; broken $bad"

python3 - "$results" > benches/out/kill9.md <<'PY'
import os, subprocess, sys
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"Measured by `bash benches/reliability/kill9.sh` at {commit} ({os.cpu_count()} cores): a generated corpus of "
      "3,500 training documents and 60 labels; each kill -9 at a moment drawn uniformly over 0-110% of one "
      "uninterrupted run of the same command, or (every other kill on average) over its last 15%, 85-105%, where the "
      "file is written (for reload: SIGHUP to the new version answering). Kills that land during the write itself "
      "show as temporary files left.\n")
print("| command | kills | one run (s) | still running when killed | outcome | damaged | temp files left | checked after every kill |")
print("|---|--:|--:|--:|---|--:|--:|---|")
total_bad = 0
for line in open(sys.argv[1]):
    cmd, kills, t, killed, outcome, bad, left, what = line.rstrip("\n").split("\t")
    total_bad += int(bad)
    print(f"| `{cmd}` | {kills} | {float(t):.2f} | {killed} | {outcome} | {bad} | {left} | {what} |")
print(f"\nResult: {'PASS' if total_bad == 0 else 'FAIL'}. Temporary files and directories (hidden names: "
      "`.NAME.tmp-PID`, `.publish-PID`) left by a killed process are never read as models; they are counted above and removed by "
      "this script.")
PY
cat benches/out/kill9.md
python3 benches/update_section.py kill9 benches/out/kill9.md RELIABILITY.md
grep -q "^Result: PASS" benches/out/kill9.md
