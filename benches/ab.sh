#!/usr/bin/env bash
# Tagging speed of two builds of tagger, side by side: both commits are built (release, one shared target
# directory), then `tagger eval --threads T` of one model on one corpus runs alternately with each binary, RUNS
# times, and the documents per second of each run are compared: medians, spread, and the ratio B/A of the medians
# with a bootstrap 90% interval. On a machine whose runs of one binary spread by ±15% (this VM), a change of a few
# percent is only visible this way: interleaving spreads the machine's drift over both builds.
#
#   bash benches/ab.sh A_REV B_REV MODEL CORPUS      # e.g. bash benches/ab.sh HEAD~1 HEAD /tmp/kh.tgm /tmp/kh4
#   RUNS=10 THREADS=1 bash benches/ab.sh …           # defaults: RUNS=8, THREADS=1
#   PAIRED=1 RUNS=12 bash benches/ab.sh …             # A and B at the same time, one core each (see below)
#
# PAIRED=1 runs the two builds at the same time, each `--threads 1` pinned to its own core (cores swapped from
# pair to pair), and compares B / A within each pair: both runs see the same minutes of the machine, so the
# VM's swings (±25% within minutes here, more than most changes) cancel in the ratio. It reports the median of
# the pairs' ratios with a bootstrap 90% interval. Needs two cores and `taskset`.
#
# The model is read by both builds, so the model format must not differ between them. B_REV may be "WORKTREE"
# for the uncommitted state of this checkout. Writes benches/out/ab.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ $# -eq 4 ] || { sed -n 2,12p "$0" >&2; exit 2; }
a_rev=$1 b_rev=$2 model=$3 corpus=$4
RUNS=${RUNS:-8}
THREADS=${THREADS:-1}
work="$root/target/ab"
mkdir -p "$work" benches/out
# Checkouts of the two commits live outside this repository (protox refused the .proto path of a worktree
# placed under target/).
src_dir="$(mktemp -d)"
trap 'rm -rf "$src_dir"; git worktree prune' EXIT
export CARGO_TARGET_DIR="$work/target"

build() { # rev name
  local rev=$1 name=$2 src
  if [ "$rev" = WORKTREE ]; then
    src="$root"
  else
    src="$src_dir/$name"
    git worktree add -q --detach "$src" "$rev"
  fi
  # Commits before the proto build script read its directory at run time baked in the checkout's path: cleaning
  # that one package makes each checkout build its own.
  (cd "$src" && cargo clean --release -q -p tagger-proto && cargo build --release --locked -q --bin tagger)
  cp "$CARGO_TARGET_DIR/release/tagger" "$work/tagger-$name"
  if [ "$rev" != WORKTREE ]; then git worktree remove --force "$src"; fi
}
echo "== building A ($a_rev) and B ($b_rev)"
build "$a_rev" a
build "$b_rev" b

: > "$work/runs.txt"
rate() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["predict_docs_per_sec"])' "$1"; }
if [ "${PAIRED:-0}" = 1 ]; then
  THREADS=paired
  echo "== $RUNS pairs: A and B at the same time, one core each, tagger eval --threads 1"
  for r in $(seq "$RUNS"); do
    if [ $((r % 2)) = 0 ]; then ca=0 cb=1; else ca=1 cb=0; fi
    taskset -c $ca "$work/tagger-a" eval --model "$model" --corpus "$corpus" --threads 1 --json > "$work/a.json" 2> /dev/null &
    taskset -c $cb "$work/tagger-b" eval --model "$model" --corpus "$corpus" --threads 1 --json > "$work/b.json" 2> /dev/null &
    wait
    echo "pair $(rate "$work/a.json") $(rate "$work/b.json")" | tee -a "$work/runs.txt"
  done
else
  echo "== $RUNS runs each, alternating, tagger eval --threads $THREADS"
  for r in $(seq "$RUNS"); do
    for x in a b; do
      "$work/tagger-$x" eval --model "$model" --corpus "$corpus" --threads "$THREADS" --json > "$work/$x.json" 2> /dev/null
      echo "$x $(rate "$work/$x.json")" | tee -a "$work/runs.txt"
    done
  done
fi

python3 - "$work/runs.txt" "$a_rev" "$b_rev" "$model" "$corpus" "$THREADS" > benches/out/ab.md <<'PY'
import os, random, statistics, subprocess, sys
path, a_rev, b_rev, model, corpus, threads = sys.argv[1:]
runs = {"a": [], "b": []}
pairs = []
for line in open(path):
    k, *v = line.split()
    if k == "pair":
        a, b = map(float, v)
        runs["a"].append(a)
        runs["b"].append(b)
        pairs.append(b / a)
    else:
        runs[k].append(float(v[0]))
rng = random.Random(7)
def boot():
    if pairs:
        return statistics.median([rng.choice(pairs) for _ in pairs])
    a = [rng.choice(runs["a"]) for _ in runs["a"]]
    b = [rng.choice(runs["b"]) for _ in runs["b"]]
    return statistics.median(b) / statistics.median(a)
ratios = sorted(boot() for _ in range(2000))
lo, hi = ratios[int(0.05 * len(ratios))], ratios[int(0.95 * len(ratios)) - 1]
ratio = statistics.median(pairs) if pairs else statistics.median(runs["b"]) / statistics.median(runs["a"])
rev = lambda r: r if r == "WORKTREE" else subprocess.run(["git", "rev-parse", "--short", r], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
how = (f"`tagger eval --threads 1`, {len(pairs)} pairs of runs, A and B at the same time on a core each"
       if pairs else f"`tagger eval --threads {threads}`, {len(runs['a'])} runs of each build, alternating")
print(f"Measured by `bash benches/ab.sh {a_rev} {b_rev} {model} {corpus}` ({os.cpu_count()} cores, {cpu}): {how}.\n")
print("| build | median docs/s | min | max | runs |")
print("|---|--:|--:|--:|---|")
for k, r in (("a", a_rev), ("b", b_rev)):
    v = runs[k]
    print(f"| {k.upper()} {rev(r)} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} | "
          + ", ".join(f"{x:,.0f}" for x in v) + " |")
print(f"\nB / A ({'median of the pair ratios' if pairs else 'medians'}): {ratio:.3f}, bootstrap 90% interval {lo:.3f}–{hi:.3f}"
      + (" (includes 1: no difference shown)" if lo <= 1 <= hi else ""))
PY
cat benches/out/ab.md
