//! The ensemble: the linear model's probabilities and the lexical backend's, fused per concept by a small
//! logistic stacker fitted on out-of-fold predictions of the training documents, then one calibrated decision.
//!
//! For each document the stacker sees the linear model's best labels and every lexical candidate, so it can
//! answer with concepts no training document had (their linear probability is 0). Its inputs per concept:
//! both probabilities, their product, their log-odds, and whether each backend had an opinion at all.

use crate::ModelError;
use crate::concepts::ModelConcepts;
use crate::ovr::{Decision, OOF_TOP};
use crate::tagger::{TaggerModel, TrainConfig, TrainingSource};
use linfa::prelude::*;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tagger_lexical::{DocCandidates, LexicalModel, LexicalParams, LexicalReport};
use tagger_vocab::ConceptId;

/// Which backends a model trained with a vocabulary uses, and how they are fused (`TrainConfig::ensemble`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// Add the lexical backend and fuse it with the linear model. `None` = yes when the model is trained with a
    /// vocabulary (it needs one: the labels it matches come from it).
    pub lexical: Option<bool>,
    /// Let the linear model's probabilities into the fused score (the default). `false` with the lexical backend
    /// tags by the lexical backend alone (still through the stacker, threshold and tag cap fitted on the
    /// training documents), to measure it on its own or for a vocabulary whose training documents are few.
    pub linear: bool,
    /// The lexical backend's parameters (its languages default to the documents' language, else the
    /// vocabulary's main language).
    pub lexical_params: LexicalParams,
    /// The linear model's best labels considered per document, next to the lexical candidates. 10 was chosen by
    /// 5-fold `tagger cv` on the training sets of both Finnish library corpora (5, 10, 15, 20, 30 compared):
    /// fewer rows of the linear model's long tail let the stacker separate its best few, which raised P@1.
    pub linear_candidates: usize,
    /// L2 penalty of the stacker (on the weights of its standardised inputs).
    pub alpha: f64,
    /// At most this many (document, concept) rows fit the stacker: every subject and an even sample of the
    /// others (the intercept is corrected for the sampling). Its threshold is still chosen on every row. A cost
    /// bound: the logistic fit takes about 0.1 ms a row on 2 cores (`makupalat`, 15,212 documents, 470k rows:
    /// 90.6 s of training against 31.4 s for the linear model alone; capped at 100k rows, 40.3 s).
    pub max_rows: usize,
    /// How much a training row counts in the stacker's fit when it is a subject the linear model had no opinion
    /// on (a concept whose training examples all lay in the document's own fold: the stand-in for a concept no
    /// training document has). Above 1, the stacker ranks such lexical-only candidates higher, trading a little
    /// precision on known concepts for recall of new ones. At least 1; a fraction counts that share of those
    /// rows once more. 1.5 was chosen by 5-fold `tagger cv` on the `kirjastonhoitaja` training set (1, 1.5, 2, 3
    /// compared on the same folds): the largest weight whose micro-F1 loss was not consistent across folds
    /// (1 → 1.5: recall@5 of unseen subjects 0.287 → 0.330, macro-F1 0.301 → 0.325, micro-F1 0.428 → 0.426,
    /// nDCG@5 0.504 → 0.504; 2 lowered micro-F1 in every fold).
    pub unseen_weight: f64,
    /// Serve the linear model of a model trained with a vocabulary (the lexical backend not turned off) as the
    /// average of its calibration folds' models instead of a refit on every document (sets the classifier's
    /// `average_folds`; see [`crate::TrainConfig::for_vocabulary`]): a fifth less classifier work. Off by default:
    /// measured refit → average, 5-fold `tagger cv` on the training sets: `kirjastonhoitaja` micro-F1 0.4258 →
    /// 0.4260, P@1 0.642 → 0.651, nDCG@5 0.503 → 0.506; `makupalat` micro-F1 0.4447 → 0.4440, nDCG@5 0.569 →
    /// 0.568; on the `validate` splits F1@5 0.430 → 0.425 and 0.228 → 0.222, nDCG@5 0.501 → 0.497 and 0.514 →
    /// 0.503 (P@1 0.592 → 0.606 and 0.415 → 0.412); training `kirjastonhoitaja` 21 s → 16 s.
    pub average_folds: bool,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        Self {
            lexical: None,
            linear: true,
            lexical_params: LexicalParams::default(),
            linear_candidates: 10,
            alpha: 1e-4,
            max_rows: 200_000,
            unseen_weight: 1.5,
            average_folds: false,
        }
    }
}

