//! `tagger-model`: a one-vs-rest multi-label linear classifier built as a linfa algorithm, its calibration and
//! decision rule, evaluation metrics, and the model artifact that carries the whole pipeline.
//!
//! * [`ValidOvrParams`] / [`OvrParams`]: checked hyper-parameters (linfa's `ParamGuard`); `ValidOvrParams`
//!   implements `linfa::traits::Fit` on a [`MultiLabelDataset`] of sparse TF-IDF rows ([`SparseRecords`]) and
//!   label sets ([`LabelSets`]); the fitted [`OvrModel`] implements `PredictInplace`, so
//!   `model.predict(&dataset)` gives a samples × labels matrix of probabilities.
//! * The solver is dual coordinate descent (liblinear's algorithm) for squared-hinge SVM or logistic
//!   regression, one binary problem per label, labels in parallel, deterministic for a seed.
//! * Held-out folds give each label a Platt calibration and an F1-optimal threshold (SCut).
//! * [`TaggerModel`] = tokenizer + vectorizer + classifier + labels + metadata; it trains, tags, explains,
//!   and saves/loads itself as one checksummed file.
//! * [`shard`]: label-sharded training — shards fit blocks of labels, a merge assembles the same model.
//! * [`cross_validate`] measures a whole training configuration on outer folds of the training data.

mod artifact;
mod calibrate;
mod concepts;
mod crossval;
mod data;
mod ensemble;
mod error;
mod learn;
pub mod metrics;
mod ovr;
mod params;
mod pilot;
pub mod shard;
mod solver;
mod tagger;
mod words;

pub use artifact::{FORMAT_VERSION, write_atomic};
pub use calibrate::{Platt, f1_threshold, micro_f1_thresholds};
pub use concepts::resolve_subjects;
pub use crossval::{CrossValidation, assign_folds, cross_validate};
pub use data::{LabelSets, MultiLabelDataset, SparseRecords, dataset, records_dataset};
pub use ensemble::{Ensemble, EnsembleConfig, EnsembleReport};
pub use error::ModelError;
pub use learn::{LearnRecord, replay_sample};
pub use ovr::{BlockFits, CvReport, Decision, DecisionRule, OOF_TOP, OutOfFold, OvrModel};
pub use params::{OvrParams, ThresholdObjective, ValidOvrParams};
pub use pilot::{FeatureTrial, PilotConfig};
pub use shard::{LabelShard, MergedShards, TrainStep, Trained, assign_blocks};
pub use solver::Loss;
pub use tagger::{
    BatchSink, CJK_MIN_DF_CANDIDATES, CorpusProfile, FeatureArm, InMemory, MinDfTrial, ResolvedConfig, Stage, Stemming,
    TRAIN_BATCH, Tag, TagExplanation, TaggerModel, TermEvidence, TrainConfig, TrainingMeta, TrainingSource,
    VOCABULARY_FOLD_TOL_SCALE, profile,
};
pub use tagger_lexical::{LexicalParams, LexicalReport};
