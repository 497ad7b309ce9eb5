use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tagger_corpus::Corpus;
use tagger_tokenize::{Tokenizer, TokenizerConfig};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Documents: files, directories (read recursively) or .jsonl files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Tokenizer configuration as JSON (default: automatic segmentation, punctuation dropped, numbers folded).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Add each token's byte span in the document text: [text, start, end].
    #[arg(long)]
    spans: bool,
}

#[derive(serde::Serialize)]
struct Line<'a> {
    id: &'a str,
    labels: &'a Option<Vec<String>>,
    tokens: Vec<serde_json::Value>,
}

pub fn run(args: Args) -> Result<()> {
    let config = match &args.config {
        Some(p) => {
            let raw = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&raw).with_context(|| format!("parsing tokenizer config {}", p.display()))?
        }
        None => TokenizerConfig::default(),
    };
    let tok = Tokenizer::new(config)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for input in &args.inputs {
        for doc in Corpus::open(input)? {
            let doc = doc?;
            let tokens = tok
                .tokenize(&doc.text)
                .into_iter()
                .map(|t| if args.spans { serde_json::json!([t.text, t.start, t.end]) } else { t.text.into() })
                .collect();
            let line = Line { id: &doc.id, labels: &doc.labels, tokens };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}