/// Centre and scale every column of `x` to mean 0 and standard deviation 1 (a constant column is only centred);
/// returns each column's mean and scale.
fn standardise(x: &mut Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let n = x.nrows().max(1) as f64;
    let mut stats = (Vec::new(), Vec::new());
    for mut col in x.columns_mut() {
        let mean = col.sum() / n;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if sd > 1e-12 { sd } else { 1.0 };
        col.mapv_inplace(|v| (v - mean) / scale);
        stats.0.push(mean);
        stats.1.push(scale);
    }
    stats
}

/// Inputs of the stacker for one concept of one document.
pub(crate) const STACK_FEATURES: usize = 11;
/// The input that says whether the linear model had an opinion on the concept (1) or not (0).
const LINEAR_OPINION: usize = 5;

/// The stacker's inputs for one concept: linear probability, lexical probability (0 when the backend has no
/// opinion, with the flags saying whether it had one), their product and log-odds, and each backend's rank of the
/// concept in the document (1 / (1 + rank), 0 when unranked) and probability relative to its best in the document.
fn stack_features(linear: Option<(f32, f64, f32)>, lexical: Option<(f32, f64, f32)>) -> [f64; STACK_FEATURES] {
    let logit = |p: f64| {
        let p = p.clamp(1e-4, 1.0 - 1e-4);
        (p / (1.0 - p)).ln()
    };
    let parts = |x: Option<(f32, f64, f32)>| {
        x.map_or((0.0, 0.0, 0.0), |(p, rank, best)| {
            (f64::from(p), rank, if best > 0.0 { f64::from(p / best) } else { 0.0 })
        })
    };
    let (a, ra, ba) = parts(linear);
    let (b, rb, bb) = parts(lexical);
    [
        a,
        b,
        a * b,
        logit(a),
        logit(b),
        f64::from(u8::from(linear.is_some())),
        f64::from(u8::from(lexical.is_some())),
        ra,
        rb,
        ba,
        bb,
    ]
}

/// One concept of one document as the stacker sees it.
pub(crate) struct StackInput {
    pub concept: ConceptId,
    /// Its label, when the linear model has one.
    pub label: Option<u32>,
    /// Its position among the lexical candidates, when the lexical backend found it.
    pub candidate: Option<usize>,
    pub features: [f64; STACK_FEATURES],
}

