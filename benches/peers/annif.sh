#!/usr/bin/env bash
# Annif vs tagger on the two Finnish thesaurus corpora, measured in one run on this machine:
#   bash benches/peers/annif.sh               # data from ../shared/data, or TAGGER_DATA=/path/to/data
# Takes 20-40 minutes on 2 cores. Writes benches/out/annif_peers.{jsonl,md} and rewrites the annif_peers
# section of BENCHMARKS.md (benches/update_section.py).
#
# Set-up (first run, or when the venv is missing or broken): benches/peers/.venv-annif, a venv with
# annif[omikuji]==1.4.3 and omikuji==0.5.2 from PyPI (Annif pins its own dependencies; MLLM and SVC are in
# core Annif; no fastText, no neural extras). Nothing else is downloaded: NLTK's punkt_tab tokenizer data
# that Annif's analyzers look for is faked with empty files (punkt_tab/{english,finnish}/collocations.tab,
# sent_starters.txt, abbrev_types.txt, ortho_context.tab) in a temporary NLTK_DATA dir, so sentence
# splitting uses punkt's untrained defaults (falls back to ~/nltk_data only if NLTK_DATA is not honoured).
# Everything else (projects.cfg, Annif's data dir, models) lives in a mktemp -d dir removed on exit.
#
# Corpora (train split for training, validate split for evaluation; nothing is tuned on validate):
#   kirjastonhoitaja: kirjastonhoitaja/annif/{train,validate}/ (document directories), YSO subjects.
#                     Annif vocab "yso" = `annif load-vocab --language fi yso vocab/yso-fi.tsv`.
#   makupalat:        makupalat/makupalat-{train,validate}.tsv (short-text TSV), YKL subjects.
#                     Annif vocab "ykl" = `annif load-vocab ykl vocab/ykl-skos.ttl`.
# Systems (every Annif project: language=fi, analyzer=snowball(finnish), backend limit = Annif's default 100):
#   omikuji   Annif's defaults, i.e. Parabel as in Annif's projects.cfg.dist "omikuji-parabel-*" projects:
#             min_df=1, ngram=1, cluster_balanced=True, cluster_k=2, max_depth=20, collapse_every_n_layers=0.
#   mllm      defaults: min_samples_leaf=20, max_leaf_nodes=1000, max_samples=0.9, use_hidden_labels=False.
#   svc       defaults: min_df=1, ngram=1, sklearn LinearSVC(dual="auto"). Annif's SVC is single-label: it
#             trains on one subject of each document (Annif logs "selecting one random subject").
#   ensemble  backend=ensemble, sources=<corpus>-mllm:1,<corpus>-omikuji:1 (simple weighted average, equal
#             weights). It has no training of its own: its train time is the sum of its sources' times.
#   tagger    default configuration, `tagger train -q --corpus TRAIN --vocab ... --out M` (kirjastonhoitaja:
#             --vocab yso-fi.tsv --vocab yso-en.tsv; makupalat: --vocab ykl-skos.ttl), then
#             `tagger eval --model M --corpus VALIDATE --json` (figures under "annif").
# Annif trains with `annif train` (default --jobs 0 = automatic) and evaluates with
# `annif eval P VALIDATE --limit 10 --threshold 0.0 --jobs 0 --metrics-file F` (jobs 0 = all CPUs); tagger
# uses one thread per core for both. Every train and eval command runs under /usr/bin/time -f "%e %M"
# (wall seconds, peak RSS KB). docs/s = validate documents / wall seconds of the whole eval process, so it
# includes starting Python and loading the model (Annif) or the model file (tagger); tagger's own
# predict_docs_per_sec (tagging only, both cores) is shown next to it in parentheses.
#
# Metrics, as Annif's annif/eval.py computes them (suggestions: top 10 per document, score > 0):
#   Precision@k  per document |top-k suggestions ∩ gold| / (number of suggestions kept, at most k), averaged
#                over documents (sklearn precision_score average="samples"; k = 1, 3, 5).
#   F1@5         per-document F1 of the top-5 suggestions against the gold subjects, averaged over documents.
#   NDCG@k       per document DCG of the top-k ranked suggestions (gain 1 for a gold subject, discount
#                log2(rank+1)) over the ideal DCG of the gold set cut at k; averaged over documents
#                (documents without gold subjects count 1).
#   F1 score (doc avg)  per-document F1 of all kept suggestions (here up to 10), averaged (JSON only).
# tagger's "annif" block of `tagger eval --json` (f1_at_5, p_at_1, p_at_3, p_at_5, r_at_5, ndcg_at_5,
# ndcg_at_10) follows the same definitions.
#   unseen R@5   (kirjastonhoitaja only) of the validate documents' subjects that no training document has,
#                the share found in the system's top 5 suggestions, pooled over documents.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${TAGGER_DATA:-$root/../shared/data}"
venv="$here/.venv-annif"
annif_version="1.4.3"
log() { echo "[annif.sh $(date +%H:%M:%S)] $*" >&2; }

