#!/usr/bin/env bash
# Fuzz smoke test: every cargo-fuzz target (fuzz/) replays its committed regressions, then fuzzes briefly from its
# seed corpus, about 30 seconds of fuzzing in all; any crash, panic, hang or runaway memory fails the script.
# The long runs are fuzz/campaign.sh's job (figures in RELIABILITY.md).
#
# cargo-fuzz (pinned) is installed into .ci/tools when missing; the nightly toolchain must be installed
# (`rustup toolchain install nightly`). One `cargo fuzz build` builds all targets at once, without a sanitizer
# (tagger's crates forbid unsafe code; the bugs to catch are panics, and ASan would double the build), with
# debug assertions and overflow checks on, in fuzz/Cargo.toml's dev profile (opt-level 1, no debug info): a few
# seconds of fuzzing need no full optimisation, and on a fresh 2-core machine the build is the smoke's cost
# (3 min 40 s here against 5 min 30 s for the campaign's release build).
#
#   bash .ci/fuzz_smoke.sh                 # all targets, ~3 s each
#   bash .ci/fuzz_smoke.sh build           # only install cargo-fuzz and build (.ci/run does this in the background)
#   bash .ci/fuzz_smoke.sh run             # only replay and fuzz, with the targets already built
#   FUZZ_SECONDS=10 bash .ci/fuzz_smoke.sh # longer
#   FUZZ_SKIP="model_bitflip" bash .ci/fuzz_smoke.sh   # leave targets out (say, one with a reported open bug)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${FUZZ_SECONDS:-3}
BUILD_FLAGS=(-D -a -s none)
tools="$PWD/.ci/tools"
export PATH="$tools/bin:$PATH"

rustup run nightly rustc --version >/dev/null 2>&1 || {
  echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2
  exit 1
}
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  # A debug build: cargo-fuzz only drives cargo and the fuzz binaries, and it compiles much faster.
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$tools" --quiet --debug
fi

PHASE=${1:-all}
case $PHASE in all | build | run) ;; *) echo "usage: $0 [build|run]" >&2; exit 2 ;; esac
start=$(date +%s)
if [ "$PHASE" != run ]; then
  echo "== cargo fuzz build (all targets)"
  cargo +nightly fuzz build "${BUILD_FLAGS[@]}"
fi
built=$(date +%s)
if [ "$PHASE" = build ]; then
  echo "== fuzz smoke: build $((built - start)) s"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in $(cargo +nightly fuzz list); do
  if [[ " ${FUZZ_SKIP:-} " == *" $t "* ]]; then
    echo "== $t: skipped (FUZZ_SKIP)"
    continue
  fi
  bin="fuzz/target/x86_64-unknown-linux-gnu/debug/$t"
  [ -x "$bin" ] || { echo "$bin is not built: bash .ci/fuzz_smoke.sh build" >&2; exit 1; }
  regressions=(fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== $t: ${#regressions[@]} regression input(s)"
    if ! "$bin" -rss_limit_mb=2048 -timeout=20 "${regressions[@]}" >"$work/$t.regressions.log" 2>&1; then
      tail -n 30 "$work/$t.regressions.log"
      failed+=("$t (regression)")
      continue
    fi
  fi
  echo "== $t: fuzzing ${SECONDS_PER_TARGET} s from fuzz/corpus/$t"
  mkdir -p "$work/$t" "$work/artifacts/$t"
  # New inputs go to a scratch corpus (the committed seeds are only read); crash inputs to a scratch directory
  # too, and are printed below.
  if ! "$bin" "$work/$t" "fuzz/corpus/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 >"$work/$t.log" 2>&1; then
    tail -n 40 "$work/$t.log"
    for a in "$work/artifacts/$t"/*; do
      [ -e "$a" ] && { echo "crash input $(basename "$a") (base64):"; base64 "$a" | head -c 4000; echo; }
    done
    failed+=("$t")
    continue
  fi
  grep -aE '^stat::number_of_executed_units' "$work/$t.log" | sed "s/^/   /"
done
end=$(date +%s)
echo "== fuzz smoke: build $((built - start)) s, fuzzing $((end - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
