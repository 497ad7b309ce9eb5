//! Hyper-parameters in linfa's checked-parameter shape: `OvrParams` (unchecked, builder methods) →
//! `check()` → `ValidOvrParams`, which implements `Fit`.

use crate::ModelError;
use crate::solver::Loss;
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};

/// What the per-label thresholds are tuned for on the held-out scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdObjective {
    /// Each label's own F1 (SCut with the `fbr` floor): favours macro-F1, i.e. rare labels.
    LabelF1,
    /// The corpus-wide micro-F1: every label's threshold is moved, in turn, to the cut that maximises micro-F1
    /// given the others (coordinate ascent from the SCut start, two passes).
    MicroF1,
}

/// Checked hyper-parameters of the one-vs-rest classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidOvrParams {
    /// Loss of each binary problem.
    pub loss: Loss,
    /// Inverse regularisation strength (as in liblinear / scikit-learn).
    pub c: f32,
    /// Multiplier of `c` for positive examples (> 1 favours recall of rare labels).
    pub positive_weight: f32,
    /// Value of the constant bias feature (0 disables the bias).
    pub bias: f32,
    /// Stopping tolerance of the dual solver (liblinear's `eps`).
    pub tol: f32,
    /// Maximum passes over the data per binary problem.
    pub max_iter: usize,
    /// Seed of the coordinate order and of the fold split.
    pub seed: u64,
    /// Folds used to produce held-out scores for calibration and thresholds (0 or 1: no tuning; probabilities
    /// are then the logistic of the raw score and every threshold is 0.5).
    pub cv_folds: usize,
    /// Weights with absolute value below this are dropped from the stored model (and from the fold fits whose
    /// held-out scores calibrate it). 0.08 keeps half the weights 0.03 kept on `kirjastonhoitaja` (0.63 M of
    /// 1.25 M, a fifth of 0.01's; model 11.6 → 7.8 MB) and a fifth of those a document's words touch (10k of
    /// 49k), at no cost in 5-fold `tagger cv` on the training sets: 0.03 → 0.08 → 0.12 → 0.16 gave micro-F1
    /// kirjastonhoitaja 0.4260 → 0.4251 → 0.4257 → 0.4225 (nDCG@5 0.5044 → 0.5040 → 0.5045 → 0.5011), makupalat
    /// 0.4455 → 0.4460 → 0.4466, Reuters 0.9103 → 0.9106 → 0.9095, CAIL2019 0.8134 → 0.8152 → 0.8224; 0.08 sits
    /// in the middle of that plateau (0.01 → 0.03 had been flat too).
    pub prune_below: f32,
    /// SCutFBR: a label whose best held-out F1 stays below this gets a threshold above every held-out score,
    /// so it is only chosen by the "at least one tag" rule (stops rare labels from being sprayed).
    pub fbr: f32,
    /// With calibration folds: serve the average of the fold models instead of a model refitted on all
    /// documents. The held-out scores that set the thresholds come from fold models, so their average has the
    /// score distribution the thresholds were tuned for (a refit on all documents scores more confidently and
    /// lets more labels through); it also saves one fit per label.
    pub average_folds: bool,
    /// What the thresholds optimise on the held-out scores.
    pub thresholds: ThresholdObjective,
    /// Above this many training documents (0 = never), calibration and thresholds come from one held-out slice
    /// of `min(holdout_docs, documents / 10)` documents instead of `cv_folds` folds, and the served model is
    /// the one fitted on the other documents: one fit per label instead of `cv_folds + 1`, for the price of
    /// at most a tenth of the training data. At that size the slice holds enough examples to set thresholds.
    pub holdout_above: usize,
    /// Size cap of that held-out slice.
    pub holdout_docs: usize,
    /// When a fit's training documents hold more than this many negatives of a block of labels (documents with
    /// none of its labels; 0 = never), the block trains on its positives and a random sample of this many
    /// negatives, each weighted to stand for the ones left out (same expected loss). Passes over the rows are
    /// where training time goes, so this bounds a block's cost on very large corpora while keeping every
    /// positive. Measured on a synthetic corpus of 100,000 documents and 5,000 labels (`tagger synth --seed 7`),
    /// a cap of 20,000 of the ~90,000 negatives (the share 200,000 is of a million documents): classifier 674 →
    /// 246 s, micro-F1 on 5,000 other documents 0.6823 → 0.6799, macro-F1 0.3497 → 0.3477.
    pub max_negatives: usize,
    /// The calibration folds' fits stop at `tol` times this (≥ 1); `None`: 3 for a model trained with a
    /// vocabulary ([`crate::TrainConfig::for_vocabulary`]: thousands of labels, where the fold fits are most of the
    /// training time), 1 otherwise. The fold fits score the held-out documents whose scores set the
    /// calibration, the thresholds and the ensemble's stacker, and with `average_folds` their average is the
    /// served model; the fit on every document keeps `tol`. Measured with the vocabulary corpora's default
    /// configuration (the ensemble, which serves the folds' average), 3 against 1: `kirjastonhoitaja`
    /// classifier 20.0, 20.5, 16.8 → 17.1, 14.8, 14.4 s (alternated runs); 5-fold `tagger cv` micro-F1 0.4247 →
    /// 0.4260, nDCG@5 0.5038 → 0.5044, P@1 0.6461 → 0.6472, macro-F1 0.3212 → 0.3226; `makupalat` micro-F1
    /// 0.4450 → 0.4455, nDCG@5 0.5683 → 0.5678, P@1 0.4739 → 0.4734. On Reuters and CAIL2019
    /// (no vocabulary, seconds of training) 5-fold micro-F1 moved 0.9103 → 0.9097 and 0.8134 → 0.8122, so
    /// they keep 1.
    pub fold_tol_scale: Option<f32>,
}

