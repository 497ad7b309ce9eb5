//! The whole trained pipeline — tokenizer, vectorizer, classifier, label names, metadata — and its use:
//! training from texts, tagging, explaining.

use crate::ModelError;
use crate::data::{LabelSets, MultiLabelDataset, SparseRecords, records_dataset};
use crate::ensemble::{Ensemble, EnsembleConfig};
use crate::ovr::{CvReport, Decision, DecisionRule, OvrModel};
use crate::params::{OvrParams, ValidOvrParams};
use crate::pilot::{FeatureTrial, PilotConfig, Reservoir};
use crate::shard::{LabelShard, TrainStep, Trained, assign_blocks};
use linfa::ParamGuard;
use linfa::traits::Fit;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tagger_features::{CsrMatrix, DfCounter, Vectorizer, VectorizerConfig};
use tagger_lexical::DocCandidates;
use tagger_tokenize::{Filter, LanguageVote, ScriptStats, Segmenter, TokenizerConfig};

/// Everything `tagger train` can be told. Every field is optional in the JSON file; what is left out is chosen
/// from the corpus (see [`TrainConfig::resolve`]) and the resolved values are recorded in the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Tokenizer pipeline (default: automatic segmentation per document, and Snowball stemming as
    /// [`TrainConfig::stemming`] says).
    pub tokenizer: Option<TokenizerConfig>,
    /// Language of the documents (BCP 47, e.g. `fi`), which selects the stemmer. `None` = detected from the
    /// training documents (see [`CorpusProfile::language`]).
    pub language: Option<String>,
    /// Whether the default tokenizer stems words (ignored when `tokenizer` is given).
    pub stemming: Stemming,
    /// Vocabulary and weighting (default: chosen from the detected script).
    pub features: Option<VectorizerConfig>,
    /// Classifier hyper-parameters.
    pub classifier: ValidOvrParams,
    /// Decision rule stored in the model.
    pub decision: DecisionRule,
    /// `min_df` values compared on the calibration folds, in increasing order: the classifier is fitted on the
    /// features of each and the one with the best held-out micro-F1 is kept (ties: the smaller; the search stops
    /// at the first value that does worse than the best so far). `None` = chosen from the corpus:
    /// [`CJK_MIN_DF_CANDIDATES`] when the features are the automatic Chinese ones (character n-grams, whose rare
    /// members are mostly noise in a small corpus), none otherwise. Needs calibration folds (not the single
    /// held-out slice of large corpora); ignored in hashing mode.
    pub min_df_candidates: Option<Vec<u32>>,
    /// How the feature set of Chinese text is chosen when `features` is not given: the plain words, or the words
    /// plus Han character 2–3-grams when a pilot on the training documents shows they pay for their cost.
    pub pilot: PilotConfig,
    /// Backends beside the linear model, for models trained with a vocabulary (see [`EnsembleConfig`]).
    pub ensemble: EnsembleConfig,
}

/// The `min_df` values tried for Chinese text when neither the features nor the candidates are configured.
/// Outer 5-fold cross-validation on CAIL2019 train (3 fold seeds, `tagger cv`): held-out micro-F1 0.800 at
/// `min_df` 2, 0.808 at 4, 0.813 at 8, 0.813 at 16, 0.810 at 24; on Reuters (words) `min_df` changed nothing.
pub const CJK_MIN_DF_CANDIDATES: [u32; 4] = [2, 4, 8, 16];

/// One `min_df` value tried during training, and what the calibration folds said of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinDfTrial {
    /// The value tried.
    pub min_df: u32,
    /// Vocabulary size with it.
    pub features: usize,
    /// Held-out micro-F1 of the classifier on those features (thresholds tuned on the same held-out scores:
    /// `CvReport::tuned_micro_f1`).
    pub micro_f1: f64,
}

/// A feature set the pilot compares: its configuration and the `min_df` values training would search for it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureArm {
    /// Short name recorded in the model (`words`, `words+chars`).
    pub name: &'static str,
    /// The features.
    pub features: VectorizerConfig,
    /// `min_df` values compared for it (see [`TrainConfig::min_df_candidates`]).
    pub min_df_candidates: Vec<u32>,
}

/// When the default tokenizer reduces words to their Snowball stems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stemming {
    /// Stem alphabetic text whose language (configured or detected) is inflected and has a Snowball stemmer:
    /// every stemmer language but English. Measured by 5-fold `tagger cv` on training sets: on
    /// `kirjastonhoitaja` (Finnish) stemming raised micro-F1 from 0.278 to 0.307 and nDCG@5 from 0.335 to
    /// 0.384; on Reuters (English) it lowered micro-F1 from 0.910 to 0.908 and cost 60% more time.
    #[default]
    Auto,
    /// Stem (English too); training fails when the language is unknown or has no stemmer.
    On,
    /// Never stem.
    Off,
}

/// What was detected about the training corpus, and the defaults it led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusProfile {
    /// Segmenter the corpus as a whole calls for (`words`, `whitespace` = pre-segmented Chinese, `jieba`).
    pub script: Segmenter,
    /// Han characters seen.
    pub han_chars: usize,
    /// Non-space characters seen.
    pub non_space_chars: usize,
    /// Language of alphabetic text, when one language holds most of the documents (ISO 639-1 where it has a
    /// code; detected on the same documents, by `tagger_tokenize::LanguageVote`). Not detected for Chinese.
    #[serde(default)]
    pub language: Option<String>,
}

