use crate::common::{read_inputs, set_threads};
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use tagger_model::{Decision, TaggerModel};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file.
    #[arg(long)]
    model: PathBuf,
    /// Documents: files, directories, .jsonl files, or `-` for standard input.
    #[arg(default_value = "-")]
    inputs: Vec<PathBuf>,
    /// Return the k best labels instead of the model's calibrated decision rule.
    #[arg(long)]
    top_k: Option<usize>,
    /// Drop tags below this probability.
    #[arg(long)]
    min_score: Option<f32>,
    /// Add, for each tag, the terms that contributed most, with their byte spans in the text.
    #[arg(long)]
    explain: bool,
    /// Terms per tag with --explain.
    #[arg(long, default_value_t = 5)]
    explain_terms: usize,
    /// Language of the labels in answers, for a model trained with a vocabulary (default: the model's).
    #[arg(long, default_value = "")]
    language: String,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let model = TaggerModel::load(&args.model).context("loading model")?;
    model.prepare();
    let docs = read_inputs(&args.inputs)?;
    let decision = Decision::from_options(args.top_k.unwrap_or(0), args.min_score);
    let lines: Vec<String> = docs
        .par_iter()
        .map(|d| {
            let tags: Vec<serde_json::Value> = model
                .tag(&d.text, decision)
                .into_iter()
                .map(|t| {
                    let mut tag =
                        serde_json::json!({"label": model.display_label(t.id, &args.language), "score": t.score});
                    add_concept(&mut tag, &model, t.id);
                    tag
                })
                .collect();
            let mut v = serde_json::json!({"id": d.id, "tags": tags});
            if args.explain {
                let explained: Vec<serde_json::Value> = model
                    .explain(&d.text, decision, args.explain_terms)
                    .into_iter()
                    .map(|e| {
                        let mut x = serde_json::to_value(&e).unwrap_or(serde_json::Value::Null);
                        x["label"] = model.display_label(e.id, &args.language).into();
                        add_concept(&mut x, &model, e.id);
                        x
                    })
                    .collect();
                v["explanation"] = explained.into();
            }
            v.to_string()
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for l in lines {
        writeln!(out, "{l}")?;
    }
    out.flush()?;
    Ok(())
}

/// With a vocabulary, a tag also carries its concept's URI and notation.
fn add_concept(tag: &mut serde_json::Value, model: &TaggerModel, id: u32) {
    if let Some(c) = model.concept(id) {
        tag["uri"] = c.uri.clone().into();
        if let Some(n) = &c.notation {
            tag["notation"] = n.clone().into();
        }
    }
}
