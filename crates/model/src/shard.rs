//! Label-sharded training. The one-vs-rest solver fits labels in blocks (see `solver::LANES`), each block on its
//! own with a seed of its own, so the blocks can be dealt to several processes (the pods of a Kubernetes Indexed
//! Job) and their fits joined into the model one training gives, bit for bit.
//!
//! A shard runs training up to the classifier exactly as [`TaggerModel::train_step`] always does (reading the
//! corpus, counting terms, the pilot, TF-IDF: deterministic, so recomputed rather than shipped), fits only its
//! blocks, and returns a [`LabelShard`]. When training compares `min_df` values, the choice needs every label's
//! held-out scores, so a shard fits its blocks for every candidate and the merge makes the choice. A merge runs
//! the same training with the shards' fits in place of solving ([`TrainStep::Merge`]).
//!
//! [`TaggerModel::train_step`]: crate::TaggerModel::train_step

use crate::ModelError;
use crate::artifact::{frame, unframe, write_atomic};
use crate::ovr::BlockFits;
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8; 8] = b"TAGGERSH";
/// The shard format this build writes and reads (shards never outlive one retraining run, so only this one).
const SHARD_VERSION: u32 = 1;

/// Which part of a training a call runs.
#[derive(Debug)]
pub enum TrainStep {
    /// The whole training in this process.
    Whole,
    /// Only the blocks of labels dealt to shard `index` (0-based) of `count` (see [`assign_blocks`]).
    Shard {
        /// This shard.
        index: usize,
        /// How many shards share the labels.
        count: usize,
    },
    /// The whole training, with every label's fit taken from the shards instead of solved.
    Merge(MergedShards),
}

/// What a call of [`crate::TaggerModel::train_step`] produced.
#[derive(Debug)]
pub enum Trained {
    /// A model ([`TrainStep::Whole`] and [`TrainStep::Merge`]).
    Model(Box<crate::TaggerModel>),
    /// One shard's fits ([`TrainStep::Shard`]).
    Shard(LabelShard),
}

/// The fits of one shard's blocks of labels, with what a merge checks them against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelShard {
    /// This shard (0-based).
    pub index: u32,
    /// How many shards share the labels.
    pub count: u32,
    /// Version of tagger that fitted it: a merge by another version is refused.
    pub tagger_version: String,
    /// SHA-256 of the training documents and their labels, as read (hex).
    pub corpus_digest: String,
    /// Training documents.
    pub n_docs: u64,
    /// The training configuration (JSON).
    pub config: String,
    /// Whatever the caller records to run the merge the same way (the CLI: corpus path and vocabulary files);
    /// must be equal in every shard of a merge.
    pub recipe: String,
    /// One entry per classifier fit of the training (one per `min_df` candidate): this shard's blocks.
    pub fits: Vec<BlockFits>,
}

impl LabelShard {
    /// Encode as the bytes of a shard file (the model file's self-checking frame, another magic number).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let body =
            postcard::to_stdvec(self).map_err(|e| ModelError::InvalidData(format!("cannot encode shard: {e}")))?;
        Ok(frame(MAGIC, SHARD_VERSION, &body))
    }

    /// Decode and verify a shard file's bytes; `path` only names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LabelShard, ModelError> {
        let bad = |m: String| ModelError::BadArtifact { path: path.to_owned(), message: m };
        let (version, body) = unframe(bytes, MAGIC, "shard", path)?;
        if version != SHARD_VERSION {
            return Err(bad(format!("shard format version {version}; this tagger reads {SHARD_VERSION}")));
        }
        let (shard, rest): (LabelShard, _) =
            postcard::take_from_bytes(body).map_err(|e| bad(format!("undecodable shard: {e}")))?;
        if !rest.is_empty() {
            return Err(bad(format!("undecodable shard: {} bytes left over after the shard", rest.len())));
        }
        if shard.count == 0 || shard.index >= shard.count {
            return Err(bad(format!("shard {} of {} is impossible", shard.index, shard.count)));
        }
        Ok(shard)
    }

    /// Write the shard file atomically.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Read and verify a shard file.
    pub fn load(path: &Path) -> Result<LabelShard, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io { path: path.to_owned(), error: e })?;
        LabelShard::from_bytes(&bytes, path)
    }
}

/// Every shard of one training, checked to belong together.
#[derive(Debug)]
pub struct MergedShards {
    /// How many shards.
    pub count: usize,
    /// SHA-256 of the training documents and labels the shards read (hex).
    pub corpus_digest: String,
    /// The training configuration (JSON) of every shard.
    pub config: String,
    /// The caller's recipe, equal in every shard.
    pub recipe: String,
    /// Per classifier fit, the blocks of all shards.
    pub(crate) fits: Vec<Option<BlockFits>>,
}