impl Default for ValidOvrParams {
    fn default() -> Self {
        Self {
            loss: Loss::SquaredHinge,
            c: 1.0,
            positive_weight: 1.0,
            bias: 1.0,
            tol: 0.1,
            max_iter: 1000,
            seed: 42,
            cv_folds: 5,
            prune_below: 0.08,
            fbr: 0.2,
            average_folds: false,
            thresholds: ThresholdObjective::MicroF1,
            holdout_above: 50_000,
            holdout_docs: 20_000,
            max_negatives: 200_000,
            fold_tol_scale: None,
        }
    }
}

/// Unchecked hyper-parameters; call [`ParamGuard::check`] to validate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OvrParams(pub(crate) ValidOvrParams);

impl ValidOvrParams {
    /// Start building parameters from the defaults.
    #[allow(clippy::new_ret_no_self, reason = "linfa's convention: ValidParams::new() returns the unchecked Params")]
    pub fn new() -> OvrParams {
        OvrParams::default()
    }
}

impl OvrParams {
    /// Wrap parameters for checking.
    pub fn from_valid(p: ValidOvrParams) -> Self {
        OvrParams(p)
    }
    /// Set the loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }
    /// Set C.
    pub fn c(mut self, c: f32) -> Self {
        self.0.c = c;
        self
    }
    /// Set the positive-example weight.
    pub fn positive_weight(mut self, w: f32) -> Self {
        self.0.positive_weight = w;
        self
    }
    /// Set the bias feature value.
    pub fn bias(mut self, b: f32) -> Self {
        self.0.bias = b;
        self
    }
    /// Set the solver tolerance.
    pub fn tol(mut self, tol: f32) -> Self {
        self.0.tol = tol;
        self
    }
    /// Set the maximum iterations.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
    /// Set the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// Set the number of calibration folds.
    pub fn cv_folds(mut self, k: usize) -> Self {
        self.0.cv_folds = k;
        self
    }
    /// Calibrate on one held-out slice of at most `docs` documents above `above` training documents (0 = never).
    pub fn holdout(mut self, above: usize, docs: usize) -> Self {
        self.0.holdout_above = above;
        self.0.holdout_docs = docs;
        self
    }
    /// Set the SCutFBR floor.
    pub fn fbr(mut self, fbr: f32) -> Self {
        self.0.fbr = fbr;
        self
    }
    /// Set the pruning threshold.
    pub fn prune_below(mut self, p: f32) -> Self {
        self.0.prune_below = p;
        self
    }
    /// Set how much earlier the calibration folds' fits stop (see [`ValidOvrParams::fold_tol_scale`]).
    pub fn fold_tol_scale(mut self, s: f32) -> Self {
        self.0.fold_tol_scale = Some(s);
        self
    }
}

