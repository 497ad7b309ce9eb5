//! Choosing a feature set on a pilot: a sample of the training documents and their most frequent labels, on
//! which each candidate feature set is vectorised and cross-validated exactly as training would (calibration
//! folds, thresholds, the held-out micro-F1). A costly feature set (Han character n-grams multiply the
//! vocabulary and every row's length) is only kept when it beats the plain words by a margin.

use crate::ModelError;
use crate::data::{LabelSets, SparseRecords, records_dataset};
use crate::params::ValidOvrParams;
use crate::solver::Rng;
use crate::tagger::{FeatureArm, fit_best_min_df};
use linfa::traits::Fit;
use serde::{Deserialize, Serialize};
use tagger_features::{Vectorizer, VectorizerConfig};
use tagger_tokenize::TokenizerConfig;

/// How feature sets are compared before training (`TrainConfig::pilot`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PilotConfig {
    /// Compare feature sets at all (when off, Chinese text gets the plain words).
    pub enabled: bool,
    /// Documents in the pilot sample at most (a uniform, seeded sample of the corpus): a quarter of the corpus
    /// within `docs / 2 ..= docs`, or the whole corpus when smaller, so that the pilot stays a fraction of the
    /// training it decides on.
    pub docs: usize,
    /// Most frequent labels of the sample the comparison is scored on.
    pub labels: usize,
    /// Held-out micro-F1 a costlier feature set must gain over the plain words to be chosen.
    pub min_gain: f64,
    /// Calibration folds on the pilot (at most the training's `cv_folds`).
    pub folds: usize,
}

impl PilotConfig {
    /// The pilot's size for a corpus of `n` documents (see `docs`).
    pub fn sample_size(&self, n: usize) -> usize {
        (n / 4).clamp(self.docs / 2, self.docs).min(n)
    }
}

impl Default for PilotConfig {
    fn default() -> Self {
        Self { enabled: true, docs: 1000, labels: 32, min_gain: 0.005, folds: 3 }
    }
}

/// One feature set tried on the pilot, and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureTrial {
    /// Short name (`words`, `words+chars`).
    pub name: String,
    /// The feature configuration tried.
    pub features: VectorizerConfig,
    /// Pilot documents.
    pub docs: usize,
    /// Pilot labels.
    pub labels: usize,
    /// Vocabulary size on the pilot.
    pub n_features: usize,
    /// Stored feature values on the pilot (the cost that grows with the feature set: every fit passes over them).
    pub nnz: usize,
    /// Held-out micro-F1 on the pilot's calibration folds (thresholds tuned on them: `CvReport::tuned_micro_f1`).
    pub micro_f1: f64,
    /// Whether this feature set was chosen.
    pub chosen: bool,
}

/// A uniform sample of at most `size` items from a stream whose length is not known in advance (reservoir
/// sampling, Vitter's Algorithm R), deterministic for a seed.
#[derive(Debug)]
pub(crate) struct Reservoir {
    size: usize,
    seen: usize,
    rng: Rng,
    items: Vec<(usize, String)>,
}

impl Reservoir {
    pub(crate) fn new(size: usize, seed: u64) -> Self {
        Self { size, seen: 0, rng: Rng::new(seed ^ 0x7069_6c6f_7421), items: Vec::new() }
    }

    /// Offer the next item of the stream (its position is counted here).
    pub(crate) fn offer(&mut self, text: &str) {
        let i = self.seen;
        self.seen += 1;
        if self.items.len() < self.size {
            self.items.push((i, text.to_owned()));
        } else {
            let j = self.rng.below(i + 1);
            if j < self.size {
                self.items[j] = (i, text.to_owned());
            }
        }
    }

    /// At most `k` of the sampled items, a uniform subset of the sample (so still a uniform sample of the stream),
    /// as (stream position, item) in stream order.
    pub(crate) fn take(mut self, k: usize) -> Vec<(usize, String)> {
        if k < self.items.len() {
            self.rng.shuffle(&mut self.items);
            self.items.truncate(k);
        }
        self.items.sort_unstable_by_key(|x| x.0);
        self.items
    }

    /// How many items were offered.
    pub(crate) fn seen(&self) -> usize {
        self.seen
    }
}

