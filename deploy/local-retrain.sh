#!/usr/bin/env bash
# The retraining pipeline of deploy/k8s (prepare → N label shards → merge → quality gate → publish), run here as
# local processes: each shard process gets JOB_COMPLETION_INDEX as a pod of a Kubernetes Indexed Job does, and
# runs the same `tagger train --shard` command. Nothing here needs a cluster.
#
# Usage:
#   deploy/local-retrain.sh --corpus DIR --heldout DIR --models DIR --name NAME [--shards N] [--work DIR]
#       [--vocab FILE]... [--config FILE] [--tolerance T] [--parallel P] [--threads T] [--tagger BIN]
#
#   --corpus     training corpus (any format `tagger train` reads); snapshotted into the run directory first, so
#                every shard and the merge read the same bytes even if new documents arrive meanwhile
#   --heldout    labelled corpus the gate evaluates the candidate and the served version on
#   --models     the model repository the servers read (DIR/NAME/<version>/model.tgm)
#   --name       the model's name in it
#   --shards     N label shards (default 3)
#   --work       where the run directory is made (default: a new temporary directory); the run keeps
#                WORK/run/{corpus,epoch,shards/,model.tgm} for inspection
#   --parallel   shard processes at a time (default: all N at once, as a cluster would run them)
#   --threads    threads per shard process (default 0 = one per core)
#   --tolerance  the gate's tolerance (default: tagger publish's, 0.005)
#   --tagger     the tagger binary (default: tagger on PATH, else target/release/tagger)
#
# Exit status: 0 published, 3 refused by the gate (the served version keeps serving), anything else an error.
# SOURCE_DATE_EPOCH (default: now) is fixed once for the run and given to every step, so the published file is
# byte for byte the one a single `tagger train` with that SOURCE_DATE_EPOCH writes for the snapshot.
set -euo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

corpus= heldout= models= name= shards=3 work= parallel= threads=0 tolerance= tagger= config=
vocab=()
while [ $# -gt 0 ]; do
    case "$1" in
        --corpus) corpus=$2; shift 2 ;;
        --heldout) heldout=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        --shards) shards=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --vocab) vocab+=(--vocab "$2"); shift 2 ;;
        --config) config=$2; shift 2 ;;
        --parallel) parallel=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --tolerance) tolerance=$2; shift 2 ;;
        --tagger) tagger=$2; shift 2 ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[ -n "$corpus" ] && [ -n "$heldout" ] && [ -n "$models" ] && [ -n "$name" ] || usage
case "$shards" in ''|*[!0-9]*|0) echo "--shards must be a positive number" >&2; exit 2 ;; esac
parallel=${parallel:-$shards}
if [ -z "$tagger" ]; then
    tagger=$(command -v tagger || true)
    [ -n "$tagger" ] || tagger="$(cd "$(dirname "$0")/.." && pwd)/target/release/tagger"
fi
[ -x "$tagger" ] || { echo "no tagger binary at $tagger (cargo build --release, or --tagger BIN)" >&2; exit 2; }
work=${work:-$(mktemp -d -t tagger-retrain.XXXXXX)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}
run="$work/run"
config_args=()
[ -z "$config" ] || config_args=(--config "$config")

step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

# 1. prepare: a fresh run directory, the corpus snapshot, the run's creation time.
step "prepare: $run (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
rm -rf "$run"
mkdir -p "$run/shards"
cp -R "$corpus" "$run/corpus"
echo "$SOURCE_DATE_EPOCH" > "$run/epoch"

# 2. the Indexed Job: N shard processes, index in JOB_COMPLETION_INDEX, at most --parallel at a time.
step "shards: $shards label shards, $parallel at a time"
# What one pod of the Indexed Job runs: its index comes from the environment, as Kubernetes sets it.
shard_pod() {
    "$tagger" train --corpus "$run/corpus" "${vocab[@]}" "${config_args[@]}" --threads "$threads" --quiet \
        --shard "$JOB_COMPLETION_INDEX/$shards" --out "$run/shards/shard-$JOB_COMPLETION_INDEX.tgs"
}
pids=()
failed=0
for ((k = 0; k < shards; k++)); do
    JOB_COMPLETION_INDEX=$k shard_pod &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$parallel" ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" -eq 0 ] || { echo "a shard failed: nothing merged, nothing published" >&2; exit 1; }

# 3. merge.
step "merge"
"$tagger" merge --out "$run/model.tgm" --threads "$threads" --quiet "$run/shards"

# 4 + 5. the quality gate, and publishing when it passes (exit 3 when refused).
step "gate and publish: $models/$name"
gate=(--candidate "$run/model.tgm" --models "$models" --name "$name" --corpus "$heldout" --threads "$threads")
[ -z "$tolerance" ] || gate+=(--tolerance "$tolerance")
status=0
"$tagger" publish "${gate[@]}" || status=$?
case $status in
    0) step "published" ;;
    3) step "refused by the gate: the served version stays" ;;
    *) step "publish failed (exit $status)" ;;
esac
exit "$status"
