//! Helpers shared by the subcommands: reading corpora, progress display.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::cell::{Cell, RefCell};
use std::io::Read;
use std::path::Path;
use std::time::Duration;
use tagger_corpus::{Corpus, Document, jsonl_record, parse_document};
use tagger_model::{BatchSink, ModelError, TRAIN_BATCH, TrainingSource, resolve_subjects};
use tagger_vocab::{Resolver, SubjectReport};

/// Read every document of the given inputs (`-` is standard input: JSONL if it starts with `{`, after an
/// optional byte-order mark, else one document in the `%%%` format).
pub fn read_inputs(inputs: &[std::path::PathBuf]) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut raw = Vec::new();
            std::io::stdin().read_to_end(&mut raw).context("reading standard input")?;
            let body = raw.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&raw);
            if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                let text = std::str::from_utf8(&raw)
                    .map_err(|e| anyhow::anyhow!("<stdin>: invalid UTF-8 at byte {}", e.valid_up_to()))?;
                for (i, line) in text.lines().enumerate() {
                    if let Some(rec) = jsonl_record(Path::new("<stdin>"), i + 1, line) {
                        docs.push(rec?);
                    }
                }
            } else {
                docs.push(parse_document("-", Path::new("<stdin>"), &raw)?);
            }
        } else {
            for d in Corpus::open(input)? {
                docs.push(d?);
            }
        }
    }
    Ok(docs)
}

/// A corpus on disk (directory, file or JSONL) as a training source: read in batches, twice, never whole.
/// With a resolver, subjects become concept URIs; how they resolved is counted on the first read.
pub struct PathSource<'a> {
    path: &'a Path,
    subjects: Option<SubjectMapping<'a>>,
}

/// Subjects to concepts while a corpus is read (see [`PathSource`]).
pub struct SubjectMapping<'a> {
    resolver: &'a Resolver<'a>,
    strict: bool,
    report: RefCell<SubjectReport>,
    reads: Cell<usize>,
}

impl<'a> SubjectMapping<'a> {
    pub fn new(resolver: &'a Resolver<'a>, strict: bool) -> Self {
        SubjectMapping { resolver, strict, report: RefCell::default(), reads: Cell::new(0) }
    }

    /// How the subjects resolved, counted on the first read of the corpus.
    pub fn report(&self) -> SubjectReport {
        self.report.borrow().clone()
    }

    /// The concept URIs of `subjects`, counted in the report when `count`.
    fn map(&self, subjects: &[String], count: bool) -> Vec<String> {
        let mut scratch = SubjectReport::default();
        let mut report = self.report.borrow_mut();
        resolve_subjects(self.resolver, subjects, if count { &mut report } else { &mut scratch })
    }

    /// Map every document's subjects in memory (for corpora read once, like standard input).
    pub fn map_all(&self, labels: &[Vec<String>]) -> Result<Vec<Vec<String>>> {
        let out = labels.iter().map(|l| self.map(l, true)).collect();
        self.check()?;
        Ok(out)
    }

    fn check(&self) -> Result<(), anyhow::Error> {
        let r = self.report.borrow();
        if self.strict && r.unresolved() > 0 {
            bail!("{} (--strict-subjects)", crate::vocab_cmd::describe_report(&r));
        }
        Ok(())
    }
}

impl<'a> PathSource<'a> {
    pub fn new(path: &'a Path, subjects: Option<SubjectMapping<'a>>) -> Self {
        PathSource { path, subjects }
    }

    /// The subject mapping, if any, once the corpus has been read.
    pub fn subjects(&self) -> Option<&SubjectMapping<'a>> {
        self.subjects.as_ref()
    }
}