/// `fold_tol_scale` of a model trained with a vocabulary, unless the configuration sets one (see
/// [`ValidOvrParams::fold_tol_scale`]).
pub const VOCABULARY_FOLD_TOL_SCALE: f32 = 3.0;

impl TrainConfig {
    /// The configuration for a corpus whose subjects come from a vocabulary: the same, with the linear model
    /// served as the average of its fold models when the ensemble may use it ([`EnsembleConfig::average_folds`]),
    /// and fold fits that stop at [`VOCABULARY_FOLD_TOL_SCALE`] times the tolerance unless set.
    #[must_use]
    pub fn for_vocabulary(&self) -> TrainConfig {
        let mut config = self.clone();
        if config.ensemble.lexical != Some(false) && config.ensemble.average_folds {
            config.classifier.average_folds = true;
        }
        config.classifier.fold_tol_scale.get_or_insert(VOCABULARY_FOLD_TOL_SCALE);
        config
    }

    /// Fill the unset parts from the corpus profile. The tokenizer stays on automatic segmentation (each
    /// document is checked on its own, so a model trained on segmented text still tags unsegmented input); the
    /// feature settings depend on the script: plain words (see [`TrainConfig::feature_arms`] for when Chinese
    /// text gets more).
    pub fn resolve(&self, profile: &CorpusProfile) -> Result<(TokenizerConfig, VectorizerConfig), ModelError> {
        let tokenizer = match &self.tokenizer {
            Some(t) => t.clone(),
            None => {
                let mut t = TokenizerConfig::default();
                if let Some(language) = self.stem_language(profile)? {
                    // Before the length limit, so that the limit applies to what is indexed.
                    let at =
                        t.filters.iter().position(|f| matches!(f, Filter::Length { .. })).unwrap_or(t.filters.len());
                    t.filters.insert(at, Filter::Stem { language });
                }
                t
            }
        };
        let features = self.features.clone().unwrap_or_else(|| Self::words(profile));
        Ok((tokenizer, features))
    }

    /// The language the default tokenizer stems for, if any (see [`Stemming`]). Chinese is never stemmed.
    pub fn stem_language(&self, profile: &CorpusProfile) -> Result<Option<String>, ModelError> {
        let language = self.language.as_ref().or(profile.language.as_ref());
        match self.stemming {
            Stemming::Off => Ok(None),
            Stemming::Auto => Ok(language
                .filter(|l| {
                    profile.script == Segmenter::Words
                        && tagger_tokenize::has_stemmer(l)
                        && tagger_tokenize::primary_language(l).as_deref() != Some("en")
                })
                .cloned()),
            Stemming::On => match language {
                Some(l) if tagger_tokenize::has_stemmer(l) => Ok(Some(l.clone())),
                Some(l) => Err(ModelError::InvalidParams(format!(
                    "stemming is on but there is no Snowball stemmer for language {l:?} (there are: {})",
                    tagger_tokenize::stemmer_languages().collect::<Vec<_>>().join(", ")
                ))),
                None => Err(ModelError::InvalidParams(
                    "stemming is on but the documents' language was not given and could not be detected".into(),
                )),
            },
        }
    }

    /// The plain-words features of a profile. Chosen by 5-fold cross-validation on training sets only (never on
    /// a test split), with the default decision rule: for English topic labels (Reuters) unigrams beat word
    /// bigrams (held-out micro-F1 0.910 vs 0.907); for Chinese, words seen in at least two documents (a word
    /// seen once cannot generalise, and there are many of them in long documents).
    fn words(profile: &CorpusProfile) -> VectorizerConfig {
        match profile.script {
            Segmenter::Words => VectorizerConfig { ngram_max: 1, min_df: 1, ..VectorizerConfig::default() },
            _ => VectorizerConfig { ngram_max: 1, min_df: 2, ..VectorizerConfig::default() },
        }
    }

    /// The feature sets the pilot compares, cheapest first (empty: no comparison, the resolved features are
    /// used). Only for Chinese text without configured features: the plain words, then the words plus Han
    /// character 2- and 3-grams. Character n-grams carry what a segmentation splits or joins differently
    /// (CAIL2019, unsegmented legal text: outer-CV micro-F1 0.804 with them against 0.788 without), but they
    /// multiply the vocabulary and every row's length (on 2,000 long pre-segmented documents: 392k features
    /// against 39k, training 39.7 s against 4.3 s), so they have to earn their place on the pilot.
    pub fn feature_arms(&self, profile: &CorpusProfile) -> Vec<FeatureArm> {
        if self.features.is_some() || !self.pilot.enabled || profile.script == Segmenter::Words {
            return Vec::new();
        }
        let words = Self::words(profile);
        let chars = VectorizerConfig { char_ngram_max: 3, ..words.clone() };
        let arm = |name, features: VectorizerConfig| FeatureArm {
            name,
            min_df_candidates: self.min_df_candidates_for(&features, true),
            features,
        };
        vec![arm("words", words), arm("words+chars", chars)]
    }

