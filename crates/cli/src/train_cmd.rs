use crate::common::{PathSource, SubjectMapping, labelled, read_config, read_inputs, set_threads, spinner};
use crate::vocab_cmd::{VocabOptions, describe_report, load_vocabulary, model_language};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tagger_model::{Stage, TaggerModel};
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
    /// Training configuration (JSON, every field optional; see README).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker threads (0 = one per core). Results are identical for any value.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Override the seed of the configuration.
    #[arg(long)]
    seed: Option<u64>,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    vocab: VocabOptions,
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let config = read_config(args.config.as_deref(), args.seed)?;
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
    let trained = if args.corpus.as_os_str() == "-" {
        // Standard input can be read only once: hold it in memory.
        let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
        let mut labels = labelled(&docs, "training")?;
        if let Some(m) = &mapping {
            labels = m.map_all(&labels)?;
        }
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        (TaggerModel::train(&texts, &labels, &config, &progress), mapping.map(|m| m.report()))
    } else {
        // Files are streamed twice in batches; the texts are never all in memory.
        let source = PathSource::new(&args.corpus, mapping);
        (TaggerModel::train_from(&source, &config, &progress), source.subjects().map(SubjectMapping::report))
    };
    let (trained, subjects) = trained;
    let mut model = trained.with_context(|| format!("training on {}", args.corpus.display()))?;
    drop(resolver);
    if let Some(vocab) = vocab {
        let language = model_language(&args.vocab, &vocab, subjects.as_ref());
        model = model.with_vocabulary(vocab, &language).context("attaching the vocabulary")?;
        model.meta.vocabulary = args.vocab.files.clone();
    }
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
