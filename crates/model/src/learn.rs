//! Incremental learning (`tagger learn`, as Annif's `learn`): update a trained model from newly indexed documents
//! without retraining it.
//!
//! The vocabulary (terms and IDF) and the feature space stay as training made them; the new documents and a
//! replay sample of the old ones (which keeps the update from drifting towards the new documents' labels alone)
//! are turned into rows with the model's own vectorizer. Every label the model has weights for is fitted again on
//! those rows by the same solver, regularised towards its current weights instead of towards zero
//! (`min ½‖w − w₀‖² + C Σ loss`: a warm start that keeps what training learned and moves only as far as the new rows
//! ask), and keeps its calibration and threshold. Labels the model has never seen — and known labels that had no
//! training example — are fitted on the rows like a training does (held-out folds, Platt calibration, thresholds)
//! and added. The lexical backend and the ensemble's stacker, which work on concepts of the vocabulary, are kept.

use crate::data::{LabelSets, SparseRecords, records_dataset};
use crate::{ModelError, TaggerModel};
use linfa::traits::Fit;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which `k` of `n` old documents to replay beside the new ones (all of them when `k >= n`), in order: a seeded
/// sample, the same for the same seed (a model's own seed, so the same model and corpus replay the same documents).
pub fn replay_sample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    // The solver's SplitMix64, started from the seed mixed with "replay".
    let mut rng = crate::solver::Rng::new(seed ^ 0x7265_706c_6179 ^ 0x9E37_79B9_7F4A_7C15);
    let mut idx: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + rng.below(n - i);
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

/// What one `learn` step did, recorded in the model's metadata.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnRecord {
    /// Newly indexed documents learnt from.
    pub new_docs: usize,
    /// Old documents replayed beside them.
    pub replay_docs: usize,
    /// Labels whose weights were refitted towards their previous weights.
    pub labels_updated: usize,
    /// Labels added (or fitted for the first time), by name.
    pub labels_added: Vec<String>,
    /// When (seconds since the Unix epoch; set by the caller).
    pub created_unix: u64,
}

impl TaggerModel {
    /// The model updated from `texts` and their label names (the new documents followed by any replayed old
    /// ones; `new_docs` says how many are new). Label names the model does not know are added after its labels
    /// (for a model with a vocabulary they must be concept URIs: resolve subjects first, as training does).
    pub fn learn(
        &self,
        texts: &[&str],
        labels: &[Vec<String>],
        new_docs: usize,
    ) -> Result<(TaggerModel, LearnRecord), ModelError> {
        if texts.len() != labels.len() {
            return Err(ModelError::InvalidData(format!("{} texts but {} label lists", texts.len(), labels.len())));
        }
        if texts.is_empty() || new_docs == 0 || new_docs > texts.len() {
            return Err(ModelError::InvalidData("no new documents to learn from".into()));
        }
        let mut names = self.labels.clone();
        let mut ids: HashMap<&str, u32> = self.labels.iter().enumerate().map(|(i, l)| (l.as_str(), i as u32)).collect();
        let mut unknown: Vec<&str> =
            labels.iter().flatten().map(String::as_str).filter(|l| !ids.contains_key(l)).collect();
        unknown.sort_unstable();
        unknown.dedup();
        for l in unknown {
            ids.insert(l, names.len() as u32);
            names.push(l.to_owned());
        }
        let mut sets: Vec<Vec<u32>> = labels.iter().map(|ls| ls.iter().map(|l| ids[l.as_str()]).collect()).collect();
        for s in &mut sets {
            s.sort_unstable();
            s.dedup();
        }
        let n_labels = names.len();
        let x = self.vectorizer.transform_batch(texts);

        // Labels fitted from scratch: new ones, and known ones without weights that now have examples.
        let clf = &self.classifier;
        let mut has_positive = vec![false; n_labels];
        sets.iter().flatten().for_each(|&l| has_positive[l as usize] = true);
        let added: Vec<u32> = (0..n_labels as u32)
            .filter(|&l| has_positive[l as usize] && (l as usize >= clf.n_labels() || !clf.is_trained(l as usize)))
            .collect();
        let fitted = if added.is_empty() {
            None
        } else {
            let position: HashMap<u32, u32> = added.iter().enumerate().map(|(k, &l)| (l, k as u32)).collect();
            let sub: Vec<Vec<u32>> =
                sets.iter().map(|s| s.iter().filter_map(|l| position.get(l).copied()).collect()).collect();
            let records = SparseRecords { rows: x.clone(), refit: None };
            Some(clf.params.fit(&records_dataset(records, LabelSets::new(sub, added.len())?)?)?)
        };
        let classifier = clf.learned(&x, &sets, n_labels, &added, fitted.as_ref())?;
        let labels_updated = (0..clf.n_labels()).filter(|&l| clf.is_trained(l)).count();
        let concepts = match &self.concepts {
            Some(c) => Some(crate::concepts::ModelConcepts::new(c.vocab.clone(), c.language.clone(), &names)?),
            None => None,
        };
        let record = LearnRecord {
            new_docs,
            replay_docs: texts.len() - new_docs,
            labels_updated,
            labels_added: added.iter().map(|&l| names[l as usize].clone()).collect(),
            created_unix: 0,
        };
        let mut meta = self.meta.clone();
        meta.cv = None;
        Ok((
            TaggerModel {
                labels: names,
                vectorizer: self.vectorizer.clone(),
                classifier,
                concepts,
                ensemble: self.ensemble.clone(),
                meta,
                memo: crate::words::MemoId::fresh(),
            },
            record,
        ))
    }
}