/// The concepts of one document the stacker scores, built the same way for training and for tagging: the
/// linear model's `linear_candidates` best labels and every lexical candidate. `known` says which labels the
/// linear model learned (had training examples of: for out-of-fold probabilities, examples outside the
/// document's fold, so that concepts only that fold had look as unseen as they are); `linear_top` holds its best
/// known labels with their probabilities, best first (at most [`OOF_TOP`]); a known label outside it counts as
/// probability 0, as in training's out-of-fold lists. `lexical` holds each candidate's concept and probability,
/// in candidate order.
pub(crate) fn stack_inputs(
    concepts: &ModelConcepts,
    known: &dyn Fn(u32) -> bool,
    linear_top: &[(u32, f32)],
    lexical: &[(ConceptId, f32)],
    linear_candidates: usize,
) -> Vec<StackInput> {
    let best_linear = linear_top.first().map_or(0.0, |x| x.1);
    let best_lexical = lexical.iter().map(|x| x.1).fold(0.0f32, f32::max);
    // Lexical ranks: by probability, ties by concept.
    let mut order: Vec<usize> = (0..lexical.len()).collect();
    order.sort_by(|&i, &j| lexical[j].1.total_cmp(&lexical[i].1).then(lexical[i].0.cmp(&lexical[j].0)));
    let mut lexical_rank = vec![0usize; lexical.len()];
    for (r, &i) in order.iter().enumerate() {
        lexical_rank[i] = r;
    }
    let linear_of = |label: Option<u32>| {
        let l = label.filter(|&l| known(l))?;
        Some(match linear_top.iter().position(|x| x.0 == l) {
            Some(r) => (linear_top[r].1, 1.0 / (1.0 + r as f64), best_linear),
            None => (0.0, 0.0, best_linear),
        })
    };
    let lexical_of = |c: ConceptId| {
        let i = lexical.binary_search_by_key(&c, |x| x.0).ok()?;
        Some((i, (lexical[i].1, 1.0 / (1.0 + lexical_rank[i] as f64), best_lexical)))
    };
    let mut out: Vec<StackInput> = Vec::new();
    let mut push = |concept: ConceptId, label: Option<u32>| {
        let lex = lexical_of(concept);
        out.push(StackInput {
            concept,
            label,
            candidate: lex.map(|x| x.0),
            features: stack_features(linear_of(label), lex.map(|x| x.1)),
        });
    };
    for &(l, _) in linear_top.iter().take(linear_candidates) {
        push(concepts.of_label[l as usize], Some(l));
    }
    let taken: Vec<ConceptId> =
        linear_top.iter().take(linear_candidates).map(|&(l, _)| concepts.of_label[l as usize]).collect();
    for &(c, _) in lexical {
        if !taken.contains(&c) {
            push(c, concepts.label_of_concept.get(&c).copied());
        }
    }
    out
}

/// A fitted ensemble over a model's linear classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    pub(crate) lexical: LexicalModel,
    weights: Vec<f64>,
    intercept: f64,
    /// Fused probability a concept needs to be chosen by the model's rule.
    pub threshold: f32,
    /// At most this many tags by the model's rule (the 95th percentile of subjects per training document).
    pub max_tags: usize,
    /// The linear model's best labels considered per document; 0 when the ensemble leaves the linear model out
    /// (the lexical backend alone: see [`EnsembleConfig::linear`]).
    pub linear_candidates: usize,
}

/// Figures from fitting the ensemble, recorded in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleReport {
    /// The lexical backend's training report.
    pub lexical: LexicalReport,
    /// Documents and rows the stacker was fitted on.
    pub docs: usize,
    /// Rows (document, concept) the stacker was fitted on.
    pub rows: usize,
    /// Rows that were subjects of their document without a linear opinion: concepts whose training examples
    /// all lay in the document's own calibration fold, the stand-ins for concepts no training document has.
    pub unseen_subject_rows: usize,
    /// Micro-F1 of the fused decision on those documents (optimistic: threshold tuned on them).
    pub micro_f1: f64,
    /// Stacker weights, by input.
    pub weights: Vec<f64>,
}

/// One stacker row: its inputs and whether the concept is a subject of the document.
pub(crate) struct StackRow {
    pub doc: u32,
    pub features: [f64; STACK_FEATURES],
    pub positive: bool,
}

