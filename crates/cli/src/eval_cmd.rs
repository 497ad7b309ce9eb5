use crate::common::{labelled, read_inputs, set_threads};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use tagger_model::{Decision, TaggerModel, metrics};
use tagger_vocab::Resolver;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    /// Labelled evaluation corpus (directory, file or .jsonl).
    #[arg(long)]
    corpus: PathBuf,
    /// One JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Include per-label figures in the JSON output.
    #[arg(long)]
    per_label: bool,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also write an HTML report with plots into this directory (index.html and one SVG per chart).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// The training corpus, for the report's per-label F1 against training frequency (chart left out without it).
    #[arg(long, value_name = "CORPUS", requires = "report")]
    train: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let mut out = String::new();
    set_threads(args.threads)?;
    let model = TaggerModel::load(&args.model).context("loading model")?;
    let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let Evaluated { gold, selected, ranked, report: mut r, docs_per_sec } = evaluate(&model, &docs, "evaluation")?;
    // Subjects no training document had: only a model with the lexical backend can find them.
    let trained: std::collections::HashSet<&str> = model.labels().iter().map(String::as_str).collect();
    let (unseen_r5, unseen) = metrics::unseen_recall_at(&gold, &ranked, &|s| trained.contains(s), 5);
    if let Some(dir) = &args.report {
        write_report(dir, &args, &model, &texts, &gold, &selected, &r, (unseen, unseen_r5))?;
    }
    if args.json {
        if !args.per_label {
            r.per_label.clear();
        }
        let mut v = serde_json::to_value(&r)?;
        v["unseen_subjects"] = unseen.into();
        v["unseen_r_at_5"] = unseen_r5.into();
        v["predict_docs_per_sec"] = docs_per_sec.into();
        v["threads"] = rayon::current_num_threads().into();
        writeln!(out, "{v}")?;
        return crate::common::emit(&out);
    }
    writeln!(out, "documents  {:>8}    labels in gold  {}", r.docs, r.labels)?;
    writeln!(out, "            {:>9} {:>9} {:>9}", "precision", "recall", "F1")?;
    writeln!(out, "micro       {:>9.4} {:>9.4} {:>9.4}", r.micro_precision, r.micro_recall, r.micro_f1)?;
    writeln!(out, "macro       {:>9.4} {:>9.4} {:>9.4}", r.macro_precision, r.macro_recall, r.macro_f1)?;
    writeln!(
        out,
        "P@1 {:.4}  P@3 {:.4}  P@5 {:.4}  nDCG@3 {:.4}  nDCG@5 {:.4}",
        r.p_at_1, r.p_at_3, r.p_at_5, r.ndcg_at_3, r.ndcg_at_5
    )?;
    let a = &r.annif;
    writeln!(
        out,
        "as Annif computes them (every document): F1@5 {:.4}  P@1 {:.4}  P@3 {:.4}  P@5 {:.4}  R@5 {:.4}  \
         nDCG@5 {:.4}  nDCG@10 {:.4}",
        a.f1_at_5, a.p_at_1, a.p_at_3, a.p_at_5, a.r_at_5, a.ndcg_at_5, a.ndcg_at_10
    )?;
    if unseen > 0 {
        writeln!(out, "subjects no training document had: {unseen}, recall@5 of them {unseen_r5:.4}")?;
    }
    let mut worst: Vec<_> = r.per_label.iter().filter(|l| l.support > 0).collect();
    worst.sort_by(|a, b| a.f1.total_cmp(&b.f1).then(b.support.cmp(&a.support)));
    writeln!(out, "\nworst labels (by F1, gold support ≥ 1):")?;
    writeln!(out, "{:<32} {:>7} {:>9} {:>9} {:>7}", "label", "support", "precision", "recall", "F1")?;
    for l in worst.iter().take(10) {
        // A vocabulary model shows concepts by name, not URI; other labels never seen in training have no id.
        let name = model.tag_id(&l.label).map_or(l.label.as_str(), |id| model.display_label(id, ""));
        writeln!(out, "{:<32} {:>7} {:>9.3} {:>9.3} {:>7.3}", name, l.support, l.precision, l.recall, l.f1)?;
    }
    crate::common::emit(&out)
}

/// A model's evaluation on a labelled corpus.
pub(crate) struct Evaluated {
    /// The documents' subjects as the model names them.
    pub gold: Vec<Vec<String>>,
    /// The tags its own decision rule chose.
    pub selected: Vec<Vec<String>>,
    /// Its 10 best labels.
    pub ranked: Vec<Vec<String>>,
    pub report: metrics::Report,
    /// Documents tagged per second by the decision rule (raw text in, tags out, on the configured threads; the
    /// model prepared as after loading, see [`TaggerModel::prepare`], and its word memos empty).
    pub docs_per_sec: f64,
}

/// Evaluates `model` on `docs`: its decision rule for the chosen tags, its top 10 for the ranking figures.
pub(crate) fn evaluate(model: &TaggerModel, docs: &[tagger_corpus::Document], what: &str) -> Result<Evaluated> {
    let gold = subjects_of(model, docs, what)?;
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let names = |tags: Vec<Vec<tagger_model::Tag<'_>>>| -> Vec<Vec<String>> {
        tags.into_iter().map(|t| t.into_iter().map(|t| t.label.to_owned()).collect()).collect()
    };
    // Timed: raw text in, tags out, in process, on the configured threads, with the model prepared as a server
    // prepares it when it loads a model (its word memos start empty: every distinct word is new).
    model.prepare();
    let start = std::time::Instant::now();
    let tagged = model.tag_batch(&texts, Decision::ModelRule);
    let docs_per_sec = texts.len() as f64 / start.elapsed().as_secs_f64();
    let selected = names(tagged);
    let ranked = names(model.tag_batch(&texts, Decision::TopK { k: 10, min_score: None }));
    let report = metrics::evaluate(&gold, &selected, &ranked);
    Ok(Evaluated { gold, selected, ranked, report, docs_per_sec })
}

