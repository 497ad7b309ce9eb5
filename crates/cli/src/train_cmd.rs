use crate::common::{PathSource, SubjectMapping, labelled, read_inputs, set_threads, spinner};
use crate::vocab_cmd::{VocabOptions, describe_report, load_vocabulary, model_language};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;
use tagger_model::{InMemory, Stage, TaggerModel, TrainConfig, TrainStep, Trained, TrainingSource};
use tagger_vocab::Resolver;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Training corpus: a directory of %%% documents, a single file, a .jsonl file, or - (standard input).
    /// Files are read twice in batches, never held in memory whole.
    #[arg(long)]
    corpus: PathBuf,
    /// Where to write the model file (with --shard: the shard file).
    #[arg(long)]
    out: PathBuf,
    /// Fit only share K (0-based) of N of the labels and write a shard file; `tagger merge` joins the N shards
    /// into the model this command gives without --shard, byte for byte (with SOURCE_DATE_EPOCH set).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
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

/// `K/N` with K < N.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected K/N, e.g. 0/3"))?;
    let k: usize = k.trim().parse().map_err(|_| format!("{s:?}: K is not a number"))?;
    let n: usize = n.trim().parse().map_err(|_| format!("{s:?}: N is not a number"))?;
    if n == 0 || k >= n {
        return Err(format!("{s:?}: K must be below N (shards are numbered 0..N)"));
    }
    Ok((k, n))
}

/// What a shard records so that `tagger merge` reads the same corpus and vocabulary (the configuration is
/// recorded by the library).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub corpus: PathBuf,
    pub vocab: Vec<String>,
    pub language: Option<String>,
    pub strict_subjects: bool,
}

/// One training run: what to read, how, and where to write.
pub struct Job {
    pub recipe: Recipe,
    pub config: TrainConfig,
    pub out: PathBuf,
    pub quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let config = args.config.load()?;
    let step = match args.shard {
        Some(_) if args.corpus.as_os_str() == "-" => {
            bail!("--shard needs a corpus path: the merge reads the corpus again, standard input only once")
        }
        Some((index, count)) => TrainStep::Shard { index, count },
        None => TrainStep::Whole,
    };
    let recipe = Recipe {
        corpus: args.corpus,
        vocab: args.vocab.files,
        language: args.vocab.language,
        strict_subjects: args.vocab.strict_subjects,
    };
    train(Job { recipe, config, out: args.out, quiet: args.quiet }, step)
}

