//! `tagger vocab` and the vocabulary options shared by `train` and `cv`.

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use tagger_vocab::{SubjectReport, VocabBuilder, Vocabulary};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Vocabulary files, merged by URI: SKOS Turtle (.ttl), N-Triples (.nt) or Annif TSV (.tsv, one language a
    /// file: the language comes from a name like yso-fi.tsv, or is given as LANG=FILE).
    #[arg(required = true)]
    files: Vec<String>,
    /// One JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// Vocabulary options of the commands that train.
#[derive(clap::Args, Debug, Default)]
pub struct VocabOptions {
    /// Vocabulary the corpus's subjects come from (repeat for several files, merged by URI): SKOS Turtle (.ttl),
    /// N-Triples (.nt) or Annif TSV (.tsv; language from a name like yso-fi.tsv, or LANG=FILE). Subjects may
    /// then be URIs, notations or labels of any language; the model answers with concepts.
    #[arg(long = "vocab", value_name = "[LANG=]FILE")]
    pub files: Vec<String>,
    /// Language the model answers in when a request names none (default: the language of the corpus's subject
    /// labels, else the vocabulary's main language: its first file's, or the one with the most labels).
    #[arg(long, requires = "files")]
    pub language: Option<String>,
    /// Stop when a subject names no concept of the vocabulary (by default such subjects are dropped and
    /// reported).
    #[arg(long, requires = "files")]
    pub strict_subjects: bool,
}

/// `LANG=FILE` or `FILE`: the language given explicitly, if any, and the path.
fn parse_spec(spec: &str) -> (Option<&str>, &Path) {
    if let Some((lang, file)) = spec.split_once('=') {
        let is_tag = (2..=8).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
        if is_tag && !file.is_empty() {
            return (Some(lang), Path::new(file));
        }
    }
    (None, Path::new(spec))
}

/// Read and merge vocabulary files; conflicts and dropped links are reported on stderr.
pub fn load_vocabulary(specs: &[String]) -> Result<Vocabulary> {
    let mut builder = VocabBuilder::new();
    for spec in specs {
        let (language, path) = parse_spec(spec);
        builder.add_file(path, language).with_context(|| format!("reading vocabulary {}", path.display()))?;
    }
    let vocab = builder.finish().context("merging vocabulary files")?;
    let conflicts = builder.conflicts();
    for c in conflicts.iter().take(10) {
        eprintln!("warning: vocabulary conflict: {c}");
    }
    if conflicts.len() > 10 {
        eprintln!("warning: {} more vocabulary conflicts (first values kept)", conflicts.len() - 10);
    }
    if builder.dangling_links() > 0 {
        eprintln!(
            "note: {} links (broader/narrower/related/isReplacedBy) point outside the vocabulary and were dropped",
            builder.dangling_links()
        );
    }
    if vocab.is_empty() {
        bail!("the vocabulary files hold no concepts ({})", specs.join(", "));
    }
    Ok(vocab)
}

/// The language a model answers in: the one asked for, else the language most of the corpus's subjects were
/// written in (when given as labels), else the vocabulary's main language.
pub fn model_language(options: &VocabOptions, vocab: &Vocabulary, subjects: Option<&SubjectReport>) -> String {
    options
        .language
        .clone()
        .or_else(|| subjects.and_then(|r| r.main_label_language()).map(str::to_owned))
        .or_else(|| vocab.languages().first().cloned())
        .unwrap_or_default()
}

/// One line on how a corpus's subjects resolved, and the most frequent unknown ones.
pub fn describe_report(r: &SubjectReport) -> String {
    let mut s = format!(
        "subjects: {} resolved to concepts (by URI {}, notation {}, label {})",
        r.resolved(),
        r.by_uri,
        r.by_notation,
        r.by_label
    );
    if r.replaced > 0 {
        let _ = write!(s, ", {} deprecated ones mapped to their replacement", r.replaced);
    }
    if r.deprecated_kept > 0 {
        let _ = write!(s, ", {} name deprecated concepts without a replacement", r.deprecated_kept);
    }
    let mut worst = |what: &str, m: &std::collections::BTreeMap<String, usize>| {
        if m.is_empty() {
            return;
        }
        let mut v: Vec<(&String, &usize)> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = v.iter().take(5).map(|(k, n)| format!("{k:?} ×{n}")).collect();
        let _ = write!(s, "; {} {what} ({} distinct, e.g. {})", m.values().sum::<usize>(), m.len(), top.join(", "));
    };
    worst("name no concept and were dropped", &r.unknown);
    worst("are ambiguous labels and were dropped", &r.ambiguous);
    s
}

pub fn run(args: Args) -> Result<()> {
    let vocab = load_vocabulary(&args.files)?;
    let s = vocab.summary();
    let mut out = String::new();
    if args.json {
        let mut v = serde_json::to_value(&s)?;
        v["main_language"] = vocab.languages().first().cloned().unwrap_or_default().into();
        writeln!(out, "{v}")?;
        return crate::common::emit(&out);
    }
    writeln!(out, "concepts      {}", s.concepts)?;
    writeln!(out, "languages     {} (main: {})", s.languages.len(), vocab.languages().first().map_or("-", |l| l))?;
    writeln!(out, "  {:<8} {:>9} {:>9} {:>9}", "language", "pref", "alt", "hidden")?;
    for (lang, c) in &s.languages {
        let lang = if lang.is_empty() { "(none)" } else { lang };
        writeln!(out, "  {lang:<8} {:>9} {:>9} {:>9}", c.pref, c.alt, c.hidden)?;
    }
    writeln!(out, "notations     {}", s.notations)?;
    writeln!(
        out,
        "hierarchy     {} levels, {} top concepts, {} broader / {} narrower links",
        s.depth, s.top_concepts, s.broader, s.narrower
    )?;
    writeln!(out, "related       {}", s.related)?;
    writeln!(out, "deprecated    {} ({} with a replacement)", s.deprecated, s.replaced)?;
    crate::common::emit(&out)
}