/// The documents' subjects as the model names them: a vocabulary model's labels are concept URIs, and a corpus
/// may name subjects by URI, notation or any label.
pub(crate) fn subjects_of(
    model: &TaggerModel,
    docs: &[tagger_corpus::Document],
    what: &str,
) -> Result<Vec<Vec<String>>> {
    let gold = labelled(docs, what)?;
    let Some(vocab) = model.vocabulary() else {
        return Ok(gold);
    };
    let resolver = Resolver::new(vocab);
    let mapping = crate::common::SubjectMapping::new(&resolver, false);
    let gold = mapping.map_all(&gold)?;
    let report = mapping.report();
    if report.unresolved() > 0 {
        eprintln!("{what}: {}", crate::vocab_cmd::describe_report(&report));
    }
    Ok(gold)
}

/// Writes the evaluation report into `dir`: `index.html` (charts inlined) and one SVG per chart, each file
/// replaced atomically.
#[allow(clippy::too_many_arguments)]
fn write_report(
    dir: &std::path::Path,
    args: &Args,
    model: &TaggerModel,
    texts: &[&str],
    gold: &[Vec<String>],
    selected: &[Vec<String>],
    r: &metrics::Report,
    (unseen, unseen_r5): (usize, f64),
) -> Result<()> {
    const RANKED: usize = 20;
    let ranked = model.tag_batch(texts, Decision::TopK { k: RANKED, min_score: None });
    let docs: Vec<tagger_report::EvalDoc> = gold
        .iter()
        .zip(selected)
        .zip(&ranked)
        .map(|((g, s), ranked)| tagger_report::EvalDoc {
            gold: g.clone(),
            selected: s.clone(),
            ranked: ranked.iter().map(|t| (t.label.to_owned(), t.score)).collect(),
        })
        .collect();
    let train_counts = match &args.train {
        Some(path) => {
            let train_docs = read_inputs(std::slice::from_ref(path))?;
            let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            for subjects in subjects_of(model, &train_docs, "training")? {
                let distinct: std::collections::BTreeSet<String> = subjects.into_iter().collect();
                for s in distinct {
                    *counts.entry(s).or_insert(0) += 1;
                }
            }
            Some(counts)
        }
        None => None,
    };
    let name =
        |label: &str| model.tag_id(label).map_or_else(|| label.to_owned(), |id| model.display_label(id, "").to_owned());
    let labels = r
        .per_label
        .iter()
        .map(|l| tagger_report::LabelRow {
            label: l.label.clone(),
            name: name(&l.label),
            support: l.support,
            predicted: l.predicted,
            precision: l.precision,
            recall: l.recall,
            f1: l.f1,
            train_docs: train_counts.as_ref().map(|c| c.get(&l.label).copied().unwrap_or(0)),
        })
        .collect();
    let a = &r.annif;
    let mut summary = vec![
        ("documents".to_owned(), r.docs.to_string()),
        ("labels in the gold tags".to_owned(), r.labels.to_string()),
        (
            "micro precision / recall / F1".to_owned(),
            format!("{:.4} / {:.4} / {:.4}", r.micro_precision, r.micro_recall, r.micro_f1),
        ),
        (
            "macro precision / recall / F1".to_owned(),
            format!("{:.4} / {:.4} / {:.4}", r.macro_precision, r.macro_recall, r.macro_f1),
        ),
        ("P@1 / P@3 / P@5".to_owned(), format!("{:.4} / {:.4} / {:.4}", r.p_at_1, r.p_at_3, r.p_at_5)),
        (
            "as Annif computes them: F1@5 / nDCG@5 / nDCG@10".to_owned(),
            format!("{:.4} / {:.4} / {:.4}", a.f1_at_5, a.ndcg_at_5, a.ndcg_at_10),
        ),
    ];
    if unseen > 0 {
        summary.push((
            "subjects no training document had: count / recall@5".to_owned(),
            format!("{unseen} / {unseen_r5:.4}"),
        ));
    }
    let input = tagger_report::ReportInput {
        title: format!("{} on {}", args.model.display(), args.corpus.display()),
        subtitle: format!(
            "tagger {} eval --model {} --corpus {}{}; the model's decision rule for the chosen tags, its top {RANKED} \
             for the ranking",
            env!("CARGO_PKG_VERSION"),
            args.model.display(),
            args.corpus.display(),
            args.train.as_ref().map_or_else(String::new, |t| format!(" --train {}", t.display()))
        ),
        summary,
        docs,
        labels,
        frequency_source: match &args.train {
            Some(t) => {
                format!("training documents ({}), log scale", t.file_name().unwrap_or_default().to_string_lossy())
            }
            None => String::new(),
        },
        model_decision: Some((r.micro_precision, r.micro_recall)),
    };
    let report = tagger_report::render(&input).context("making the report")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, svg) in &report.charts {
        tagger_model::write_atomic(&dir.join(file), svg.as_bytes())?;
    }
    let index = dir.join("index.html");
    tagger_model::write_atomic(&index, report.html.as_bytes())?;
    eprintln!("report: {} ({} charts)", index.display(), report.charts.len());
    Ok(())
}
