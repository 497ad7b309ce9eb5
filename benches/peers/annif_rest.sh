#!/usr/bin/env bash
# Annif's REST API, served by tagger and by Annif 1.4's own server, on the same machine, same corpus, same client:
#   bash benches/peers/annif_rest.sh          # data from ../shared/data, or TAGGER_DATA=/path/to/data
# Takes about 10 minutes on 2 cores. Writes benches/out/annif_rest.{jsonl,md} and rewrites the annif_rest section
# of BENCHMARKS.md (benches/update_section.py).
#
# Corpus: kirjastonhoitaja (YSO); both sides train on `annif/train` and are asked about the `annif/validate`
# documents (their texts only). Annif (the venv of benches/peers/annif.sh, annif[omikuji]==1.4.3) trains
# projects as annif.sh does (language=fi, analyzer=snowball(finnish), defaults): omikuji, mllm and the
# mllm+omikuji ensemble (1:1), and serves them with `annif run` (its own server: connexion on uvicorn, one
# process). tagger trains its default configuration and serves it with `tagger serve` (default settings: one
# compute thread per core, the batcher on). The servers run one at a time; the client
# (benches/peers/annif_rest_client.py, standard library only) sends `suggest-batch` calls of 32 documents with
# limit=10 over keep-alive connections from 1 and 4 threads, after one warm-up pass, for at least 20 s each.
# Client and server share the machine's cores, the same way for both servers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${TAGGER_DATA:-$root/../shared/data}"
venv="$here/.venv-annif"
annif_version="1.4.3"
log() { echo "[annif_rest.sh $(date +%H:%M:%S)] $*" >&2; }

installed="$("$venv/bin/python" -c 'import importlib.metadata as m, annif, omikuji; print(m.version("annif"))' 2>/dev/null || true)"
if [ "$installed" != "$annif_version" ] || [ ! -x "$venv/bin/annif" ]; then
  log "creating $venv (annif[omikuji]==$annif_version)"
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q "annif[omikuji]==$annif_version" "omikuji==0.5.2"
fi
annif="$venv/bin/annif"
(cd "$root" && cargo build --release -p tagger -q)
bin="$root/target/release/tagger"

tmp="$(mktemp -d)"
server=""
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$root/benches/out"
train="$data/kirjastonhoitaja/annif/train"
validate="$data/kirjastonhoitaja/annif/validate"
port_annif=5075
port_tagger=9175

# NLTK's punkt data, faked as annif.sh does (nothing is downloaded).
for lang in english finnish; do
  mkdir -p "$tmp/nltk_data/tokenizers/punkt_tab/$lang"
  for f in collocations.tab sent_starters.txt abbrev_types.txt ortho_context.tab; do
    : > "$tmp/nltk_data/tokenizers/punkt_tab/$lang/$f"
  done
done
export NLTK_DATA="$tmp/nltk_data"
export ANNIF_PROJECTS="$tmp/projects.cfg"
export ANNIF_DATADIR="$tmp/annif-data"
: > "$ANNIF_PROJECTS"
for backend in omikuji mllm; do
  printf '[kh-%s]\nname=kirjastonhoitaja %s\nlanguage=fi\nbackend=%s\nanalyzer=snowball(finnish)\nvocab=yso\n\n' \
    "$backend" "$backend" "$backend" >> "$ANNIF_PROJECTS"
done
printf '[kh-ensemble]\nname=kirjastonhoitaja ensemble\nlanguage=fi\nbackend=ensemble\nanalyzer=snowball(finnish)\nvocab=yso\nsources=kh-mllm:1,kh-omikuji:1\n\n' \
  >> "$ANNIF_PROJECTS"
log "annif load-vocab, train kh-omikuji and kh-mllm"
"$annif" load-vocab --language fi yso "$data/vocab/yso-fi.tsv" > "$tmp/load.log" 2>&1
"$annif" train kh-omikuji "$train" > "$tmp/train-omikuji.log" 2>&1
"$annif" train kh-mllm "$train" > "$tmp/train-mllm.log" 2>&1
log "tagger train"
mkdir -p "$tmp/models/kirjastonhoitaja/1"
"$bin" train -q --corpus "$train" --vocab "$data/vocab/yso-fi.tsv" --vocab "$data/vocab/yso-en.tsv" \
  --out "$tmp/models/kirjastonhoitaja/1/model.tgm" > "$tmp/train-tagger.log" 2>&1