impl Ensemble {
    /// Fit the stacker on rows of `docs` documents whose documents have `subjects` subjects in all, and choose
    /// the threshold and tag cap; with what the fit measured (recorded in the model's metadata).
    pub(crate) fn fit(
        lexical: LexicalModel,
        lexical_report: LexicalReport,
        rows: &[StackRow],
        subjects_per_doc: &[usize],
        config: &EnsembleConfig,
    ) -> Result<(Ensemble, EnsembleReport), ModelError> {
        let positives = rows.iter().filter(|r| r.positive).count();
        if positives == 0 || positives == rows.len() {
            return Err(ModelError::InvalidData(format!(
                "the ensemble's {} training rows hold {positives} subjects: it needs both subjects and others",
                rows.len()
            )));
        }
        let labels: Vec<bool> = rows.iter().map(|r| r.positive).collect();
        let (mut kept, rate) = tagger_lexical::sample_negatives(&labels, config.max_rows);
        // Subjects without a linear opinion count `unseen_weight` times: the j-th of them is repeated
        // floor((j+1)·w) − floor(j·w) times in all, so n of them make floor(n·w) rows.
        let unseen: Vec<usize> =
            kept.iter().copied().filter(|&k| rows[k].positive && rows[k].features[LINEAR_OPINION] == 0.0).collect();
        let w = config.unseen_weight;
        for (j, &k) in unseen.iter().enumerate() {
            let copies = ((j + 1) as f64 * w).floor() as usize - (j as f64 * w).floor() as usize;
            kept.extend(std::iter::repeat_n(k, copies.saturating_sub(1)));
        }
        let mut x = Array2::<f64>::zeros((kept.len(), STACK_FEATURES));
        for (i, &k) in kept.iter().enumerate() {
            for (j, v) in rows[k].features.iter().enumerate() {
                x[[i, j]] = *v;
            }
        }
        // Standardised inputs (probabilities next to log-odds and ranks) let the quasi-Newton fit converge in
        // fewer iterations (3.4 s → 1.4–1.7 s on `kirjastonhoitaja`); the weights are mapped back to the raw inputs
        // below. `alpha` then weighs the standardised weights: on 87k rows the raw weights came out the same to
        // three decimals.
        let (mean, scale) = standardise(&mut x);
        let y: Array1<bool> = kept.iter().map(|&k| labels[k]).collect();
        let fitted = linfa_logistic::LogisticRegression::default()
            .alpha(config.alpha)
            .max_iterations(500)
            // The loss is a sum over rows: a gradient of 1e-7 a row. linfa's fixed 1e-4 asks ~1e-9 a row of the 87k
            // rows of `kirjastonhoitaja`, and there took 1.4–1.7 s against 0.6 s for the same weights
            // to three decimals and the same threshold to four.
            .gradient_tolerance(1e-7 * kept.len() as f64)
            .fit(&Dataset::new(x, y))
            .map_err(|e| ModelError::InvalidData(format!("fitting the ensemble's stacker: {e}")))?;
        // linfa names the first class it meets "positive"; align the weights with `true`.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let weights: Vec<f64> = fitted.params().iter().zip(&scale).map(|(w, s)| sign * w / s).collect();
        let shift: f64 = weights.iter().zip(&mean).map(|(w, m)| w * m).sum();
        let mut ensemble = Ensemble {
            lexical,
            weights,
            // Negatives were kept at `rate`: shift the log-odds back to the prior of all rows.
            intercept: sign * fitted.intercept() - shift + rate.ln(),
            threshold: 0.5,
            max_tags: percentile(subjects_per_doc, 0.95).max(1),
            linear_candidates: if config.linear { config.linear_candidates } else { 0 },
        };
        // Fused scores per document, best first.
        let n_docs = subjects_per_doc.len();
        let mut per_doc: Vec<Vec<(f32, bool)>> = vec![Vec::new(); n_docs];
        for r in rows {
            per_doc[r.doc as usize].push((ensemble.fuse(&r.features), r.positive));
        }
        for d in &mut per_doc {
            d.sort_by(|a, b| b.0.total_cmp(&a.0));
        }
        let subjects: usize = subjects_per_doc.iter().sum();
        let (threshold, f1) = best_threshold(&per_doc, subjects, ensemble.max_tags);
        ensemble.threshold = threshold;
        let report = EnsembleReport {
            lexical: lexical_report,
            docs: subjects_per_doc.len(),
            rows: rows.len(),
            // Input 5 is the flag "the linear model has an opinion".
            unseen_subject_rows: rows.iter().filter(|r| r.positive && r.features[LINEAR_OPINION] == 0.0).count(),
            micro_f1: f1,
            weights: ensemble.weights.clone(),
        };
        Ok((ensemble, report))
    }

    /// The fused probability of one concept.
    pub(crate) fn fuse(&self, features: &[f64; STACK_FEATURES]) -> f32 {
        let z: f64 = features.iter().zip(&self.weights).map(|(v, w)| v * w).sum::<f64>() + self.intercept;
        (1.0 / (1.0 + (-z).exp())) as f32
    }

    /// The lexical backend.
    pub fn lexical(&self) -> &LexicalModel {
        &self.lexical
    }