/// Stage start times, for the closing summary.
struct Clock(Mutex<Vec<(&'static str, Instant)>>);

impl Clock {
    fn mark(&self, stage: &'static str) {
        if let Ok(mut marks) = self.0.lock() {
            marks.push((stage, Instant::now()));
        }
    }

    /// "vocabulary 0.4 s, features 1.0 s, …": each stage until the next mark.
    fn summary(&self) -> String {
        let now = Instant::now();
        let marks = self.0.lock().map(|m| m.clone()).unwrap_or_default();
        let ends = marks.iter().skip(1).map(|&(_, t)| t).chain(std::iter::once(now));
        marks
            .iter()
            .zip(ends)
            .map(|(&(name, start), end)| format!("{name} {:.1} s", (end - start).as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The creation time a model records: SOURCE_DATE_EPOCH when set (the reproducible-builds convention; then no
/// wall-clock duration is recorded either, so the file depends on corpus, configuration and seed only), else now.
fn creation_time() -> Result<(u64, bool)> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => {
            let t = v.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?;
            Ok((t, true))
        }
        Err(_) => {
            Ok((std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()), false))
        }
    }
}

/// Train (a whole model, one shard, or the merge of all shards) and write the result.
pub fn train(job: Job, step: TrainStep) -> Result<()> {
    let Job { recipe, config, out, quiet } = job;
    let (created, reproducible) = creation_time()?;
    let start = Instant::now();
    let vocab_opts = VocabOptions {
        files: recipe.vocab.clone(),
        language: recipe.language.clone(),
        strict_subjects: recipe.strict_subjects,
    };
    let vocab = if vocab_opts.files.is_empty() { None } else { Some(load_vocabulary(&vocab_opts.files)?) };
    let config = if vocab.is_some() { config.for_vocabulary() } else { config };
    let resolver = vocab.as_ref().map(Resolver::new);
    let mapping = resolver.as_ref().map(|r| SubjectMapping::new(r, vocab_opts.strict_subjects));
    let pb = spinner(quiet, "reading corpus");
    let clock = Clock(Mutex::new(Vec::new()));
    let progress = |s: Stage| {
        clock.mark(match s {
            Stage::Vocabulary => "vocabulary",
            Stage::Pilot => "pilot",
            Stage::Features => "features",
            Stage::Classifier => "classifier",
        });
        pb.set_message(match s {
            Stage::Vocabulary => "reading corpus: vocabulary",
            Stage::Pilot => "comparing feature sets on a pilot sample",
            Stage::Features => "reading corpus again: TF-IDF",
            Stage::Classifier => "fitting classifier and calibration",
        })
    };
    let corpus = &recipe.corpus;
    // Standard input can be read only once: it is held in memory. Files are streamed in batches (twice, and once
    // more for the lexical backend); the texts are never all in memory.
    let stdin_docs = if corpus.as_os_str() == "-" {
        let docs = read_inputs(std::slice::from_ref(corpus))?;
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
    let path_source = stdin_docs.is_none().then(|| PathSource::new(corpus, mapping));
    let source: &dyn TrainingSource = match (&memory, &path_source) {
        (Some(m), _) => m,
        (None, Some(p)) => p,
        (None, None) => anyhow::bail!("no training source"),
    };
    let merging = matches!(step, TrainStep::Merge(_));
    let trained = TaggerModel::train_step(source, &config, &progress, step)
        .with_context(|| format!("training on {}", corpus.display()))?;
    let mut model = match trained {
        Trained::Model(m) => *m,
        Trained::Shard(mut shard) => {
            shard.recipe = serde_json::to_string(&recipe).context("encoding the shard's recipe")?;
            pb.set_message("writing shard");
            shard.save(&out).with_context(|| format!("writing {}", out.display()))?;
            pb.finish_and_clear();
            let blocks: usize = shard.fits.iter().map(|f| f.block_ids().count()).max().unwrap_or(0);
            let labels: usize = shard.fits.first().map_or(0, |f| f.n_labels());
            let size = std::fs::metadata(&out).map_or(0, |m| m.len());
            eprintln!(
                "shard {} of {} written to {}: {labels} labels in {blocks} blocks, {} classifier fit{}, {:.1} s, {:.1} MB \
                 (time: {})",
                shard.index,
                shard.count,
                out.display(),
                shard.fits.len(),
                if shard.fits.len() == 1 { "" } else { "s" },
                start.elapsed().as_secs_f64(),
                size as f64 / 1e6,
                clock.summary()
            );
            return Ok(());
        }
    };
    let subjects = stdin_report.or_else(|| path_source.as_ref().and_then(|p| p.subjects().map(SubjectMapping::report)));
    if let Some(vocab) = &vocab {
        let language = model_language(&vocab_opts, vocab, subjects.as_ref());
        // A copy: the corpus is read once more below, its subjects resolved through the original.
        model = model.with_vocabulary(vocab.clone(), &language).context("attaching the vocabulary")?;
        model.meta.vocabulary = vocab_opts.files.clone();
        pb.set_message("reading corpus again: lexical backend and ensemble");
        clock.mark("backends");
        model = model
            .with_backends(source, &config)
            .with_context(|| format!("training the lexical backend on {}", corpus.display()))?;
    }
    drop(path_source);
    drop(resolver);
    model.meta.corpus = corpus.display().to_string();
    model.meta.created_unix = created;
    let seconds = start.elapsed().as_secs_f64();
    model.meta.train_seconds = if reproducible { 0.0 } else { seconds };
    pb.set_message("writing model");
    clock.mark("writing");
    model.save(&out).with_context(|| format!("writing {}", out.display()))?;
    pb.finish_and_clear();
    let size = std::fs::metadata(&out).map_or(0, |m| m.len());
    let m = &model.meta;
    let profile = m.profile.as_ref().map_or("?".to_owned(), |p| format!("{:?}", p.script).to_lowercase());
    eprintln!(
        "{} {} on {} docs: {} labels, {} features ({} text), {} weights, {:.1} s, {:.1} MB (time: {})",
        if merging { "merged" } else { "trained" },
        out.display(),
        m.n_docs,
        model.labels().len(),
        m.n_features,
        profile,
        model.classifier().n_weights(),
        seconds,
        size as f64 / 1e6,
        clock.summary()
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