# wait_for URL: until the server answers (at most 120 s).
wait_for() {
  for _ in $(seq 240); do
    curl -sf "$1" > /dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { echo "server exited" >&2; return 1; }
    sleep 0.5
  done
  echo "no answer from $1" >&2; return 1
}
rows="$root/benches/out/annif_rest.jsonl"
: > "$rows"

log "tagger serve"
"$bin" serve --models "$tmp/models" --addr 127.0.0.1:0 --metrics-addr "127.0.0.1:$port_tagger" \
  --reload-interval-secs 0 > "$tmp/serve-tagger.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$port_tagger/v1/projects"
python3 "$here/annif_rest_client.py" "$validate" "$tmp/tagger.jsonl" \
  "tagger=http://127.0.0.1:$port_tagger/v1:kirjastonhoitaja"
cat "$tmp/tagger.jsonl" >> "$rows"
kill "$server"; wait "$server" 2>/dev/null || true; server=""

log "annif run"
"$annif" run --host 127.0.0.1 --port "$port_annif" > "$tmp/serve-annif.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$port_annif/v1/projects"
python3 "$here/annif_rest_client.py" "$validate" "$tmp/annif.jsonl" \
  "Annif omikuji=http://127.0.0.1:$port_annif/v1:kh-omikuji" \
  "Annif mllm=http://127.0.0.1:$port_annif/v1:kh-mllm" \
  "Annif ensemble mllm+omikuji=http://127.0.0.1:$port_annif/v1:kh-ensemble"
cat "$tmp/annif.jsonl" >> "$rows"
kill "$server"; wait "$server" 2>/dev/null || true; server=""

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
commit="$(git -C "$root" rev-parse --short HEAD)"
git -C "$root" diff --quiet HEAD -- . ':(exclude)BENCHMARKS.md' 2>/dev/null \
  || commit="$commit (working tree with uncommitted changes)"
python3 - "$rows" "$root/benches/out/annif_rest.md" "$(nproc) cores, ${cpu:-unknown CPU}" "$commit" \
  "$("$annif" --version 2>/dev/null)" <<'EOF'
import json, sys, datetime
rows_path, md_path, machine, commit, annif_version = sys.argv[1:6]
rows = [json.loads(line) for line in open(rows_path)]
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
lines = [
    f"Measured {date} on {machine}; tagger {commit}, Annif {annif_version} (`annif run`). Corpus: kirjastonhoitaja "
    f"validate texts ({rows[0]['documents']} documents), `suggest-batch` calls of {rows[0]['batch']} documents, "
    f"limit={rows[0]['limit']}, one pass to warm up, then at least 20 s per row; client and server on the same "
    "2 cores. Command: `bash benches/peers/annif_rest.sh`.",
    "",
    "| server | project | client threads | docs/s | call p50 ms | call p99 ms | suggestions/doc | docs answered |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
]
for r in rows:
    lines.append(f"| {'tagger serve' if r['system'] == 'tagger' else 'annif run'} | {r['system']} ({r['project']}) | "
                 f"{r['client_threads']} | {r['docs_per_sec']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                 f"{r['suggestions_per_doc']:.2f} | {r['docs']} |")
lines.append("")
for threads in (1, 4):
    t = next(r for r in rows if r["system"] == "tagger" and r["client_threads"] == threads)
    ratios = [f"{r['system']} {t['docs_per_sec'] / r['docs_per_sec']:.0f}×" for r in rows
              if r["system"] != "tagger" and r["client_threads"] == threads]
    lines.append(f"* {threads} client thread(s): tagger's docs/s over Annif's: " + ", ".join(ratios) + ".")
open(md_path, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
python3 "$root/benches/update_section.py" annif_rest "$root/benches/out/annif_rest.md"
