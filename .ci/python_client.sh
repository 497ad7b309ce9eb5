#!/usr/bin/env bash
# The Python client (clients/python, package tagger-client): its stubs match the proto file, it installs with
# pip from the repository as the README says, and its tests pass against real `tagger serve` processes (the
# release binary the README smoke test built, the default models).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.ci/tools/pyclient"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# Reinstalled every run, so that the tests use this commit's client.
"$venv/bin/pip" install --quiet --disable-pip-version-check ./clients/python "pytest==9.2.0"
bash clients/python/generate.sh --check
cargo build --release -p tagger --locked --quiet
TAGGER_BIN="$PWD/target/release/tagger" TAGGER_MODELS="$PWD/models" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider clients/python/tests
