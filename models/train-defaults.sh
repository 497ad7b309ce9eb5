#!/usr/bin/env bash
# Rebuild the default models from the shared training corpora (never the test splits), reproducibly:
# fixed seed, default configuration (recorded inside each model). Run from anywhere:
#   bash models/train-defaults.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${TAGGER_DATA:-../shared/data}"
cd "$root"
cargo build --release -p tagger
bin="$root/target/release/tagger"
# Model repository layout: models/<name>/<version>/model.tgm (the newest version is served).
"$bin" train --corpus "$data/reuters21578/train" --out models/reuters/1/model.tgm --config models/reuters.json --seed 42
"$bin" train --corpus "$data/cail2019_element/train" --out models/cail2019/1/model.tgm --config models/cail2019.json --seed 42
