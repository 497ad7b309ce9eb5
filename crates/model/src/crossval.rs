//! Outer cross-validation of a whole training configuration: the documents are dealt into folds, a model is
//! trained on all folds but one (with its own inner calibration folds, exactly as `train` would) and tags the
//! fold it never saw. This is how an operator compares configurations on their own training data without
//! touching a test split.

use crate::metrics::{self, Report};
use crate::ovr::Decision;
use crate::tagger::{Stage, TaggerModel, TrainConfig};
use crate::{ModelError, solver::Rng};
use serde::{Deserialize, Serialize};

/// What an outer cross-validation measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Number of folds.
    pub folds: usize,
    /// Metrics over every document, each tagged by the model that did not see it.
    pub pooled: Report,
    /// Micro-F1 of each fold on its own (spread between folds shows how much a difference can be noise).
    pub fold_micro_f1: Vec<f64>,
    /// Subjects of held-out documents that their fold's training documents never had (only a lexical backend can
    /// propose them), and the share of them in their document's top 5.
    #[serde(default)]
    pub unseen_subjects: usize,
    /// Recall@5 of those subjects.
    #[serde(default)]
    pub unseen_r_at_5: f64,
}

impl CrossValidation {
    /// Mean of the per-fold micro-F1.
    pub fn mean_micro_f1(&self) -> f64 {
        self.fold_micro_f1.iter().sum::<f64>() / self.fold_micro_f1.len().max(1) as f64
    }

    /// Sample standard deviation of the per-fold micro-F1.
    pub fn sd_micro_f1(&self) -> f64 {
        let n = self.fold_micro_f1.len();
        if n < 2 {
            return 0.0;
        }
        let m = self.mean_micro_f1();
        (self.fold_micro_f1.iter().map(|f| (f - m) * (f - m)).sum::<f64>() / (n - 1) as f64).sqrt()
    }
}

/// The fold of every document: a seeded shuffle dealt round-robin, so fold sizes differ by at most one.
pub fn assign_folds(n_docs: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed ^ 0x6f75_7465_725f_6376);
    let mut order: Vec<usize> = (0..n_docs).collect();
    for i in (1..n_docs).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut fold = vec![0; n_docs];
    for (k, &d) in order.iter().enumerate() {
        fold[d] = k % folds.max(1);
    }
    fold
}

/// Cross-validate `config` on labelled documents with `folds` outer folds (at least 2, at most the number of
/// documents). With a vocabulary, the labels must be its concept URIs, and each fold's model gets the vocabulary
/// and the backends the configuration asks for, as `tagger train --vocab` does. `progress` is called with the fold
/// about to be trained.
pub fn cross_validate(
    texts: &[&str],
    labels: &[Vec<String>],
    config: &TrainConfig,
    vocabulary: Option<&tagger_vocab::Vocabulary>,
    folds: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<CrossValidation, ModelError> {
    if texts.len() != labels.len() {
        return Err(ModelError::InvalidData(format!("{} texts but {} label sets", texts.len(), labels.len())));
    }
    if folds < 2 || folds > texts.len() {
        return Err(ModelError::InvalidData(format!(
            "cross-validation needs 2 to {} folds (one document each at least), not {folds}",
            texts.len()
        )));
    }
    let vocabulary_config = vocabulary.map(|_| config.for_vocabulary());
    let config = vocabulary_config.as_ref().unwrap_or(config);
    let fold_of = assign_folds(texts.len(), folds, config.classifier.seed);
    let mut selected: Vec<Vec<String>> = vec![Vec::new(); texts.len()];
    let mut ranked: Vec<Vec<String>> = vec![Vec::new(); texts.len()];
    let mut fold_micro_f1 = Vec::with_capacity(folds);
    let (mut unseen_hits, mut unseen_subjects) = (0.0f64, 0usize);
    let quiet = |_: Stage| {};
    for f in 0..folds {
        progress(f);
        let (train, held): (Vec<usize>, Vec<usize>) = (0..texts.len()).partition(|&d| fold_of[d] != f);
        let train_texts: Vec<&str> = train.iter().map(|&d| texts[d]).collect();
        let train_labels: Vec<Vec<String>> = train.iter().map(|&d| labels[d].clone()).collect();
        let mut model = TaggerModel::train(&train_texts, &train_labels, config, &quiet)?;
        if let Some(vocab) = vocabulary {
            let language = vocab.languages().first().cloned().unwrap_or_default();
            model = model.with_vocabulary(vocab.clone(), &language)?;
            let source = crate::InMemory { texts: &train_texts, labels: &train_labels };
            model = model.with_backends(&source, config)?;
        }
        let held_texts: Vec<&str> = held.iter().map(|&d| texts[d]).collect();
        let names = |tags: Vec<Vec<crate::Tag<'_>>>| -> Vec<Vec<String>> {
            tags.into_iter().map(|t| t.into_iter().map(|t| t.label.to_owned()).collect()).collect()
        };
        let sel = names(model.tag_batch(&held_texts, Decision::ModelRule));
        let rank = names(model.tag_batch(&held_texts, Decision::TopK { k: 10, min_score: None }));
        let gold: Vec<Vec<String>> = held.iter().map(|&d| labels[d].clone()).collect();
        fold_micro_f1.push(metrics::evaluate(&gold, &sel, &rank).micro_f1);
        let seen: std::collections::HashSet<&str> = model.labels().iter().map(String::as_str).collect();
        let (r5, n) = metrics::unseen_recall_at(&gold, &rank, &|s| seen.contains(s), 5);
        unseen_hits += r5 * n as f64;
        unseen_subjects += n;
        for ((d, s), r) in held.into_iter().zip(sel).zip(rank) {
            selected[d] = s;
            ranked[d] = r;
        }
    }
    let pooled = metrics::evaluate(labels, &selected, &ranked);
    let unseen_r_at_5 = if unseen_subjects == 0 { 0.0 } else { unseen_hits.round() / unseen_subjects as f64 };
    Ok(CrossValidation { folds, pooled, fold_micro_f1, unseen_subjects, unseen_r_at_5 })
}
