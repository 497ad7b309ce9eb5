use crate::common::set_threads;
use crate::train_cmd::{Job, Recipe, train};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use tagger_model::{LabelShard, MergedShards, TrainConfig, TrainStep};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shard files written by `tagger train --shard K/N`, or directories holding them (every *.tgs file).
    #[arg(required = true, value_name = "SHARD")]
    shards: Vec<PathBuf>,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (0 = one per core). Results are identical for any value.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

/// The shard files named: files as given, directories as their `*.tgs` files in name order.
fn shard_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("reading {}", p.display()))?
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "tgs") && f.is_file())
                .collect();
            if found.is_empty() {
                bail!("{}: no shard files (*.tgs) in this directory", p.display());
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn load(path: &Path) -> Result<(String, LabelShard)> {
    Ok((path.display().to_string(), LabelShard::load(path)?))
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let shards = shard_files(&args.shards)?.iter().map(|p| load(p)).collect::<Result<Vec<_>>>()?;
    let merged = MergedShards::new(shards)?;
    let recipe: Recipe = serde_json::from_str(&merged.recipe)
        .context("the shards' recipe (corpus and vocabulary paths) is unreadable")?;
    let config: TrainConfig =
        serde_json::from_str(&merged.config).context("the shards' training configuration is unreadable")?;
    if !args.quiet {
        eprintln!(
            "merging {} shards of a training on {}{}",
            merged.count,
            recipe.corpus.display(),
            if recipe.vocab.is_empty() { String::new() } else { format!(" with {}", recipe.vocab.join(", ")) }
        );
    }
    train(Job { recipe, config, out: args.out, quiet: args.quiet }, TrainStep::Merge(merged))
}