installed="$("$venv/bin/python" -c 'import importlib.metadata as m, annif, omikuji, sklearn; print(m.version("annif"))' 2>/dev/null || true)"
if [ "$installed" != "$annif_version" ] || [ ! -x "$venv/bin/annif" ]; then
  log "creating $venv (annif[omikuji]==$annif_version)"
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q "annif[omikuji]==$annif_version" "omikuji==0.5.2"
fi
annif="$venv/bin/annif"

(cd "$root" && cargo build --release -p tagger -q)
bin="$root/target/release/tagger"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$root/benches/out"
table="$root/benches/out/annif_peers.md"
json_out="$root/benches/out/annif_peers.jsonl"

fake_punkt() {
  local lang f dir
  for lang in english finnish; do
    dir="$1/tokenizers/punkt_tab/$lang"
    mkdir -p "$dir"
    for f in collocations.tab sent_starters.txt abbrev_types.txt ortho_context.tab; do
      [ -e "$dir/$f" ] || : > "$dir/$f"
    done
  done
}
export NLTK_DATA="$tmp/nltk_data"
fake_punkt "$NLTK_DATA"
if ! "$venv/bin/python" -c 'import nltk.data; nltk.data.find("tokenizers/punkt_tab/finnish/")' 2>/dev/null; then
  log "NLTK_DATA not honoured; using ~/nltk_data"
  fake_punkt "$HOME/nltk_data"
fi

export ANNIF_PROJECTS="$tmp/projects.cfg"
export ANNIF_DATADIR="$tmp/annif-data"
: > "$ANNIF_PROJECTS"
for spec in kirjastonhoitaja:yso makupalat:ykl; do
  corpus="${spec%%:*}"; vocab="${spec##*:}"
  for backend in omikuji mllm svc; do
    printf '[%s-%s]\nname=%s %s\nlanguage=fi\nbackend=%s\nanalyzer=snowball(finnish)\nvocab=%s\n\n' \
      "$corpus" "$backend" "$corpus" "$backend" "$backend" "$vocab" >> "$ANNIF_PROJECTS"
  done
  printf '[%s-ensemble]\nname=%s ensemble\nlanguage=fi\nbackend=ensemble\nanalyzer=snowball(finnish)\nvocab=%s\nsources=%s-mllm:1,%s-omikuji:1\n\n' \
    "$corpus" "$corpus" "$vocab" "$corpus" "$corpus" >> "$ANNIF_PROJECTS"
done
log "loading vocabularies"
"$annif" load-vocab --language fi yso "$data/vocab/yso-fi.tsv" > "$tmp/load-yso.log" 2>&1
"$annif" load-vocab ykl "$data/vocab/ykl-skos.ttl" > "$tmp/load-ykl.log" 2>&1

# timed OUT_PREFIX CMD...: run CMD under /usr/bin/time; stdout to OUT_PREFIX.out, stderr to OUT_PREFIX.err.
timed() {
  local out="$1"; shift
  /usr/bin/time -f "%e %M" -o "$out.time" "$@" > "$out.out" 2> "$out.err"
}
# fail DIR STEP: record why STEP failed (the last error-looking line of its stderr).
fail() {
  local reason
  reason="$(grep -v '^\s*$' "$1/$2.err" | grep -i -E 'error|exception|killed' | tail -n 1 || true)"
  [ -n "$reason" ] || reason="$(grep -v '^\s*$' "$1/$2.err" | tail -n 1 || true)"
  echo "$2: ${reason:-exit status $(tail -n 1 "$1/$2.time" 2>/dev/null)}" > "$1/error.txt"
  log "FAILED $1 $2: $reason"
}

