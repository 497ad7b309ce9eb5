//! `tagger learn`: update a model from newly indexed documents without retraining it (see
//! `tagger_model::TaggerModel::learn`), optionally replaying a sample of the documents it was trained on.

use crate::common::{read_inputs, set_threads};
use crate::eval_cmd::subjects_of;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::time::Instant;
use tagger_model::TaggerModel;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model to update.
    #[arg(long)]
    model: PathBuf,
    /// Newly indexed documents (any labelled corpus format; subjects resolve through the model's vocabulary).
    #[arg(long)]
    corpus: PathBuf,
    /// Where to write the updated model (may be the model itself: written atomically).
    #[arg(long)]
    out: PathBuf,
    /// Documents the model was trained on, to replay a sample of beside the new ones (held in memory). Without
    /// it the update sees only the new documents.
    #[arg(long)]
    replay_corpus: Option<PathBuf>,
    /// How many old documents to replay (default: as many as there are new ones); a seeded sample.
    #[arg(long)]
    replay: Option<usize>,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let start = Instant::now();
    let model = TaggerModel::load(&args.model)?;
    let new = read_inputs(std::slice::from_ref(&args.corpus))?;
    if new.is_empty() {
        bail!("{}: no documents to learn from", args.corpus.display());
    }
    let mut labels = subjects_of(&model, &new, "new documents")?;
    let mut texts: Vec<&str> = new.iter().map(|d| d.text.as_str()).collect();
    let old = match &args.replay_corpus {
        Some(p) => read_inputs(std::slice::from_ref(p))?,
        None => Vec::new(),
    };
    if args.replay.is_some_and(|r| r > 0) && args.replay_corpus.is_none() {
        bail!("--replay needs --replay-corpus (the documents the model was trained on)");
    }
    let picked =
        tagger_model::replay_sample(old.len(), args.replay.unwrap_or(new.len()), model.classifier().params.seed);
    let replayed: Vec<tagger_corpus::Document> = picked.into_iter().map(|i| old[i].clone()).collect();
    labels.extend(subjects_of(&model, &replayed, "replayed documents")?);
    texts.extend(replayed.iter().map(|d| d.text.as_str()));
    let (mut learned, mut record) =
        model.learn(&texts, &labels, new.len()).with_context(|| format!("learning from {}", args.corpus.display()))?;
    record.created_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    learned.meta.learned.push(record.clone());
    learned.save(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let shown: Vec<&str> = record.labels_added.iter().take(5).map(String::as_str).collect();
    eprintln!(
        "learnt {} new documents (+ {} replayed) into {}: {} labels updated, {} added{}, {:.1} s",
        record.new_docs,
        record.replay_docs,
        args.out.display(),
        record.labels_updated,
        record.labels_added.len(),
        if shown.is_empty() {
            String::new()
        } else {
            format!(" ({}{})", shown.join(", "), if record.labels_added.len() > 5 { ", …" } else { "" })
        },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