impl ParamGuard for OvrParams {
    type Checked = ValidOvrParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&ValidOvrParams, ModelError> {
        let p = &self.0;
        let bad = |m: String| Err(ModelError::InvalidParams(m));
        if !(p.c.is_finite() && p.c > 0.0) {
            return bad(format!("c must be positive and finite, not {}", p.c));
        }
        if !(p.positive_weight.is_finite() && p.positive_weight > 0.0) {
            return bad(format!("positive_weight must be positive and finite, not {}", p.positive_weight));
        }
        if !(p.bias.is_finite() && p.bias >= 0.0) {
            return bad(format!("bias must be finite and non-negative, not {}", p.bias));
        }
        if !(p.tol.is_finite() && p.tol > 0.0) {
            return bad(format!("tol must be positive, not {}", p.tol));
        }
        if p.max_iter == 0 {
            return bad("max_iter must be at least 1".into());
        }
        if p.cv_folds > 20 {
            return bad(format!("cv_folds must be at most 20, not {}", p.cv_folds));
        }
        if !(0.0..=1.0).contains(&p.fbr) {
            return bad(format!("fbr must be in [0, 1], not {}", p.fbr));
        }
        if p.holdout_above > 0 && p.holdout_docs == 0 {
            return bad("holdout_docs must be at least 1 when holdout_above is set".into());
        }
        if let Some(s) = p.fold_tol_scale.filter(|s| !(s.is_finite() && *s >= 1.0)) {
            return bad(format!("fold_tol_scale must be at least 1, not {s}"));
        }
        if !(p.prune_below.is_finite() && p.prune_below >= 0.0) {
            return bad(format!("prune_below must be non-negative, not {}", p.prune_below));
        }
        Ok(p)
    }

    fn check(self) -> Result<ValidOvrParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// How a model file stores its hyper-parameters (`OvrModel::params`): the fields of model format 5, without
/// `max_negatives` and `fold_tol_scale`, which came later. The payload is encoded by field position (postcard), so a
/// new field would make every stored model unreadable; a loaded model reports their defaults (they only shape
/// training, never tagging).
pub(crate) mod stored {
    use super::{Loss, ThresholdObjective, ValidOvrParams};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Format 5's fields, named once: the stored struct, and both conversions (the destructuring in `serialize`
    /// lists every field of `ValidOvrParams`, so a new one fails to compile until it is stored or left out).
    macro_rules! format5 {
        ($($field:ident: $ty:ty),* $(,)?) => {
            #[derive(Serialize, Deserialize)]
            struct Format5 {
                $($field: $ty),*
            }

            pub(crate) fn serialize<S: Serializer>(p: &ValidOvrParams, s: S) -> Result<S::Ok, S::Error> {
                let &ValidOvrParams { $($field,)* max_negatives: _, fold_tol_scale: _ } = p;
                Format5 { $($field),* }.serialize(s)
            }

            pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ValidOvrParams, D::Error> {
                let Format5 { $($field),* } = Format5::deserialize(d)?;
                Ok(ValidOvrParams { $($field,)* ..ValidOvrParams::default() })
            }
        };
    }

    format5! {
        loss: Loss,
        c: f32,
        positive_weight: f32,
        bias: f32,
        tol: f32,
        max_iter: usize,
        seed: u64,
        cv_folds: usize,
        prune_below: f32,
        fbr: f32,
        average_folds: bool,
        thresholds: ThresholdObjective,
        holdout_above: usize,
        holdout_docs: usize,
    }
}