res="$tmp/results"
# Subjects of kirjastonhoitaja/validate that no training document has: each system's top 5 for every validate
# document (Annif: `annif index --limit 5` on a copy of the directory, which it writes results into; tagger:
# `tagger predict --top-k 5`) is kept for annif_bench.py to compute recall@5 of those subjects.
kh_copy="$tmp/kh-validate"
cp -r "$data/kirjastonhoitaja/annif/validate" "$kh_copy"
top5() {  # top5 CORPUS SYSTEM DIR
  [ "$1" = kirjastonhoitaja ] || return 0
  log "$1 $2: annif index --limit 5 (for recall of unseen subjects)"
  "$annif" index "$1-$2" "$kh_copy" --suffix ".$2.annif" --limit 5 --threshold 0.0 --force \
    > "$3/index.out" 2> "$3/index.err" || log "FAILED $1 $2 index (no unseen recall): $(tail -n 1 "$3/index.err")"
}
for spec in "kirjastonhoitaja:$data/kirjastonhoitaja/annif/train:$data/kirjastonhoitaja/annif/validate:yso-fi.tsv,yso-en.tsv" \
            "makupalat:$data/makupalat/makupalat-train.tsv:$data/makupalat/makupalat-validate.tsv:ykl-skos.ttl"; do
  IFS=: read -r corpus train validate vocabs <<< "$spec"
  for backend in omikuji mllm svc; do
    d="$res/$corpus/$backend"; mkdir -p "$d"
    log "$corpus $backend: annif train"
    if ! timed "$d/train" "$annif" train "$corpus-$backend" "$train"; then fail "$d" train; continue; fi
    log "$corpus $backend: annif eval"
    timed "$d/eval" "$annif" eval "$corpus-$backend" "$validate" --limit 10 --threshold 0.0 --jobs 0 \
      --metrics-file "$d/metrics.json" || fail "$d" eval
    top5 "$corpus" "$backend" "$d"
  done
  d="$res/$corpus/ensemble"; mkdir -p "$d"
  echo "mllm omikuji" > "$d/sources"
  if [ -s "$res/$corpus/mllm/metrics.json" ] && [ -s "$res/$corpus/omikuji/metrics.json" ]; then
    log "$corpus ensemble: annif eval"
    timed "$d/eval" "$annif" eval "$corpus-ensemble" "$validate" --limit 10 --threshold 0.0 --jobs 0 \
      --metrics-file "$d/metrics.json" || fail "$d" eval
    top5 "$corpus" ensemble "$d"
  else
    echo "not run: a source project (mllm or omikuji) failed" > "$d/error.txt"
  fi
  d="$res/$corpus/tagger"; mkdir -p "$d"
  vocab_args=()
  IFS=, read -r -a vfiles <<< "$vocabs"
  for v in "${vfiles[@]}"; do vocab_args+=(--vocab "$data/vocab/$v"); done
  log "$corpus tagger: train"
  if timed "$d/train" "$bin" train -q --corpus "$train" "${vocab_args[@]}" --out "$tmp/$corpus.tgm"; then
    log "$corpus tagger: eval"
    timed "$d/eval" "$bin" eval --model "$tmp/$corpus.tgm" --corpus "$validate" --json || fail "$d" eval
    if [ "$corpus" = kirjastonhoitaja ]; then
      "$bin" predict --model "$tmp/$corpus.tgm" --top-k 5 "$validate" > "$d/top5.jsonl" 2> "$d/predict.err" \
        || log "FAILED tagger predict (no unseen recall): $(tail -n 1 "$d/predict.err")"
    fi
  else
    fail "$d" train
  fi
done

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
commit="$(git -C "$root" rev-parse --short HEAD)"
# Tables that benchmark scripts rewrite do not make the code differ from the commit.
git -C "$root" diff --quiet HEAD -- . ':(exclude)BENCHMARKS.md' 2>/dev/null \
  || commit="$commit (working tree with uncommitted changes)"
BENCH_MACHINE="$(nproc) cores, ${cpu:-unknown CPU}" \
BENCH_ANNIF="$("$annif" --version 2>/dev/null) (omikuji $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("omikuji"))'))" \
BENCH_COMMIT="$commit" BENCH_DATE="$(date -u +%Y-%m-%d)" \
BENCH_KH_TRAIN="$data/kirjastonhoitaja/annif/train" BENCH_KH_VALIDATE="$data/kirjastonhoitaja/annif/validate" \
BENCH_KH_INDEXED="$kh_copy" \
  python3 "$here/annif_bench.py" "$res" "$json_out" "$table"
python3 "$root/benches/update_section.py" annif_peers "$table"
