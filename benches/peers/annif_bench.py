"""Collect the results of benches/peers/annif.sh into JSON lines and a markdown table (stdlib only).

    python3 benches/peers/annif_bench.py RESULTS_DIR OUT_JSONL OUT_MD

RESULTS_DIR/<corpus>/<system>/ holds what annif.sh left there:
  train.time, eval.time   `/usr/bin/time -f "%e %M"` output (wall seconds, peak RSS KB; last line)
  metrics.json            `annif eval --metrics-file` (Annif systems)
  eval.out                `tagger eval --json` (tagger)
  error.txt               why the system could not be trained or evaluated
  sources                 (ensemble) the source systems whose training times and memory it inherits
  top5.jsonl              (tagger, kirjastonhoitaja) `tagger predict --top-k 5` of the validate documents
The header line comes from the environment: BENCH_MACHINE, BENCH_ANNIF, BENCH_COMMIT, BENCH_DATE.
Recall of unseen subjects (kirjastonhoitaja): BENCH_KH_TRAIN and BENCH_KH_VALIDATE are the Annif document
directories (NAME.txt + NAME.tsv), BENCH_KH_INDEXED the copy of validate that `annif index` wrote
NAME.<system>.annif results into.
"""
import json
import os
import pathlib
import sys

CORPORA = [("kirjastonhoitaja", "kirjastonhoitaja (YSO)"), ("makupalat", "makupalat (YKL)")]
SYSTEMS = [("omikuji", "Annif omikuji (Parabel defaults)"),
           ("mllm", "Annif mllm (defaults)"),
           ("svc", "Annif svc (defaults)"),
           ("ensemble", "Annif ensemble mllm+omikuji (1:1)"),
           ("tagger", "tagger (default config)")]
# (our key, Annif's metric code in --metrics-file, tagger's key under "annif")
METRICS = [("f1_at_5", "F1@5", "f1_at_5"), ("p_at_1", "Precision@1", "p_at_1"),
           ("p_at_3", "Precision@3", "p_at_3"), ("p_at_5", "Precision@5", "p_at_5"),
           ("ndcg_at_5", "NDCG@5", "ndcg_at_5"), ("ndcg_at_10", "NDCG@10", "ndcg_at_10")]


def read_time(path):
    """(wall seconds, peak RSS MB) from a /usr/bin/time -f "%e %M" file, or None."""
    if not path.exists():
        return None
    lines = [l for l in path.read_text().splitlines() if l.strip()]
    try:
        secs, kb = lines[-1].split()[-2:]
        return float(secs), float(kb) / 1024
    except (IndexError, ValueError):
        return None


def collect(res, corpus, system):
    d = res / corpus / system
    row = {"corpus": corpus, "system": system}
    err = d / "error.txt"
    if err.exists():
        row["error"] = err.read_text().strip()
    src = d / "sources"
    if src.exists():  # ensemble: no training of its own; inherits its sources' training
        names = src.read_text().split()
        times = [read_time(res / corpus / n / "train.time") for n in names]
        if all(times):
            row["train_seconds"] = sum(t[0] for t in times)
            row["train_peak_rss_mb"] = max(t[1] for t in times)
            row["train_note"] = "sum of the training times of " + " + ".join(names) + "; RSS the larger"
    else:
        t = read_time(d / "train.time")
        if t:
            row["train_seconds"], row["train_peak_rss_mb"] = t
    t = read_time(d / "eval.time")
    if t and "error" not in row:
        row["eval_seconds"], row["eval_peak_rss_mb"] = t
    if "error" in row:
        return row
    if system == "tagger":
        out = d / "eval.out"
        try:
            ev = json.loads(out.read_text())
        except (OSError, ValueError) as e:
            row["error"] = f"tagger eval --json output unreadable: {e}"
            return row
        block = ev.get("annif") or {}
        missing = [k for _, _, k in METRICS if k not in block]
        if missing:
            row["missing_keys"] = missing
        for ours, _, theirs in METRICS + [("r_at_5", None, "r_at_5")]:
            row[ours] = block.get(theirs)
        row["f1_doc_avg"] = None  # tagger eval reports no thresholded per-document F1 in Annif's sense
        row["docs"] = ev.get("docs")
        row["micro_f1"] = ev.get("micro_f1")
        row["predict_docs_per_sec"] = ev.get("predict_docs_per_sec")
        row["threads"] = ev.get("threads")
    else:
        try:
            m = json.loads((d / "metrics.json").read_text())
        except (OSError, ValueError) as e:
            row["error"] = f"annif eval metrics unreadable: {e}"
            return row
        for ours, theirs, _ in METRICS:
            row[ours] = m.get(theirs)
        row["f1_doc_avg"] = m.get("F1_score_doc_avg")
        row["docs"] = m.get("Documents_evaluated")
    if row.get("docs") and row.get("eval_seconds"):
        row["docs_per_sec_whole_eval"] = row["docs"] / row["eval_seconds"]
    return row


def subjects(tsv):
    """The subject URIs of an Annif subject file (`<URI>\tlabel` lines) or result file (`<URI>\tlabel\tscore`)."""
    out = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        uri = line.split("\t", 1)[0].strip().strip("<>")
        if uri:
            out.append(uri)
    return out