    /// The `min_df` values to compare for these resolved features (empty: no search), sorted, none below the
    /// configured `min_df`.
    pub fn min_df_candidates(&self, features: &VectorizerConfig) -> Vec<u32> {
        self.min_df_candidates_for(features, self.features.is_none())
    }

    fn min_df_candidates_for(&self, features: &VectorizerConfig, automatic: bool) -> Vec<u32> {
        if features.hashing_bits.is_some() || self.classifier.cv_folds < 2 {
            return Vec::new();
        }
        let auto_cjk = automatic && features.char_ngram_max > 0;
        let mut c: Vec<u32> = match &self.min_df_candidates {
            Some(c) => c.clone(),
            None if auto_cjk => CJK_MIN_DF_CANDIDATES.to_vec(),
            None => Vec::new(),
        };
        c.retain(|&m| m >= features.min_df);
        c.sort_unstable();
        c.dedup();
        if c.len() < 2 { Vec::new() } else { c }
    }
}

/// Facts recorded in the model about its training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TrainingMeta {
    /// Version of tagger that trained the model.
    pub tagger_version: String,
    /// Where the corpus came from (set by the caller).
    pub corpus: String,
    /// Training time, seconds since the Unix epoch (set by the caller; excluded from determinism checks).
    pub created_unix: u64,
    /// Training documents.
    pub n_docs: usize,
    /// Vocabulary size (feature columns).
    pub n_features: usize,
    /// Detected corpus profile.
    pub profile: Option<CorpusProfile>,
    /// The resolved configuration.
    pub config: Option<ResolvedConfig>,
    /// Held-out figures from the calibration folds.
    pub cv: Option<CvReport>,
    /// The feature sets compared on a pilot before training, if any (the chosen one is marked).
    pub feature_search: Vec<FeatureTrial>,
    /// The `min_df` values compared on the calibration folds, if any (the kept one is in `config.features`).
    pub min_df_search: Vec<MinDfTrial>,
    /// Wall time of training (feature extraction included), seconds (set by the caller).
    pub train_seconds: f64,
    /// The vocabulary files the subjects were resolved with, if any (set by the caller).
    pub vocabulary: Vec<String>,
    /// Why a model trained with a vocabulary has no ensemble although the configuration left it to the default.
    pub ensemble_skipped: Option<String>,
    /// What fitting the lexical backend and the ensemble measured, when the model has them (kept here only, in
    /// the JSON header that GetModel shows).
    pub ensemble: Option<crate::EnsembleReport>,
    /// Incremental learning steps since training (`tagger learn`), oldest first.
    pub learned: Vec<crate::LearnRecord>,
}

/// The configuration actually used, every choice made explicit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedConfig {
    /// Tokenizer.
    pub tokenizer: TokenizerConfig,
    /// Features.
    pub features: VectorizerConfig,
    /// Classifier.
    pub classifier: ValidOvrParams,
    /// Decision rule.
    pub decision: DecisionRule,
}

/// Training progress reported to the caller (the library never prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Counting terms.
    Vocabulary,
    /// Comparing feature sets on a pilot sample (then counting terms again if a costlier set won).
    Pilot,
    /// Building TF-IDF rows.
    Features,
    /// Fitting the classifier (with its calibration folds).
    Classifier,
}

/// Documents scored together by [`TaggerModel::tag_batch`]: enough to read a frequent word's weights once for
/// many documents, few enough that their score vectors stay in cache (16 × 4,000 labels × 4 bytes = 256 KB).
pub const TAG_CHUNK: usize = 16;

/// One chosen tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag<'a> {
    /// Label id (index into [`TaggerModel::labels`]).
    pub id: u32,
    /// Label name.
    pub label: &'a str,
    /// Calibrated probability.
    pub score: f32,
}

/// Why a tag was chosen: the terms that pushed its score up the most.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagExplanation {
    /// Label id (index into [`TaggerModel::labels`]).
    #[serde(skip)]
    pub id: u32,
    /// Label name.
    pub label: String,
    /// Calibrated probability.
    pub score: f32,
    /// Strongest positive evidence first.
    pub terms: Vec<TermEvidence>,
}

/// One term's contribution to a tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermEvidence {
    /// The term (a vocabulary entry; in hashing mode, the text of its first occurrence), or for the lexical
    /// backend `label match: ` and the words of the text that matched the concept's label.
    pub term: String,
    /// weight × feature value: its share of the linear model's raw score; for a label match, the lexical
    /// backend's probability.
    pub contribution: f32,
    /// Byte spans of its occurrences in the input text.
    pub spans: Vec<(usize, usize)>,
}

/// A trained tagger.
#[derive(Debug, Clone)]
pub struct TaggerModel {
    pub(crate) labels: Vec<String>,
    pub(crate) vectorizer: Vectorizer,
    pub(crate) classifier: OvrModel,
    /// The vocabulary the labels come from, if the model was trained with one.
    pub(crate) concepts: Option<crate::concepts::ModelConcepts>,
    /// The lexical backend and the fusion with the linear model, if trained.
    pub(crate) ensemble: Option<Ensemble>,
    /// Training metadata.
    pub meta: TrainingMeta,
    /// The identity of this model's per-thread word memos (see [`crate::words`]).
    pub(crate) memo: crate::words::MemoId,
}