/// Cross-validate every feature set in `arms` on the pilot documents (`texts`, with the full corpus's label sets
/// `sets`, scored on their most frequent labels), each with the `min_df` search training would run for it, and
/// mark the chosen one: the first arm (the cheapest) unless another beats it by `min_gain`, the best of those
/// then. `None` when the pilot is too small for calibration folds (no held-out figure to compare).
pub(crate) fn compare(
    tokenizer: &TokenizerConfig,
    arms: &[FeatureArm],
    texts: &[&str],
    sets: &[Vec<u32>],
    params: &ValidOvrParams,
    pilot: &PilotConfig,
) -> Result<Option<Vec<FeatureTrial>>, ModelError> {
    // The pilot's labels: the most frequent in the sample (ties by id), renumbered 0..k.
    let n_labels = sets.iter().flatten().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut freq = vec![0usize; n_labels];
    sets.iter().flatten().for_each(|&l| freq[l as usize] += 1);
    let mut by_freq: Vec<usize> = (0..n_labels).filter(|&l| freq[l] > 0).collect();
    by_freq.sort_unstable_by(|&a, &b| freq[b].cmp(&freq[a]).then(a.cmp(&b)));
    by_freq.truncate(pilot.labels.max(1));
    let mut new_id = vec![u32::MAX; n_labels];
    for (k, &l) in by_freq.iter().enumerate() {
        new_id[l] = k as u32;
    }
    let pilot_sets: Vec<Vec<u32>> =
        sets.iter().map(|s| s.iter().map(|&l| new_id[l as usize]).filter(|&l| l != u32::MAX).collect()).collect();
    // Always folds on the pilot (never the single held-out slice of large corpora), and no final fit on all the
    // pilot documents: only the held-out figures are used ("average the folds" is the setting that skips it).
    let params = ValidOvrParams {
        holdout_above: 0,
        average_folds: true,
        cv_folds: params.cv_folds.min(pilot.folds),
        ..params.clone()
    };
    let mut trials = Vec::with_capacity(arms.len());
    for arm in arms {
        let vectorizer = Vectorizer::fit(tokenizer.clone(), arm.features.clone(), texts)?;
        let rows = vectorizer.transform_batch(texts);
        let (vectorizer, model, nnz) = if arm.min_df_candidates.is_empty() {
            let nnz = rows.nnz();
            let records = SparseRecords { rows, refit: Some(vectorizer.refitter()) };
            let model = params.fit(&records_dataset(records, LabelSets::new(pilot_sets.clone(), by_freq.len())?)?)?;
            (vectorizer, model, nnz)
        } else {
            let (v, model, _) =
                fit_best_min_df(&params, &vectorizer, &rows, &pilot_sets, by_freq.len(), &arm.min_df_candidates)?;
            // A larger `min_df` keeps a prefix of the columns (see `Vectorizer::restrict_min_df`).
            let kept = v.n_features() as u32;
            let nnz = rows.rows().map(|r| r.indices.iter().take_while(|&&j| j < kept).count()).sum();
            (v, model, nnz)
        };
        let Some(cv) = model.cv else { return Ok(None) };
        trials.push(FeatureTrial {
            name: arm.name.to_owned(),
            features: vectorizer.state().config.clone(),
            docs: texts.len(),
            labels: by_freq.len(),
            n_features: vectorizer.n_features(),
            nnz,
            micro_f1: cv.tuned_micro_f1,
            chosen: false,
        });
    }
    let base = trials.first().map_or(0.0, |t| t.micro_f1);
    let mut chosen = 0;
    for (k, t) in trials.iter().enumerate().skip(1) {
        if t.micro_f1 >= base + pilot.min_gain && t.micro_f1 > trials[chosen].micro_f1 {
            chosen = k;
        }
    }
    if let Some(t) = trials.get_mut(chosen) {
        t.chosen = true;
    }
    Ok(Some(trials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reservoir_is_a_deterministic_uniform_sample_and_its_subsets_are_too() {
        let sample = |seed| {
            let mut r = Reservoir::new(1000, seed);
            (0..10_000).for_each(|i| r.offer(&i.to_string()));
            assert_eq!(r.seen(), 10_000);
            r
        };
        let a = sample(1).take(1000);
        assert_eq!(a, sample(1).take(1000), "same seed, same sample");
        assert_ne!(a, sample(2).take(1000));
        assert_eq!(a.len(), 1000);
        assert!(a.windows(2).all(|w| w[0].0 < w[1].0), "distinct, in stream order");
        assert!(a.iter().all(|(i, t)| t == &i.to_string()), "each item kept with its position");
        let mean = |s: &[(usize, String)]| s.iter().map(|x| x.0 as f64).sum::<f64>() / s.len() as f64;
        // Uniform over 0..10,000: mean 5,000, standard error ~90 for 1,000 items, ~130 for 500.
        assert!((mean(&a) - 5000.0).abs() < 400.0, "{}", mean(&a));
        let half = sample(1).take(500);
        assert_eq!(half.len(), 500);
        assert!(half.iter().all(|x| a.binary_search(x).is_ok()), "a subset of the sample");
        assert!((mean(&half) - 5000.0).abs() < 500.0, "{}", mean(&half));
        let mut small = Reservoir::new(1000, 1);
        (0..10).for_each(|i| small.offer(&i.to_string()));
        assert_eq!(small.take(1000).len(), 10, "a short stream is kept whole");
    }

    #[test]
    fn pilot_size_is_a_quarter_of_the_corpus_within_bounds() {
        let p = PilotConfig::default();
        let sizes: Vec<usize> = [100, 577, 2000, 3000, 20_000].iter().map(|&n| p.sample_size(n)).collect();
        assert_eq!(sizes, [100, 500, 500, 750, 1000]);
    }
}