impl TrainingSource for PathSource<'_> {
    fn read(&self, sink: &mut BatchSink<'_>) -> Result<(), ModelError> {
        let source = |e: &dyn std::fmt::Display| ModelError::Source(e.to_string());
        let first_read = self.subjects.as_ref().is_some_and(|m| {
            m.reads.set(m.reads.get() + 1);
            m.reads.get() == 1
        });
        let mut texts: Vec<String> = Vec::with_capacity(TRAIN_BATCH);
        let mut labels: Vec<Vec<String>> = Vec::with_capacity(TRAIN_BATCH);
        let mut flush = |texts: &mut Vec<String>, labels: &mut Vec<Vec<String>>| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let r = sink(&refs, labels);
            texts.clear();
            labels.clear();
            r
        };
        for d in Corpus::open(self.path).map_err(|e| source(&e))? {
            let d = d.map_err(|e| source(&e))?;
            let Some(l) = d.labels else {
                return Err(source(&format_args!("{}: {}", self.path.display(), unlabelled("training", &d.id))));
            };
            texts.push(d.text);
            labels.push(match &self.subjects {
                Some(m) => m.map(&l, first_read),
                None => l,
            });
            if texts.len() == TRAIN_BATCH {
                flush(&mut texts, &mut labels)?;
            }
        }
        if !texts.is_empty() {
            flush(&mut texts, &mut labels)?;
        }
        if first_read && let Some(m) = &self.subjects {
            m.check().map_err(|e| source(&e))?;
        }
        Ok(())
    }
}

/// The error for a document without labels where `what` needs them.
fn unlabelled(what: &str, id: &str) -> String {
    format!("{what} needs labelled documents, but {id:?} has no labels (no %%% line, subject file or TSV subjects)")
}

/// Split documents into texts and label lists, requiring labels on every one.
pub fn labelled(docs: &[Document], what: &str) -> Result<Vec<Vec<String>>> {
    docs.iter()
        .map(|d| match &d.labels {
            Some(l) => Ok(l.clone()),
            None => bail!("{}", unlabelled(what, &d.id)),
        })
        .collect()
}

/// A spinner on stderr, hidden when quiet or when stderr is not a terminal.
pub fn spinner(quiet: bool, msg: &str) -> ProgressBar {
    let pb = if quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb.set_message(msg.to_owned());
    pb
}

/// Configure the global thread pool (0 = one thread per core).
pub fn set_threads(threads: usize) -> Result<()> {
    if threads > 0 {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("configuring threads")?;
    }
    Ok(())
}

/// The options that say how to train, shared by `train` and `cv`.
#[derive(clap::Args, Debug)]
pub struct ConfigOptions {
    /// Training configuration (JSON, every field optional; see README).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Override the seed of the configuration (for `cv` it also deals the folds).
    #[arg(long)]
    seed: Option<u64>,
    /// Language of the documents (e.g. fi, en, sv), which selects the Snowball stemmer (default: the
    /// configuration's, else detected from the documents).
    #[arg(long, value_name = "LANG")]
    text_language: Option<String>,
    /// Reduce words to their stems: auto (when the documents' language has a stemmer), on, off.
    #[arg(long, value_enum)]
    stemming: Option<StemmingArg>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum StemmingArg {
    Auto,
    On,
    Off,
}

impl ConfigOptions {
    /// The configuration file (or the default), with the command-line overrides applied.
    pub fn load(&self) -> Result<tagger_model::TrainConfig> {
        let mut config: tagger_model::TrainConfig = match &self.config {
            None => tagger_model::TrainConfig::default(),
            Some(p) => {
                let raw = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&raw).with_context(|| format!("parsing training config {}", p.display()))?
            }
        };
        if let Some(seed) = self.seed {
            config.classifier.seed = seed;
        }
        if let Some(language) = &self.text_language {
            config.language = Some(language.clone());
        }
        if let Some(s) = self.stemming {
            config.stemming = match s {
                StemmingArg::Auto => tagger_model::Stemming::Auto,
                StemmingArg::On => tagger_model::Stemming::On,
                StemmingArg::Off => tagger_model::Stemming::Off,
            };
        }
        Ok(config)
    }
}

/// Write a command's report to standard output in one go. A reader that went away (`tagger eval … | head`) ends
/// the command quietly, as Unix tools do, instead of a "Broken pipe" panic.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
