use crate::common::{labelled, read_inputs, set_threads, spinner};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use tagger_model::cross_validate;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled corpus to split into folds (directory, file, .jsonl or -). Use training data, never a test split.
    #[arg(long)]
    corpus: PathBuf,
    /// Outer folds: each is tagged by a model trained on the others.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// One JSON object on stdout instead of a summary.
    #[arg(long)]
    json: bool,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    config: crate::common::ConfigOptions,
    #[command(flatten)]
    vocab: crate::vocab_cmd::VocabOptions,
}

pub fn run(args: Args) -> Result<()> {
    let mut out = String::new();
    set_threads(args.threads)?;
    let config = args.config.load()?;
    let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
    anyhow::ensure!(!docs.is_empty(), "{} holds no documents", args.corpus.display());
    let mut labels = labelled(&docs, "cross-validation")?;
    let vocab =
        if args.vocab.files.is_empty() { None } else { Some(crate::vocab_cmd::load_vocabulary(&args.vocab.files)?) };
    if let Some(vocab) = &vocab {
        let resolver = tagger_vocab::Resolver::new(vocab);
        let mapping = crate::common::SubjectMapping::new(&resolver, args.vocab.strict_subjects);
        labels = mapping.map_all(&labels)?;
        eprintln!("{}", crate::vocab_cmd::describe_report(&mapping.report()));
    }
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let start = Instant::now();
    let pb = spinner(args.quiet, "cross-validating");
    let folds = args.folds;
    let progress = |f: usize| pb.set_message(format!("training fold {} of {folds}", f + 1));
    let cv = cross_validate(&texts, &labels, &config, vocab.as_ref(), folds, &progress)
        .with_context(|| format!("cross-validating on {}", args.corpus.display()))?;
    pb.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let r = &cv.pooled;
    if args.json {
        let v = serde_json::json!({
            "folds": cv.folds,
            "docs": r.docs,
            "labels": r.labels,
            "micro_f1": r.micro_f1,
            "macro_f1": r.macro_f1,
            "micro_precision": r.micro_precision,
            "micro_recall": r.micro_recall,
            "p_at_1": r.p_at_1,
            "p_at_3": r.p_at_3,
            "p_at_5": r.p_at_5,
            "ndcg_at_5": r.ndcg_at_5,
            "annif": r.annif,
            "fold_micro_f1": cv.fold_micro_f1,
            "mean_micro_f1": cv.mean_micro_f1(),
            "sd_micro_f1": cv.sd_micro_f1(),
            "unseen_subjects": cv.unseen_subjects,
            "unseen_r_at_5": cv.unseen_r_at_5,
            "seconds": seconds,
        });
        writeln!(out, "{v}")?;
        return crate::common::emit(&out);
    }
    writeln!(
        out,
        "{}-fold cross-validation on {} documents, {} gold labels ({seconds:.1} s)",
        cv.folds, r.docs, r.labels
    )?;
    writeln!(out, "pooled      micro-F1 {:.4}  macro-F1 {:.4}  P@1 {:.4}", r.micro_f1, r.macro_f1, r.p_at_1)?;
    writeln!(out, "            micro precision {:.4}  recall {:.4}", r.micro_precision, r.micro_recall)?;
    let a = &r.annif;
    writeln!(
        out,
        "as Annif   F1@5 {:.4}  P@1 {:.4}  P@5 {:.4}  R@5 {:.4}  nDCG@5 {:.4}  nDCG@10 {:.4}",
        a.f1_at_5, a.p_at_1, a.p_at_5, a.r_at_5, a.ndcg_at_5, a.ndcg_at_10
    )?;
    let per_fold: Vec<String> = cv.fold_micro_f1.iter().map(|f| format!("{f:.4}")).collect();
    writeln!(
        out,
        "per fold    micro-F1 {}  (mean {:.4}, sd {:.4})",
        per_fold.join(" "),
        cv.mean_micro_f1(),
        cv.sd_micro_f1()
    )?;
    if cv.unseen_subjects > 0 {
        writeln!(out, "unseen      {} subjects no training fold had; R@5 {:.4}", cv.unseen_subjects, cv.unseen_r_at_5)?;
    }
    crate::common::emit(&out)
}