/// Profile a corpus: its script statistics and, for alphabetic text, its language (on up to 2,000 evenly
/// spaced documents).
pub fn profile(texts: &[&str]) -> CorpusProfile {
    let step = texts.len().div_ceil(2000).max(1);
    let mut stats = ScriptStats::default();
    for t in texts.iter().step_by(step) {
        stats.add(ScriptStats::of(t));
    }
    let script = stats.segmenter();
    let language = (script == Segmenter::Words).then(|| {
        let mut vote = LanguageVote::default();
        texts.iter().step_by(step).for_each(|t| vote.add(t));
        vote.winner().map(|(code, _)| code)
    });
    CorpusProfile {
        script,
        han_chars: stats.han_chars,
        non_space_chars: stats.non_space_chars,
        language: language.flatten(),
    }
}

/// Documents per batch when training from memory (and the batch whose documents decide the corpus profile).
pub const TRAIN_BATCH: usize = 8192;

/// Receives one batch of a [`TrainingSource`]: texts and their label names (same lengths).
pub type BatchSink<'a> = dyn FnMut(&[&str], &[Vec<String>]) -> Result<(), ModelError> + 'a;

/// A training corpus delivered in consecutive batches, in the same order on every call. Training reads it twice
/// (the vocabulary, then the features), so a corpus on disk never has to be held in memory at once.
pub trait TrainingSource {
    /// Pass every document to `sink`, in batches: texts and their label names (same lengths). Errors of the
    /// source are returned as [`ModelError::Source`]; errors of `sink` are passed through.
    fn read(&self, sink: &mut BatchSink<'_>) -> Result<(), ModelError>;
}

/// Texts and their label lists, already in memory.
#[derive(Debug, Clone, Copy)]
pub struct InMemory<'a> {
    /// Texts.
    pub texts: &'a [&'a str],
    /// Label names of each text.
    pub labels: &'a [Vec<String>],
}

impl TrainingSource for InMemory<'_> {
    fn read(&self, sink: &mut BatchSink<'_>) -> Result<(), ModelError> {
        if self.texts.len() != self.labels.len() {
            return Err(ModelError::InvalidData(format!(
                "{} texts but {} label lists",
                self.texts.len(),
                self.labels.len()
            )));
        }
        for (t, l) in self.texts.chunks(TRAIN_BATCH).zip(self.labels.chunks(TRAIN_BATCH)) {
            sink(t, l)?;
        }
        Ok(())
    }
}

/// Fit the classifier on the features of each `min_df` candidate in increasing order (a prefix of the vocabulary,
/// see [`Vectorizer::restrict_min_df`]) and keep the first with the best held-out micro-F1. The search stops at
/// the first candidate that does worse than the best so far (held-out F1 rises to a plateau, then falls, as
/// `min_df` grows; the smallest candidates cost the most, so a corpus that gains nothing pays for two fits, not
/// all) and at one that leaves no feature.
pub(crate) fn fit_best_min_df(
    params: &ValidOvrParams,
    vectorizer: &Vectorizer,
    x: &CsrMatrix,
    sets: &[Vec<u32>],
    n_labels: usize,
    candidates: &[u32],
) -> Result<(Vectorizer, OvrModel, Vec<MinDfTrial>), ModelError> {
    let mut fit = |_: usize, ds: &MultiLabelDataset| params.fit(ds).map(Some);
    search_min_df(vectorizer, x, sets, n_labels, candidates, &mut fit)?
        .ok_or_else(|| ModelError::InvalidData("no min_df candidate leaves any feature".into()))
}

/// A classifier fit of training, numbered in the order training makes them: the model, or `None` when the fit
/// only solved a shard's labels (then nothing can be compared, and every candidate is fitted).
type FitStep<'a> = dyn FnMut(usize, &MultiLabelDataset) -> Result<Option<OvrModel>, ModelError> + 'a;

/// [`fit_best_min_df`] with the fits made by `fit`: `None` when they are a shard's (no model to choose).
fn search_min_df(
    vectorizer: &Vectorizer,
    x: &CsrMatrix,
    sets: &[Vec<u32>],
    n_labels: usize,
    candidates: &[u32],
    fit: &mut FitStep<'_>,
) -> Result<Option<(Vectorizer, OvrModel, Vec<MinDfTrial>)>, ModelError> {
    let mut best: Option<(f64, OvrModel, Vectorizer)> = None;
    let mut trials = Vec::new();
    for (k, &m) in candidates.iter().enumerate() {
        let (v, rows) = if m <= vectorizer.state().config.min_df {
            (vectorizer.clone(), x.clone())
        } else {
            match vectorizer.restrict_min_df(x, m) {
                Ok(r) => r,
                Err(tagger_features::FeatureError::EmptyVocabulary { .. }) => break,
                Err(e) => return Err(e.into()),
            }
        };
        let records = SparseRecords { rows, refit: Some(v.refitter()) };
        let Some(clf) = fit(k, &records_dataset(records, LabelSets::new(sets.to_vec(), n_labels)?)?)? else {
            continue;
        };
        // No held-out report (too few documents for the folds, or too many cells to keep): nothing to compare.
        let Some(score) = clf.cv.as_ref().map(|c| c.tuned_micro_f1) else {
            if best.is_none() {
                best = Some((f64::NEG_INFINITY, clf, v));
            }
            break;
        };
        trials.push(MinDfTrial { min_df: m, features: v.n_features(), micro_f1: score });
        match &best {
            Some(b) if score < b.0 => break,
            Some(b) if score == b.0 => {}
            _ => best = Some((score, clf, v)),
        }
    }
    Ok(best.map(|(_, clf, v)| (v, clf, trials)))
}