def unseen_recall(res, rows):
    """Set row["unseen_r_at_5"] (and the number of such subjects) for each kirjastonhoitaja system."""
    env = os.environ.get
    train, validate, indexed = (env(k) for k in ("BENCH_KH_TRAIN", "BENCH_KH_VALIDATE", "BENCH_KH_INDEXED"))
    if not (train and validate and indexed):
        return
    seen = {u for f in pathlib.Path(train).glob("*.tsv") for u in subjects(f)}
    gold = {f.stem: set(subjects(f)) for f in pathlib.Path(validate).glob("*.tsv")}
    unseen = {doc: {u for u in g if u not in seen} for doc, g in gold.items()}
    total = sum(len(u) for u in unseen.values())
    for r in rows:
        if "error" in r or not total:
            continue
        top = {}
        if r["system"] == "tagger":
            f = res / "kirjastonhoitaja" / "tagger" / "top5.jsonl"
            if not f.exists():
                continue
            for line in f.read_text(encoding="utf-8").splitlines():
                d = json.loads(line)
                top[pathlib.Path(d["id"]).stem] = [t.get("uri", t["label"]) for t in d["tags"]][:5]
        else:
            files = list(pathlib.Path(indexed).glob(f"*.{r['system']}.annif"))
            if not files:
                continue
            for f in files:
                top[f.name.split(".")[0]] = subjects(f)[:5]
        hits = sum(len(u & set(top.get(doc, []))) for doc, u in unseen.items())
        r["unseen_r_at_5"] = hits / total
        r["unseen_subjects"] = total


def fmt(v, spec):
    return "" if v is None else format(v, spec)


def main():
    res, out_jsonl, out_md = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    env = os.environ.get
    lines = [
        f"Measured {env('BENCH_DATE', '?')} on {env('BENCH_MACHINE', '?')}; Annif {env('BENCH_ANNIF', '?')}, "
        f"tagger {env('BENCH_COMMIT', '?')}. Train on `train`, evaluate on `validate`, Annif with "
        "`annif eval --limit 10 --threshold 0.0 --jobs 0`, tagger with `tagger eval` (both use both cores).",
        "",
        "train s: wall seconds of the training command (ensemble: its sources' sum). peak RSS MB: training / "
        "evaluation process. docs/s: validate documents / wall seconds of the whole evaluation process "
        "(loading the model included; tagger's own tagging-only rate in parentheses).",
        "",
        "unseen R@5: of the validate subjects no training document has, the share in the top 5 "
        "(kirjastonhoitaja only).",
        "",
        "| corpus | system | train s | peak RSS MB | F1@5 | P@1 | P@3 | P@5 | nDCG@5 | nDCG@10 | unseen R@5 | docs/s (whole eval process) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows_all = []
    notes = []
    for corpus, corpus_label in CORPORA:
        rows = [collect(res, corpus, s) for s, _ in SYSTEMS]
        if corpus == "kirjastonhoitaja":
            unseen_recall(res, rows)
        rows_all += rows
        for (s, label), r in zip(SYSTEMS, rows):
            r["system_label"] = label
            if "error" in r:
                reason = r["error"].replace("|", "/").replace("\n", " ")[:200]
                lines.append(f"| {corpus} | {label} | failed: {reason} | | | | | | | | | |")
                continue
            rss = "/".join(fmt(r.get(k), ".0f") or "?" for k in ("train_peak_rss_mb", "eval_peak_rss_mb"))
            dps = fmt(r.get("docs_per_sec_whole_eval"), ".1f")
            if s == "tagger" and r.get("predict_docs_per_sec") is not None:
                dps += f" ({r['predict_docs_per_sec']:.0f})"
            if r.get("missing_keys"):
                dps += f" (missing: {', '.join(r['missing_keys'])})"
            vals = " | ".join(fmt(r.get(k), ".4f") for k, _, _ in METRICS)
            unseen = fmt(r.get("unseen_r_at_5"), ".4f")
            lines.append(f"| {corpus} | {label} | {fmt(r.get('train_seconds'), '.1f')} | {rss} | {vals} | {unseen} | {dps} |")
        tagger = rows[-1]
        annif_ok = [r for r in rows[:-1] if "error" not in r]
        parts = []
        for key, name in (("f1_at_5", "F1@5"), ("ndcg_at_5", "nDCG@5"), ("p_at_1", "P@1"),
                          ("unseen_r_at_5", "unseen R@5")):
            cands = [r for r in annif_ok if r.get(key) is not None]
            if cands and tagger.get(key) is not None:
                best = max(cands, key=lambda r: r[key])
                parts.append(f"{name} {tagger[key] - best[key]:+.4f} (best Annif: {best['system_label']}, "
                             f"{best[key]:.4f})")
            elif key != "unseen_r_at_5":
                parts.append(f"{name} n/a")
        docs = sorted({r["docs"] for r in rows if r.get("docs") is not None})
        docs_text = "/".join(str(n) for n in docs) or "?"
        notes.append(f"* {corpus_label}, {docs_text} validate documents evaluated: tagger minus the best Annif system: " + "; ".join(parts) + ".")
    lines.append("")
    lines += notes
    out_md.write_text("\n".join(lines) + "\n")
    with out_jsonl.open("w") as f:
        for r in rows_all:
            f.write(json.dumps(r) + "\n")
    print(out_md.read_text(), end="")


if __name__ == "__main__":
    main()
