#!/usr/bin/env bash
# The per-stage criterion benches (each asserts its output), summarised into the "features" and "stages" tables
# of BENCHMARKS.md from criterion's own estimates (target/criterion/*/new/estimates.json):
#
#   bash benches/criterion.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p benches/out
summarise() {  # $1 = section name
  python3 - "$root/target/criterion" > "benches/out/$1.md" <<'PY'
import json, pathlib, sys
rows = []
for b in sorted(pathlib.Path(sys.argv[1]).glob("**/new/benchmark.json")):
    meta = json.loads(b.read_text())
    est = json.loads((b.parent / "estimates.json").read_text())
    rows.append((meta["full_id"], est["median"]["point_estimate"], est["mean"]["confidence_interval"]))
def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"
print("| bench | median | mean, 95% interval |")
print("|---|---:|---:|")
for name, median, ci in rows:
    print(f"| {name} | {fmt(median)} | {fmt(ci['lower_bound'])} – {fmt(ci['upper_bound'])} |")
PY
  cat "benches/out/$1.md"
  python3 benches/update_section.py "$1" "benches/out/$1.md"
}
rm -rf target/criterion
cargo bench -p tagger-features --bench features 2>&1 | grep -E "^(vocabulary|fit|tokenize)|time:" || true
summarise features
rm -rf target/criterion
cargo bench -p tagger-model --bench stages 2>&1 | grep -E "time:" || true
summarise stages