/// The first 12 hex digits of a digest, for messages.
fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

fn changed(first: usize, then: usize) -> ModelError {
    ModelError::Source(format!("the training corpus changed while it was read: {first} documents, then {then}"))
}

impl TaggerModel {
    /// Train on texts and their label names. Labels are numbered in sorted order; documents may have no labels.
    pub fn train(
        texts: &[&str],
        labels: &[Vec<String>],
        config: &TrainConfig,
        progress: &(dyn Fn(Stage) + Sync),
    ) -> Result<TaggerModel, ModelError> {
        Self::train_from(&InMemory { texts, labels }, config, progress)
    }

    /// Train from a source read twice in batches (see [`TrainingSource`]): memory holds the label sets and the
    /// feature rows, never the texts. The corpus profile (script, hence feature defaults) comes from the first
    /// batch.
    pub fn train_from(
        source: &dyn TrainingSource,
        config: &TrainConfig,
        progress: &(dyn Fn(Stage) + Sync),
    ) -> Result<TaggerModel, ModelError> {
        match Self::train_step(source, config, progress, TrainStep::Whole)? {
            Trained::Model(m) => Ok(*m),
            Trained::Shard(_) => Err(ModelError::InvalidData("a whole training gave a shard".into())),
        }
    }

    /// Train as [`TaggerModel::train_from`] does, or one step of a label-sharded training (see [`crate::shard`]):
    /// only one shard's blocks of labels, or the model from every shard's fits — the same model, bit for bit, as
    /// one whole training on the same corpus and configuration. A merge refuses shards fitted on other documents
    /// or with another configuration.
    pub fn train_step(
        source: &dyn TrainingSource,
        config: &TrainConfig,
        progress: &(dyn Fn(Stage) + Sync),
        step: TrainStep,
    ) -> Result<Trained, ModelError> {
        let params = OvrParams::from_valid(config.classifier.clone()).check()?;
        if let TrainStep::Shard { index, count } = step
            && index >= count
        {
            return Err(ModelError::InvalidParams(format!(
                "shard {index} of {count}: the index must be below the count"
            )));
        }
        let config_json = serde_json::to_string(config)
            .map_err(|e| ModelError::InvalidData(format!("cannot encode the configuration: {e}")))?;
        let mut digest = Sha256::new();

        progress(Stage::Vocabulary);
        // The profile, its resolved configuration and feature sets to compare (decided by the first batch), and
        // the counter.
        let mut counting: Option<(CorpusProfile, TokenizerConfig, VectorizerConfig, Vec<FeatureArm>, DfCounter)> = None;
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut sets: Vec<Vec<u32>> = Vec::new();
        let mut sample = Reservoir::new(config.pilot.docs, params.seed);
        source.read(&mut |texts, labels| {
            if texts.len() != labels.len() {
                return Err(ModelError::InvalidData(format!("{} texts but {} label lists", texts.len(), labels.len())));
            }
            if counting.is_none() && !texts.is_empty() {
                let prof = profile(texts);
                let (tok_cfg, feat_cfg) = config.resolve(&prof)?;
                let counter = DfCounter::new(tok_cfg.clone(), feat_cfg.clone())?;
                let arms = config.feature_arms(&prof);
                counting = Some((prof, tok_cfg, feat_cfg, arms, counter));
            }
            if let Some((_, _, _, arms, counter)) = counting.as_mut() {
                counter.add_batch(texts);
                if !arms.is_empty() {
                    texts.iter().for_each(|t| sample.offer(t));
                }
            }
            for (t, ls) in texts.iter().zip(labels) {
                digest.update((t.len() as u64).to_le_bytes());
                digest.update(t.as_bytes());
                digest.update((ls.len() as u64).to_le_bytes());
                for l in ls {
                    digest.update((l.len() as u64).to_le_bytes());
                    digest.update(l.as_bytes());
                }
            }
            for ls in labels {
                let mut set = Vec::with_capacity(ls.len());
                for l in ls {
                    let next = seen.len() as u32;
                    set.push(*seen.entry(l.clone()).or_insert(next));
                }
                sets.push(set);
            }
            Ok(())
        })?;
        let Some((prof, tok_cfg, feat_cfg, arms, counter)) = counting else {
            return Err(ModelError::InvalidData("no training documents".into()));
        };
        let corpus_digest: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let shard = match step {
            TrainStep::Shard { index, count } => Some((index, count)),
            _ => None,
        };
        let mut merged = match step {
            TrainStep::Merge(m) => {
                if m.corpus_digest != corpus_digest {
                    return Err(ModelError::InvalidData(format!(
                        "the shards were fitted on other documents or labels (digest {}) than this corpus has ({})",
                        short(&m.corpus_digest),
                        short(&corpus_digest)
                    )));
                }
                if m.config != config_json {
                    return Err(ModelError::InvalidData(
                        "the shards were fitted with another training configuration".into(),
                    ));
                }
                Some(m.fits)
            }
            _ => None,
        };
        let mut shard_fits = Vec::new();

        // Number labels in sorted order of their names.
        let mut names: Vec<String> = seen.keys().cloned().collect();
        names.sort();
        let mut renumber = vec![0u32; names.len()];
        for (new, name) in names.iter().enumerate() {
            renumber[seen[name] as usize] = new as u32;
        }
        drop(seen);
        for s in &mut sets {
            for l in s.iter_mut() {
                *l = renumber[*l as usize];
            }
        }

        // Compare feature sets on the pilot sample; count the vocabulary again if a costlier one won.
        let mut feature_search = Vec::new();
        let (feat_cfg, vectorizer) = if arms.is_empty() || params.cv_folds < 2 {
            (feat_cfg, counter.finish()?)
        } else {
            progress(Stage::Pilot);
            let size = config.pilot.sample_size(sample.seen());
            let pilot = sample.take(size);
            let texts: Vec<&str> = pilot.iter().map(|(_, t)| t.as_str()).collect();
            let pilot_sets: Vec<Vec<u32>> = pilot.iter().map(|&(i, _)| sets[i].clone()).collect();
            let trials = crate::pilot::compare(&tok_cfg, &arms, &texts, &pilot_sets, &params, &config.pilot)?;
            // The chosen arm's own configuration: its `min_df` is searched again on the whole corpus.
            let chosen = trials
                .as_ref()
                .and_then(|t| t.iter().find(|t| t.chosen))
                .and_then(|t| arms.iter().find(|a| a.name == t.name))
                .map(|a| a.features.clone());
            feature_search = trials.unwrap_or_default();
            match chosen {
                Some(f) if f != feat_cfg => {
                    drop(counter);
                    let mut counter = DfCounter::new(tok_cfg.clone(), f.clone())?;
                    let mut docs = 0usize;
                    source.read(&mut |texts, _| {
                        counter.add_batch(texts);
                        docs += texts.len();
                        Ok(())
                    })?;
                    if docs != sets.len() {
                        return Err(changed(sets.len(), docs));
                    }
                    (f, counter.finish()?)
                }
                _ => (feat_cfg, counter.finish()?),
            }
        };

        progress(Stage::Features);
        let mut x = CsrMatrix::new(vectorizer.n_features());
        source.read(&mut |texts, _| {
            x.append(&vectorizer.transform_batch(texts));
            Ok(())
        })?;
        if x.n_rows() != sets.len() {
            return Err(changed(sets.len(), x.n_rows()));
        }
        let n_docs = sets.len();
        let n_labels = names.len();

        progress(Stage::Classifier);
        let mut candidates = config.min_df_candidates(&feat_cfg);
        if params.holdout_above > 0 && n_docs > params.holdout_above {
            // One held-out slice at this size: a search would multiply the cost of the largest fits.
            candidates.clear();
        }
        let mut feat_cfg = feat_cfg;
        // Each classifier fit: solved whole, one shard's blocks solved, or assembled from the shards' blocks.
        let mut fit = |k: usize, ds: &MultiLabelDataset| -> Result<Option<OvrModel>, ModelError> {
            if let Some((index, count)) = shard {
                let mine = assign_blocks(&params.block_positives(ds)?, n_docs, count).swap_remove(index);
                shard_fits.push(params.fit_blocks(ds, &mine)?);
                return Ok(None);
            }
            let Some(fits) = merged.as_mut() else {
                return params.fit(ds).map(Some);
            };
            let blocks = fits.get_mut(k).and_then(Option::take).ok_or_else(|| {
                ModelError::InvalidData(format!(
                    "the shards hold {} classifier fits, training needs fit {}",
                    fits.len(),
                    k + 1
                ))
            })?;
            params.fit_from_blocks(ds, blocks).map(Some)
        };
        let chosen = if candidates.is_empty() {
            let records = SparseRecords { rows: x, refit: Some(vectorizer.refitter()) };
            fit(0, &records_dataset(records, LabelSets::new(sets.clone(), n_labels)?)?)?
                .map(|clf| (vectorizer, clf, Vec::new()))
        } else {
            let found = search_min_df(&vectorizer, &x, &sets, n_labels, &candidates, &mut fit)?;
            if found.is_none() && shard.is_none() {
                return Err(ModelError::InvalidData("no min_df candidate leaves any feature".into()));
            }
            found
        };
        let Some((vectorizer, mut classifier, min_df_search)) = chosen else {
            let Some((index, count)) = shard else {
                return Err(ModelError::InvalidData("training fitted no classifier".into()));
            };
            return Ok(Trained::Shard(LabelShard {
                index: index as u32,
                count: count as u32,
                tagger_version: env!("CARGO_PKG_VERSION").to_owned(),
                corpus_digest,
                n_docs: n_docs as u64,
                config: config_json,
                recipe: String::new(),
                fits: shard_fits,
            }));
        };
        if !min_df_search.is_empty() {
            feat_cfg.min_df = vectorizer.state().config.min_df;
        }
        classifier.rule = config.decision;
        let meta = TrainingMeta {
            tagger_version: env!("CARGO_PKG_VERSION").to_owned(),
            n_docs,
            n_features: vectorizer.n_features(),
            profile: Some(prof),
            config: Some(ResolvedConfig {
                tokenizer: tok_cfg,
                features: feat_cfg,
                classifier: params,
                decision: config.decision,
            }),
            cv: classifier.cv.clone(),
            feature_search,
            min_df_search,
            ..TrainingMeta::default()
        };
        Ok(Trained::Model(Box::new(TaggerModel {
            labels: names,
            vectorizer,
            classifier,
            concepts: None,
            ensemble: None,
            meta,
            memo: crate::words::MemoId::fresh(),
        })))
    }