    /// Check internal consistency after loading.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.weights.len() != STACK_FEATURES || !self.intercept.is_finite() || !self.threshold.is_finite() {
            return Err("ensemble: stacker weights do not fit its inputs".into());
        }
        Ok(())
    }
}

/// The `q` quantile of counts (nearest rank).
fn percentile(values: &[usize], q: f64) -> usize {
    if values.is_empty() {
        return 0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The global threshold with the best micro-F1 when each document keeps its concepts at or above it (at most
/// `cap`, and at least its best one), and that F1.
fn best_threshold(per_doc: &[Vec<(f32, bool)>], subjects: usize, cap: usize) -> (f32, f64) {
    let mut candidates: Vec<f32> = per_doc.iter().flat_map(|d| d.iter().take(cap).map(|x| x.0)).collect();
    candidates.sort_by(|a, b| b.total_cmp(a));
    candidates.dedup();
    // Thresholds are compared on a grid of at most 200 quantiles of the scores.
    let step = candidates.len().div_ceil(200).max(1);
    let mut best = (0.5f32, -1.0f64);
    for &t in candidates.iter().step_by(step) {
        let (mut tp, mut chosen) = (0usize, 0usize);
        for d in per_doc {
            let k = d.iter().take(cap).take_while(|x| x.0 >= t).count().max(usize::from(!d.is_empty()));
            chosen += k;
            tp += d[..k].iter().filter(|x| x.1).count();
        }
        let f1 = if chosen + subjects == 0 { 0.0 } else { 2.0 * tp as f64 / (chosen + subjects) as f64 };
        if f1 > best.1 {
            best = (t, f1);
        }
    }
    best
}

/// A concept of one document as the ensemble scores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fused {
    /// Tag id: a label id, or `labels + concept id` for a concept the linear model has no label for.
    pub id: u32,
    /// Fused probability.
    pub score: f32,
    /// The lexical backend's probability and the concept's index in the document's candidates (whose matched
    /// spans explain it), when it found the concept.
    pub lexical: Option<(f32, usize)>,
}

impl TaggerModel {
    /// Add the backends `config.ensemble` asks for (see [`EnsembleConfig::lexical`]): by default the lexical
    /// backend and the ensemble when the model has a vocabulary and was fitted with calibration folds (a corpus
    /// too small for folds keeps the linear model alone); an explicit `lexical: true` makes either missing piece
    /// an error.
    pub fn with_backends(
        mut self,
        source: &dyn TrainingSource,
        config: &TrainConfig,
    ) -> Result<TaggerModel, ModelError> {
        match config.ensemble.lexical {
            Some(false) => Ok(self),
            Some(true) => self.with_ensemble(source, config),
            None if self.concepts.is_none() => Ok(self),
            None if self.classifier.out_of_fold().is_none() => {
                self.meta.ensemble_skipped = Some("the corpus is too small for calibration folds".into());
                Ok(self)
            }
            None => {
                match self.fit_ensemble(source, config) {
                    Ok(fitted) => self.attach_ensemble(fitted),
                    // The data cannot train it (no label of the vocabulary occurs in the texts, say): the linear
                    // model alone, with the reason recorded. Errors of the source still stop training.
                    Err(ModelError::InvalidData(why)) => {
                        self.classifier.forget_out_of_fold();
                        self.meta.ensemble_skipped = Some(why);
                    }
                    Err(e) => return Err(e),
                }
                Ok(self)
            }
        }
    }

    /// Train the lexical backend and the ensemble on the same documents the model was trained on (`source` is
    /// read once more) and attach them. Needs the vocabulary ([`TaggerModel::with_vocabulary`]) and the
    /// out-of-fold probabilities of a model fitted with calibration folds.
    pub fn with_ensemble(
        mut self,
        source: &dyn TrainingSource,
        config: &TrainConfig,
    ) -> Result<TaggerModel, ModelError> {
        let fitted = self.fit_ensemble(source, config)?;
        self.attach_ensemble(fitted);
        Ok(self)
    }

    /// Keep a fitted ensemble, record what its fit measured, and drop the out-of-fold probabilities it was
    /// fitted on.
    fn attach_ensemble(&mut self, (ensemble, report): (Ensemble, EnsembleReport)) {
        self.classifier.forget_out_of_fold();
        self.meta.ensemble = Some(report);
        self.ensemble = Some(ensemble);
        // The words' lexical ids change with the backend: memos made before it no longer apply.
        self.memo = crate::words::MemoId::fresh();
    }

    fn fit_ensemble(
        &self,
        source: &dyn TrainingSource,
        config: &TrainConfig,
    ) -> Result<(Ensemble, EnsembleReport), ModelError> {
        let Some(concepts) = &self.concepts else {
            return Err(ModelError::InvalidParams("the lexical backend needs a vocabulary".into()));
        };
        let Some(oof) = self.classifier.out_of_fold() else {
            return Err(ModelError::InvalidParams(
                "the ensemble is fitted on out-of-fold probabilities: train with calibration folds (cv_folds ≥ 2, \
                 and at least twice as many documents)"
                    .into(),
            ));
        };
        let vocab = &concepts.vocab;
        let ec = &config.ensemble;
        if !(ec.unseen_weight.is_finite() && ec.unseen_weight >= 1.0) {
            return Err(ModelError::InvalidParams(format!(
                "ensemble.unseen_weight must be a number ≥ 1, not {}",
                ec.unseen_weight
            )));
        }
        if ec.linear && ec.linear_candidates == 0 {
            return Err(ModelError::InvalidParams(
                "ensemble.linear_candidates must be at least 1 (to leave the linear model out, set ensemble.linear \
                 to false)"
                    .into(),
            ));
        }
        let mut params = ec.lexical_params.clone();
        if params.languages.is_empty() {
            let text_language = config
                .language
                .clone()
                .or_else(|| self.meta.profile.as_ref().and_then(|p| p.language.clone()))
                .and_then(|l| tagger_tokenize::primary_language(&l));
            let has =
                |l: &str| vocab.languages().iter().any(|v| tagger_tokenize::primary_language(v).as_deref() == Some(l));
            params.languages = match text_language {
                Some(l) if has(&l) => vec![l],
                _ => vocab.languages().first().cloned().into_iter().collect(),
            };
        }
        let tokenizer = self.vectorizer.tokenizer().config().clone();
        let mut lexical = LexicalModel::new(vocab, &params, tokenizer).map_err(lexical_error)?;
        let mut docs: Vec<DocCandidates> = Vec::new();
        let mut gold: Vec<Vec<ConceptId>> = Vec::new();
        source.read(&mut |texts, labels| {
            docs.par_extend(texts.par_iter().map(|t| lexical.candidates(t)));
            gold.extend(labels.iter().map(|ls| {
                let mut g: Vec<ConceptId> = ls.iter().filter_map(|l| vocab.id_of(l)).collect();
                g.sort_unstable();
                g.dedup();
                g
            }));
            Ok(())
        })?;
        if docs.len() != self.meta.n_docs {
            return Err(ModelError::InvalidData(format!(
                "the corpus gave {} documents on this pass and {} when the model was trained",
                docs.len(),
                self.meta.n_docs
            )));
        }
        let report = lexical.fit(&docs, &gold, &params).map_err(lexical_error)?;
        // Which labels each calibration document's fold model learned: those with a training example outside
        // its fold. Positives per (fold, label); documents outside every calibration fold (the training side of
        // a single held-out slice) count under u32::MAX.
        let trained = self.classifier.trained();
        let n_labels = self.labels.len();
        let mut fold_of_doc = vec![u32::MAX; docs.len()];
        for (&d, &f) in oof.docs.iter().zip(&oof.fold) {
            fold_of_doc[d as usize] = f;
        }
        let mut fold_keys: Vec<u32> = fold_of_doc.clone();
        fold_keys.sort_unstable();
        fold_keys.dedup();
        let mut positives = vec![vec![0u32; n_labels]; fold_keys.len()];
        let mut total = vec![0u32; n_labels];
        for (d, g) in gold.iter().enumerate() {
            let key = fold_keys.binary_search(&fold_of_doc[d]).unwrap_or(0);
            for l in g.iter().filter_map(|c| concepts.label_of_concept.get(c)) {
                positives[key][*l as usize] += 1;
                total[*l as usize] += 1;
            }
        }
        let mut rows: Vec<StackRow> = Vec::new();
        let mut subjects_per_doc = Vec::with_capacity(oof.docs.len());
        for (k, &d) in oof.docs.iter().enumerate() {
            let (cands, g) = (&docs[d as usize], &gold[d as usize]);
            subjects_per_doc.push(g.len());
            let key = fold_keys.binary_search(&fold_of_doc[d as usize]).unwrap_or(0);
            let known = |l: u32| ec.linear && trained[l as usize] && total[l as usize] > positives[key][l as usize];
            let linear_top: Vec<(u32, f32)> = oof.top[k].iter().copied().filter(|&(l, _)| known(l)).collect();
            let scores = lexical.score_training(cands, g);
            let lex: Vec<(ConceptId, f32)> = cands.candidates.iter().map(|c| c.concept).zip(scores).collect();
            let linear_candidates = if ec.linear { ec.linear_candidates } else { 0 };
            for input in stack_inputs(concepts, &known, &linear_top, &lex, linear_candidates) {
                rows.push(StackRow {
                    doc: k as u32,
                    features: input.features,
                    positive: g.binary_search(&input.concept).is_ok(),
                });
            }
        }
        Ensemble::fit(lexical, report, &rows, &subjects_per_doc, ec)
    }

    /// Vectorize `text` into `idx`/`val` and, with an ensemble, find its lexical candidates from the same tokens
    /// when the lexical backend tokenizes as the vectorizer does (it is built so; checked, since a stored
    /// model could say otherwise), else by tokenizing again. When the features are the tokens themselves, each
    /// distinct word's token, column and lexical id come from the thread's memo (see [`crate::words`]).
    pub(crate) fn vectorize_and_match(
        &self,
        text: &str,
        cols: &mut Vec<u32>,
        idx: &mut Vec<u32>,
        val: &mut Vec<f32>,
    ) -> Option<DocCandidates> {
        let tokenizer = self.vectorizer.tokenizer();
        let index = self
            .ensemble
            .as_ref()
            .map(|e| e.lexical.index())
            .filter(|index| index.tokenizer().config() == tokenizer.config());
        if !self.vectorizer.features_are_tokens() {
            let Some(e) = &self.ensemble else {
                self.vectorizer.transform_into(text, cols, idx, val);
                return None;
            };
            let Some(index) = index else {
                self.vectorizer.transform_into(text, cols, idx, val);
                return Some(e.lexical.candidates(text));
            };
            let mut matcher = index.matcher(text);
            self.vectorizer.transform_into_observed(text, cols, idx, val, |t, s, end| matcher.token(t, s, end));
            return Some(e.lexical.candidates_of(matcher.finish()));
        }
        cols.clear();
        let mut matcher = index.map(|index| index.matcher(text));
        let lexical_of_column = index.and_then(|index| self.lexical_table(index));
        crate::words::with_memo(&self.memo, |memo| {
            tokenizer.for_each_word(text, |word, start, end| {
                let w = memo.get(word, |word| match tokenizer.filter_uncached(word) {
                    None => crate::words::Word::DROPPED,
                    Some(tok) => {
                        let column = self.vectorizer.column(&tok);
                        let lexical = match (column, lexical_of_column) {
                            (Some(c), Some(table)) => table.get(c as usize).copied(),
                            _ => index.and_then(|i| i.token_id(&tok)),
                        };
                        crate::words::Word {
                            kept: true,
                            column: column.unwrap_or(u32::MAX),
                            lexical: lexical.unwrap_or(u32::MAX),
                        }
                    }
                });
                if !w.kept {
                    return;
                }
                if let Some(c) = w.column() {
                    cols.push(c);
                }
                if let Some(m) = &mut matcher {
                    m.token_id(w.lexical(), start, end);
                }
            });
        });
        self.vectorizer.weigh_columns(cols, idx, val);
        let e = self.ensemble.as_ref()?;
        Some(match matcher {
            Some(m) => e.lexical.candidates_of(m.finish()),
            None => e.lexical.candidates(text),
        })
    }

    /// The lexical index's id of each feature column's term (`u32::MAX`: no label has it), when the features are
    /// tokens with terms (not hashed) and the lexical backend reads the vectorizer's tokens; built once per
    /// model (see [`crate::words::MemoId`]).
    pub(crate) fn lexical_of_columns(&self) -> Option<&[u32]> {
        let index = self.ensemble.as_ref()?.lexical.index();
        let fed =
            self.vectorizer.features_are_tokens() && index.tokenizer().config() == self.vectorizer.tokenizer().config();
        if fed { self.lexical_table(index) } else { None }
    }

    /// [`lexical_of_columns`](Self::lexical_of_columns) for a caller that has checked that `index` reads the
    /// vectorizer's tokens and that the features are tokens (`None` when they are hashed: a column has no term).
    fn lexical_table(&self, index: &tagger_lexical::LabelIndex) -> Option<&[u32]> {
        if self.vectorizer.state().config.hashing_bits.is_some() {
            return None;
        }
        let n = self.vectorizer.n_features();
        Some(self.memo.lexical_of_columns(n, |c| self.vectorizer.term(c).and_then(|t| index.token_id(t))))
    }

    /// The ensemble, if the model has one.
    pub fn ensemble(&self) -> Option<&Ensemble> {
        self.ensemble.as_ref()
    }

    /// Every concept the ensemble scores for a text whose linear decision values are `raw` and lexical
    /// candidates `cands`, best first (ties by id).
    pub(crate) fn fused(&self, e: &Ensemble, raw: &[f32], cands: &DocCandidates) -> Vec<Fused> {
        let Some(concepts) = &self.concepts else { return Vec::new() };
        let trained = self.classifier.trained();
        let n_labels = self.labels.len() as u32;
        // The linear model's best labels, as training saw them (out-of-fold lists of OOF_TOP); none when the
        // ensemble leaves the linear model out.
        let linear = e.linear_candidates > 0;
        let linear_top = if linear { self.classifier.best_probabilities(raw, OOF_TOP) } else { Vec::new() };
        let scores = e.lexical.score(cands);
        let lex: Vec<(ConceptId, f32)> = cands.candidates.iter().map(|c| c.concept).zip(scores).collect();
        let known = |l: u32| linear && trained[l as usize];
        let mut out: Vec<Fused> = stack_inputs(concepts, &known, &linear_top, &lex, e.linear_candidates)
            .into_iter()
            .map(|input| Fused {
                id: input.label.unwrap_or(n_labels + input.concept),
                score: e.fuse(&input.features),
                lexical: input.candidate.map(|i| (lex[i].1, i)),
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        out
    }

    /// Apply a decision to fused scores (best first): the model's rule keeps what reaches the ensemble's
    /// threshold (and the floor), at most its tag cap (and the rule's top-k), at least the best one.
    pub(crate) fn decide_fused(&self, e: &Ensemble, fused: &[Fused], decision: Decision) -> Vec<(u32, f32)> {
        let rule = &self.classifier.rule;
        match decision {
            Decision::TopK { k, min_score } => fused
                .iter()
                .take(k)
                .filter(|f| min_score.is_none_or(|m| f.score >= m))
                .map(|f| (f.id, f.score))
                .collect(),
            Decision::ModelRule | Decision::MinScore(_) => {
                let floor = match decision {
                    Decision::MinScore(m) => m,
                    _ => rule.min_score,
                };
                let cap = if rule.top_k > 0 { rule.top_k.min(e.max_tags) } else { e.max_tags };
                let mut out: Vec<(u32, f32)> = fused
                    .iter()
                    .take_while(|f| f.score >= e.threshold && f.score >= floor)
                    .take(cap)
                    .map(|f| (f.id, f.score))
                    .collect();
                if out.is_empty()
                    && rule.at_least_one
                    && let Some(best) = fused.first().filter(|f| f.score >= floor)
                {
                    out.push((best.id, best.score));
                }
                out
            }
        }
    }
}

fn lexical_error(e: tagger_lexical::LexicalError) -> ModelError {
    ModelError::InvalidData(format!("lexical backend: {e}"))
}
