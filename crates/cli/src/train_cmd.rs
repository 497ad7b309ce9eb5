use crate::common::{PathSource, SubjectMapping, labelled, read_inputs, set_threads, spinner};
use crate::vocab_cmd::{VocabOptions, describe_report, load_vocabulary, model_language};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tagger_model::{InMemory, Stage, TaggerModel, TrainingSource};
use tagger_vocab::Resolver;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Training corpus: a directory of %%% documents, a single file, a .jsonl file, or - (standard input).
    /// Files are read twice in batches, never held in memory whole.
    #[arg(long)]
    corpus: PathBuf,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (0 = one per core). Results are identical for any value.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    config: crate::common::ConfigOptions,
    #[command(flatten)]
    vocab: VocabOptions,
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let config = args.config.load()?;
    let start = Instant::now();
    let vocab = if args.vocab.files.is_empty() { None } else { Some(load_vocabulary(&args.vocab.files)?) };
    let resolver = vocab.as_ref().map(Resolver::new);
    let mapping = resolver.as_ref().map(|r| SubjectMapping::new(r, args.vocab.strict_subjects));
    let pb = spinner(args.quiet, "reading corpus");
    let progress = |s: Stage| {
        pb.set_message(match s {
            Stage::Vocabulary => "reading corpus: vocabulary",
            Stage::Pilot => "comparing feature sets on a pilot sample",
            Stage::Features => "reading corpus again: TF-IDF",
            Stage::Classifier => "fitting classifier and calibration",
        })
    };
    // Standard input can be read only once: it is held in memory. Files are streamed in batches (twice, and once
    // more for the lexical backend); the texts are never all in memory.
    let stdin_docs = if args.corpus.as_os_str() == "-" {
        let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
        let mut labels = labelled(&docs, "training")?;
        if let Some(m) = &mapping {
            labels = m.map_all(&labels)?;
        }
        Some((docs, labels))
    } else {
        None
    };
    let stdin_texts: Vec<&str> = stdin_docs.iter().flat_map(|(d, _)| d.iter().map(|d| d.text.as_str())).collect();
    let stdin_report = if stdin_docs.is_some() { mapping.as_ref().map(SubjectMapping::report) } else { None };
    let memory = stdin_docs.as_ref().map(|(_, labels)| InMemory { texts: &stdin_texts, labels });
    let path_source = stdin_docs.is_none().then(|| PathSource::new(&args.corpus, mapping));
    let source: &dyn TrainingSource = match (&memory, &path_source) {
        (Some(m), _) => m,
        (None, Some(p)) => p,
        (None, None) => anyhow::bail!("no training source"),
    };
    let trained = TaggerModel::train_from(source, &config, &progress);
    let mut model = trained.with_context(|| format!("training on {}", args.corpus.display()))?;
    let subjects = stdin_report.or_else(|| path_source.as_ref().and_then(|p| p.subjects().map(SubjectMapping::report)));
    if let Some(vocab) = &vocab {
        let language = model_language(&args.vocab, vocab, subjects.as_ref());
        // A copy: the corpus is read once more below, its subjects resolved through the original.
        model = model.with_vocabulary(vocab.clone(), &language).context("attaching the vocabulary")?;
        model.meta.vocabulary = args.vocab.files.clone();
        pb.set_message("reading corpus again: lexical backend and ensemble");
        model = model
            .with_backends(source, &config)
            .with_context(|| format!("training the lexical backend on {}", args.corpus.display()))?;
    }
    drop(path_source);
    drop(resolver);
    model.meta.corpus = args.corpus.display().to_string();
    model.meta.created_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    model.meta.train_seconds = start.elapsed().as_secs_f64();
    pb.set_message("writing model");
    model.save(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    pb.finish_and_clear();
    let size = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    let m = &model.meta;
    let profile = m.profile.as_ref().map_or("?".to_owned(), |p| format!("{:?}", p.script).to_lowercase());
    eprintln!(
        "trained {} on {} docs: {} labels, {} features ({} text), {} weights, {:.1} s, {:.1} MB",
        args.out.display(),
        m.n_docs,
        model.labels().len(),
        m.n_features,
        profile,
        model.classifier().n_weights(),
        m.train_seconds,
        size as f64 / 1e6
    );
    if let Some(r) = &subjects {
        pb.suspend(|| eprintln!("{}", describe_report(r)));
    }
    if let (Some(e), Some(r)) = (model.ensemble(), &m.ensemble) {
        eprintln!(
            "lexical backend: {} labels, {:.1} candidates per document holding {:.1}% of the subjects; ensemble fitted \
             on {} out-of-fold documents: tags at fused probability ≥ {:.3}, at most {}",
            r.lexical.labels,
            r.lexical.candidates_per_doc,
            100.0 * r.lexical.candidate_recall,
            r.docs,
            e.threshold,
            e.max_tags
        );
    }
    if let Some(why) = &m.ensemble_skipped {
        eprintln!("note: the linear model alone, without the lexical backend: {why}");
    }
    if let Some(lang) = model.language() {
        eprintln!("answers name concepts of the vocabulary, in {lang:?} unless a request asks for another language");
    } else if model.labels().iter().filter(|l| l.starts_with('<')).count() * 2 > model.labels().len() {
        eprintln!("note: the subjects are URIs; train with --vocab to answer with concept labels and notations");
    }
    if !m.feature_search.is_empty() {
        let tried: Vec<String> = m
            .feature_search
            .iter()
            .map(|t| {
                format!("{}{}: {:.4} ({} values)", t.name, if t.chosen { " (chosen)" } else { "" }, t.micro_f1, t.nnz)
            })
            .collect();
        let (docs, labels) = m.feature_search.first().map_or((0, 0), |t| (t.docs, t.labels));
        eprintln!(
            "features compared on a pilot of {docs} docs and {labels} labels (held-out micro-F1): {}",
            tried.join(", ")
        );
    }
    if !m.min_df_search.is_empty() {
        let tried: Vec<String> = m
            .min_df_search
            .iter()
            .map(|t| format!("{}: {:.4} ({} features)", t.min_df, t.micro_f1, t.features))
            .collect();
        let kept = m.config.as_ref().map_or(0, |c| c.features.min_df);
        eprintln!("min_df {kept} kept after comparing held-out micro-F1 of {}", tried.join(", "));
    }
    if let Some(cv) = &m.cv {
        let how = if cv.folds == 1 { "one held-out slice".to_owned() } else { format!("{}-fold", cv.folds) };
        eprintln!(
            "held-out ({how}) estimate: micro-F1 {:.4} (precision {:.4}, recall {:.4}), macro-F1 {:.4}, P@1 {:.4}",
            cv.micro_f1, cv.micro_precision, cv.micro_recall, cv.macro_f1, cv.p_at_1
        );
    }
    Ok(())
}