    /// Label names, by id.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The feature pipeline.
    pub fn vectorizer(&self) -> &Vectorizer {
        &self.vectorizer
    }

    /// The classifier.
    pub fn classifier(&self) -> &OvrModel {
        &self.classifier
    }

    /// Build now what tagging otherwise builds on first use (the classifier's scoring tables: a few
    /// milliseconds and up to twice the weights' memory at thesaurus scale; with the lexical backend, the
    /// label index's id of each feature column), so that the first documents are
    /// tagged as fast as the rest. Servers and the CLI's tagging commands call it after loading; a command that
    /// only reads or retrains a model need not.
    pub fn prepare(&self) {
        self.classifier.prepare();
        self.lexical_of_columns();
    }

    /// Probabilities of every label for one text.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
        self.vectorizer.transform_into(text, &mut cols, &mut idx, &mut val);
        let mut probs = vec![0.0; self.labels.len()];
        self.classifier.probabilities(tagger_features::SparseRow { indices: &idx, data: &val }, &mut probs);
        probs
    }

    /// Tags for one text, best first. A text of nothing but white space gets none (there is nothing to tag;
    /// the decision rule's "at least one tag" applies to documents with words), as the gRPC API documents.
    pub fn tag(&self, text: &str, decision: Decision) -> Vec<Tag<'_>> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
        let cands = self.vectorize_and_match(text, &mut cols, &mut idx, &mut val);
        if let (Some(e), Some(cands)) = (&self.ensemble, cands) {
            let mut raw = Vec::new();
            if e.linear_candidates > 0 {
                raw.resize(self.labels.len(), 0.0);
                self.classifier.decision_values(tagger_features::SparseRow { indices: &idx, data: &val }, &mut raw);
            }
            let fused = self.fused(e, &raw, &cands);
            return self.decide_fused(e, &fused, decision).into_iter().map(|t| self.named(t)).collect();
        }
        let mut scratch = Vec::new();
        self.classifier
            .tag_row(tagger_features::SparseRow { indices: &idx, data: &val }, decision, &mut scratch)
            .into_iter()
            .map(|t| self.named(t))
            .collect()
    }

    /// A chosen `(tag id, probability)` as a [`Tag`].
    fn named(&self, (id, score): (u32, f32)) -> Tag<'_> {
        Tag { id, label: self.tag_name(id), score }
    }

    /// Tags for many texts (in parallel, order kept): the same tags as [`tag`](Self::tag) on each, scored
    /// [`TAG_CHUNK`] documents at a time so that each weight row is read once per chunk.
    pub fn tag_batch(&self, texts: &[&str], decision: Decision) -> Vec<Vec<Tag<'_>>> {
        let mut out: Vec<Vec<Tag<'_>>> = texts
            .par_chunks(TAG_CHUNK)
            .flat_map_iter(|chunk| {
                let mut candidates = Vec::new();
                let rows: Vec<(Vec<u32>, Vec<f32>)> = chunk
                    .iter()
                    .map(|t| {
                        let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
                        candidates.extend(self.vectorize_and_match(t, &mut cols, &mut idx, &mut val));
                        (idx, val)
                    })
                    .collect();
                let views: Vec<tagger_features::SparseRow<'_>> =
                    rows.iter().map(|(i, v)| tagger_features::SparseRow { indices: i, data: v }).collect();
                if let Some(e) = &self.ensemble {
                    let tag = |raw: &[f32], cands: &DocCandidates| -> Vec<Tag<'_>> {
                        let fused = self.fused(e, raw, cands);
                        self.decide_fused(e, &fused, decision).into_iter().map(|t| self.named(t)).collect()
                    };
                    let tags: Vec<Vec<Tag<'_>>> = if e.linear_candidates == 0 {
                        // The lexical backend alone: the linear model is not consulted.
                        candidates.iter().map(|cands| tag(&[], cands)).collect()
                    } else {
                        self.classifier.map_decision_values(&views, |i, raw| {
                            candidates.get(i).map_or_else(Vec::new, |c| tag(raw, c))
                        })
                    };
                    return tags.into_iter();
                }
                let tags: Vec<Vec<Tag<'_>>> = self
                    .classifier
                    .tag_rows(&views, decision)
                    .into_iter()
                    .map(|tags| tags.into_iter().map(|t| self.named(t)).collect())
                    .collect();
                tags.into_iter()
            })
            .collect();
        for (tags, text) in out.iter_mut().zip(texts) {
            if text.trim().is_empty() {
                tags.clear();
            }
        }
        out
    }

    /// Tags with their evidence: for each chosen tag, up to `max_terms` terms with the largest positive
    /// contribution (weight × TF-IDF value), each with its byte spans in `text`.
    pub fn explain(&self, text: &str, decision: Decision, max_terms: usize) -> Vec<TagExplanation> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        let ex = self.vectorizer.explain(text);
        let mut probs = vec![0.0; self.labels.len()];
        let row = tagger_features::SparseRow { indices: &ex.indices, data: &ex.data };
        let cands = self.ensemble.as_ref().map(|e| e.lexical().candidates(text)).unwrap_or_default();
        let (chosen, fused) = match &self.ensemble {
            Some(e) => {
                self.classifier.decision_values(row, &mut probs);
                let fused = self.fused(e, &probs, &cands);
                (self.decide_fused(e, &fused, decision), fused)
            }
            None => {
                self.classifier.probabilities(row, &mut probs);
                (self.classifier.decide(&probs, decision), Vec::new())
            }
        };
        let n_labels = self.labels.len() as u32;
        chosen
            .into_iter()
            .map(|(l, score)| {
                // The lexical backend's evidence: the words of the text its labels matched.
                let lexical = fused.iter().find(|f| f.id == l).and_then(|f| f.lexical).map(|(p, i)| {
                    let spans = &cands.candidates[i].spans;
                    let words: Vec<&str> = spans.iter().filter_map(|&(s, e)| text.get(s..e)).collect();
                    TermEvidence {
                        term: format!("label match: {}", words.join(" ")),
                        contribution: p,
                        spans: spans.clone(),
                    }
                });
                if l >= n_labels {
                    let label = self.tag_name(l).to_owned();
                    return TagExplanation { id: l, label, score, terms: lexical.into_iter().collect() };
                }
                let mut terms: Vec<TermEvidence> = ex
                    .indices
                    .iter()
                    .enumerate()
                    .filter_map(|(k, &j)| {
                        let contribution = self.classifier.weight(j, l) * ex.data[k];
                        (contribution > 0.0).then(|| TermEvidence {
                            term: self.vectorizer.term(j).map_or_else(
                                || ex.spans[k].first().map_or(String::new(), |&(s, e)| text[s..e].to_owned()),
                                str::to_owned,
                            ),
                            contribution,
                            spans: ex.spans[k].clone(),
                        })
                    })
                    .collect();
                terms.sort_by(|a, b| b.contribution.total_cmp(&a.contribution).then_with(|| a.term.cmp(&b.term)));
                terms.truncate(max_terms);
                terms.extend(lexical);
                TagExplanation { id: l, label: self.labels[l as usize].clone(), score, terms }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem_of(config: &TrainConfig, texts: &[&str]) -> Result<Option<String>, ModelError> {
        let (tokenizer, _) = config.resolve(&profile(texts))?;
        Ok(tokenizer.filters.iter().find_map(|f| match f {
            Filter::Stem { language } => Some(language.clone()),
            _ => None,
        }))
    }

    #[test]
    fn stemming_follows_the_documents_language() {
        let fi = ["Kirjastossa on paljon kirjoja ja lehtiä, joita voi lainata kotiin kolmeksi viikoksi."; 3];
        let en = ["The library has many books and magazines that can be borrowed for three weeks."; 3];
        let zh = ["图书馆 有 很多 书 和 杂志 可以 借 三个 星期"; 3];
        let auto = TrainConfig::default();
        assert_eq!(profile(&fi).language.as_deref(), Some("fi"));
        assert_eq!(stem_of(&auto, &fi).unwrap().as_deref(), Some("fi"));
        // English is not stemmed unless asked; Chinese never by default.
        assert_eq!(stem_of(&auto, &en).unwrap(), None);
        assert_eq!(stem_of(&auto, &zh).unwrap(), None);
        let on = TrainConfig { stemming: Stemming::On, ..TrainConfig::default() };
        assert_eq!(stem_of(&on, &en).unwrap().as_deref(), Some("en"));
        let err = stem_of(&on, &zh).unwrap_err().to_string();
        assert!(err.contains("could not be detected"), "{err}");
        // A configured language wins over detection; one without a stemmer is an error only when stemming is on.
        let sv = TrainConfig { language: Some("sv".into()), ..TrainConfig::default() };
        assert_eq!(stem_of(&sv, &fi).unwrap().as_deref(), Some("sv"));
        let et = TrainConfig { language: Some("et".into()), ..TrainConfig::default() };
        assert_eq!(stem_of(&et, &fi).unwrap(), None);
        let err = stem_of(&TrainConfig { stemming: Stemming::On, ..et }, &fi).unwrap_err().to_string();
        assert!(err.contains("\"et\""), "{err}");
        let off = TrainConfig { stemming: Stemming::Off, ..TrainConfig::default() };
        assert_eq!(stem_of(&off, &fi).unwrap(), None);
    }
}