impl MergedShards {
    /// Check that the shards are the `count` shards of one training — each index once, the same tagger version,
    /// corpus, configuration and recipe — and put their fits together. `shards` pairs each with a name for
    /// errors (its file).
    pub fn new(shards: Vec<(String, LabelShard)>) -> Result<MergedShards, ModelError> {
        let bad = |m: String| ModelError::InvalidData(m);
        let Some((first_name, first)) = shards.first() else {
            return Err(bad("no shards to merge".into()));
        };
        let count = first.count as usize;
        let mut seen: Vec<Option<&str>> = vec![None; count];
        for (name, s) in &shards {
            let differs = |what: &str| {
                bad(format!("{name} and {first_name} are not shards of one training: their {what} differ"))
            };
            if s.count as usize != count {
                return Err(bad(format!("{name} is a shard of {}, {first_name} of {count}", s.count)));
            }
            if s.tagger_version != first.tagger_version {
                return Err(differs("tagger versions"));
            }
            if s.corpus_digest != first.corpus_digest || s.n_docs != first.n_docs {
                return Err(differs("corpora (document digests)"));
            }
            if s.config != first.config {
                return Err(differs("training configurations"));
            }
            if s.recipe != first.recipe {
                return Err(differs("corpus or vocabulary paths"));
            }
            if s.fits.len() != first.fits.len() {
                return Err(differs("numbers of classifier fits"));
            }
            match &mut seen[s.index as usize] {
                Some(other) => {
                    return Err(bad(format!("shard {} of {count} given twice: {other} and {name}", s.index)));
                }
                slot => *slot = Some(name),
            }
        }
        let missing: Vec<String> =
            seen.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| i.to_string()).collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "shards {} of {count} missing (each index 0..{count} is needed once)",
                missing.join(", ")
            )));
        }
        let version = env!("CARGO_PKG_VERSION");
        if first.tagger_version != version {
            return Err(bad(format!(
                "the shards were fitted by tagger {}, this is tagger {version}: refit them with this version",
                first.tagger_version
            )));
        }
        let (corpus_digest, config, recipe) = (first.corpus_digest.clone(), first.config.clone(), first.recipe.clone());
        let n_fits = first.fits.len();
        let mut parts: Vec<Vec<BlockFits>> = (0..n_fits).map(|_| Vec::with_capacity(count)).collect();
        for (_, s) in shards {
            for (k, f) in s.fits.into_iter().enumerate() {
                parts[k].push(f);
            }
        }
        let fits = parts.into_iter().map(|p| Some(BlockFits::join(p))).collect();
        Ok(MergedShards { count, corpus_digest, config, recipe, fits })
    }
}

/// Deal the blocks of labels to `count` shards so each gets about the same solving work, deterministically:
/// heaviest block first, each to the shard with the least work so far (ties: the lower shard). A block's work is
/// estimated as `n_docs` (every block's solver passes cover every document) plus the positive documents of its
/// labels (`positives[b]`; the solver needs more passes where there is more to fit). Returns each shard's blocks
/// in increasing order.
pub fn assign_blocks(positives: &[u64], n_docs: usize, count: usize) -> Vec<Vec<u32>> {
    let count = count.max(1);
    let mut order: Vec<u32> = (0..positives.len() as u32).collect();
    let work = |b: u32| n_docs as u64 + positives[b as usize];
    order.sort_by(|&a, &b| work(b).cmp(&work(a)).then(a.cmp(&b)));
    let mut load = vec![0u64; count];
    let mut shards: Vec<Vec<u32>> = vec![Vec::new(); count];
    for b in order {
        let s = (0..count).min_by_key(|&s| (load[s], s)).unwrap_or(0);
        load[s] += work(b);
        shards[s].push(b);
    }
    shards.iter_mut().for_each(|s| s.sort_unstable());
    shards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_dealt_once_each_and_by_work() {
        let positives = [500, 10, 10, 10, 10, 480, 5];
        let shards = assign_blocks(&positives, 100, 3);
        let mut all: Vec<u32> = shards.concat();
        all.sort_unstable();
        assert_eq!(all, (0..7).collect::<Vec<u32>>());
        // The two heavy blocks go to different shards.
        assert!(shards.iter().all(|s| !(s.contains(&0) && s.contains(&5))));
        // More shards than blocks: the extra shards get none.
        let shards = assign_blocks(&[1, 2], 10, 4);
        assert_eq!(shards.iter().filter(|s| s.is_empty()).count(), 2);
        assert_eq!(assign_blocks(&positives, 100, 1), vec![(0..7).collect::<Vec<u32>>()]);
    }
}
