use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_corpus::{to_jsonl_line, write_document};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output: a .jsonl file, or a directory of %%% documents (sharded 1,000 per sub-directory).
    #[arg(long)]
    out: PathBuf,
    /// Documents to generate.
    #[arg(long, default_value_t = 10_000)]
    docs: usize,
    /// Size of the label set.
    #[arg(long, default_value_t = 2000)]
    labels: usize,
    /// Mean labels per document.
    #[arg(long, default_value_t = 13.0)]
    labels_per_doc: f64,
    /// Mean tokens per document.
    #[arg(long, default_value_t = 700)]
    tokens_per_doc: usize,
    /// Vocabulary size.
    #[arg(long, default_value_t = 50_000)]
    vocabulary: usize,
    /// Share of tokens drawn from the documents' labels' signature words (higher = easier).
    #[arg(long, default_value_t = 0.12)]
    signal: f64,
    /// Latin-like words instead of CJK-like ones.
    #[arg(long)]
    latin: bool,
    /// Do not put spaces between words (unsegmented Chinese).
    #[arg(long)]
    unsegmented: bool,
    /// Seed (one seed = one vocabulary and label world).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let cfg = SynthConfig {
        docs: args.docs,
        labels: args.labels,
        labels_per_doc: args.labels_per_doc,
        tokens_per_doc: args.tokens_per_doc,
        vocabulary: args.vocabulary,
        signal: args.signal,
        han: !args.latin,
        segmented: !args.unsegmented,
        seed: args.seed,
        ..SynthConfig::default()
    };
    let jsonl = args.out.extension().is_some_and(|e| e == "jsonl");
    let parent = if jsonl { args.out.parent().map(PathBuf::from) } else { Some(args.out.clone()) };
    if let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    }
    if jsonl {
        // Stream to a temporary file beside the target, then rename: readers never see half a corpus.
        let tmp = args.out.with_extension("jsonl.tmp");
        let f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = BufWriter::new(f);
        for d in Synth::new(cfg) {
            w.write_all(to_jsonl_line(&d).as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &args.out).with_context(|| format!("renaming to {}", args.out.display()))?;
    } else {
        for (i, d) in Synth::new(cfg).enumerate() {
            let dir = args.out.join(format!("{:04}", i / 1000));
            if i % 1000 == 0 {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let path = dir.join(&d.id);
            let f = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let mut w = BufWriter::new(f);
            write_document(&d, &mut w)?;
            w.flush()?;
        }
    }
    eprintln!("wrote {} documents to {}", args.docs, args.out.display());
    Ok(())
}
