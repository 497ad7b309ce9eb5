//! `tagger-lexical`: the lexical backend. It proposes the concepts whose labels occur in a text, including
//! concepts no training document was indexed with, and scores them.
//!
//! 1. **Matching** ([`LabelIndex`]): every label of the vocabulary in the chosen languages is tokenized by the
//!    same pipeline as the documents (normalisation, segmentation, Snowball stemming), so `kirjastoissa` meets
//!    `kirjastot`. A label matches a sentence when all its tokens occur in it, in any order.
//! 2. **Candidates** ([`Candidate`]): per concept, where and how it matched: occurrences, first and last
//!    sentence, spread, label length, preferred or not, how many concepts share the label, whether a longer
//!    label contained it, and which broader, narrower or related concepts matched too.
//! 3. **Scoring**: a logistic regression (linfa-logistic) over those features and the concept's record in the
//!    training corpus (how often it was assigned, how often it was a candidate), trained on the candidates of
//!    the training documents with the documents' own subjects as the answer. Corpus counts are taken
//!    leave-one-out while training, so a concept seen only in the document at hand looks unseen, as it will on
//!    new documents.
//!
//! The crate knows the vocabulary and the tokenizer, nothing of features, the linear model or gRPC.

mod error;
mod index;

pub use error::LexicalError;
pub use index::{IndexedLabel, LabelIndex, Matcher, SentenceMatch, TextMatches};

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tagger_tokenize::TokenizerConfig;
use tagger_vocab::{ConceptId, Vocabulary};

/// Spans kept per candidate for explanations.
pub const MAX_SPANS: usize = 8;

/// Hyper-parameters of the lexical backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LexicalParams {
    /// Languages whose labels are matched (empty: the caller decides, usually the documents' language).
    pub languages: Vec<String>,
    /// Match hidden labels too (misspellings and matching-only forms).
    pub hidden_labels: bool,
    /// L2 penalty of the candidate scorer (on standardised features).
    pub alpha: f64,
    /// Iterations of the scorer's optimiser.
    pub max_iterations: u64,
    /// At most this many training candidates are used to fit the scorer (all positives are kept; negatives are
    /// sampled deterministically beyond it).
    pub max_training_rows: usize,
}

impl Default for LexicalParams {
    fn default() -> Self {
        Self {
            languages: Vec::new(),
            hidden_labels: true,
            alpha: 1e-3,
            max_iterations: 300,
            max_training_rows: 400_000,
        }
    }
}

/// A concept found in a text, with how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The concept.
    pub concept: ConceptId,
    /// Sentences it matched in.
    pub occurrences: u32,
    /// First sentence it matched in (from 0).
    pub first: u32,
    /// Last sentence it matched in.
    pub last: u32,
    /// Share of those sentences where a preferred label matched.
    pub pref_share: f32,
    /// Tokens of the longest label that matched.
    pub max_tokens: u32,
    /// Fewest concepts sharing a label that matched (1 = unambiguous).
    pub ambiguity: u32,
    /// Share of occurrences inside a longer label of another concept.
    pub subsumed_share: f32,
    /// Byte spans of the matched words in the text (at most [`MAX_SPANS`]).
    pub spans: Vec<(usize, usize)>,
}

/// The candidates of one text.
#[derive(Debug, Clone, Default)]
pub struct DocCandidates {
    /// Sentences in the text.
    pub sentences: u32,
    /// Tokens in the text.
    pub tokens: u32,
    /// Candidates, by concept id.
    pub candidates: Vec<Candidate>,
}

/// Names of the scorer's features, in order (shown by reports and tests).
pub const FEATURES: [&str; 17] = [
    "log_occurrences",
    "occurrence_share",
    "first",
    "last",
    "spread",
    "log_sentences",
    "pref_share",
    "label_tokens",
    "unambiguous",
    "subsumed_share",
    "hierarchy_matched",
    "related_matched",
    "log_assigned",
    "keyphraseness",
    "log_candidate",
    "seen",
    "log_candidates",
];

/// A scored concept.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The concept.
    pub concept: ConceptId,
    /// Probability that the concept is a subject of the text, by the scorer.
    pub score: f32,
    /// Byte spans of the matched words.
    pub spans: Vec<(usize, usize)>,
}

/// What training saw, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LexicalReport {
    /// Labels indexed, and distinct (concept, token set) terms.
    pub labels: usize,
    /// Terms.
    pub terms: usize,
    /// Mean candidates per training document.
    pub candidates_per_doc: f64,
    /// Share of the training documents' subjects that were candidates (the recall bound of the backend).
    pub candidate_recall: f64,
    /// Rows the scorer was fitted on.
    pub rows: usize,
}

/// A trained lexical backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "LexicalData", into = "LexicalData")]
pub struct LexicalModel {
    index: LabelIndex,
    data: LexicalData,
}

impl PartialEq for LexicalModel {
    /// Models are equal when their stored forms are (the index is derived from them).
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

/// The stored form: the index is rebuilt from the labels on load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LexicalData {
    /// The tokenizer configuration as JSON: its filters are an internally tagged enum, which compact binary
    /// formats such as postcard cannot encode.
    tokenizer: String,
    labels: Vec<IndexedLabel>,
    /// Per concept: broader and narrower concepts; related concepts.
    hierarchy: Vec<Vec<ConceptId>>,
    related: Vec<Vec<ConceptId>>,
    /// Per concept: training documents indexed with it, and training documents where it was a candidate.
    assigned: Vec<u32>,
    candidate: Vec<u32>,
    /// Standardisation (mean, scale) and weights of the scorer, per feature.
    scaler: Vec<(f64, f64)>,
    weights: Vec<f64>,
    intercept: f64,
}

impl TryFrom<LexicalData> for LexicalModel {
    type Error = LexicalError;

    fn try_from(data: LexicalData) -> Result<Self, LexicalError> {
        let n = data.hierarchy.len();
        if data.related.len() != n
            || data.assigned.len() != n
            || data.candidate.len() != n
            || data.scaler.len() != FEATURES.len()
            || data.weights.len() != FEATURES.len()
            || data.labels.iter().any(|l| l.concept as usize >= n)
            || data.hierarchy.iter().chain(&data.related).flatten().any(|&c| c as usize >= n)
        {
            return Err(LexicalError::InvalidData("lexical backend: inconsistent stored data".into()));
        }
        let tokenizer: TokenizerConfig = serde_json::from_str(&data.tokenizer)
            .map_err(|e| LexicalError::InvalidData(format!("lexical backend: tokenizer configuration: {e}")))?;
        let index = LabelIndex::from_labels(data.labels.clone(), tokenizer)?;
        Ok(LexicalModel { index, data })
    }
}

impl From<LexicalModel> for LexicalData {
    fn from(m: LexicalModel) -> Self {
        m.data
    }
}

/// Corpus counts of a concept as the features see them.
#[derive(Clone, Copy)]
struct Counts {
    assigned: f64,
    candidate: f64,
}

impl LexicalModel {
    /// Train on `texts` indexed with `gold` (concept ids of `vocab`). `tokenizer` should be the documents'
    /// pipeline (with their stemmer); `params.languages` must name at least one language of the vocabulary.
    /// The same as [`LexicalModel::new`], [`LexicalModel::candidates`] of every text, then
    /// [`LexicalModel::fit`].
    pub fn train(
        vocab: &Vocabulary,
        params: &LexicalParams,
        tokenizer: TokenizerConfig,
        texts: &[&str],
        gold: &[Vec<ConceptId>],
    ) -> Result<(LexicalModel, LexicalReport), LexicalError> {
        if texts.len() != gold.len() {
            return Err(LexicalError::InvalidData(format!("{} texts but {} subject lists", texts.len(), gold.len())));
        }
        let mut model = LexicalModel::new(vocab, params, tokenizer)?;
        let docs: Vec<DocCandidates> = texts.par_iter().map(|t| model.candidates(t)).collect();
        let report = model.fit(&docs, gold, params)?;
        Ok((model, report))
    }

    /// An untrained backend: the label index of `vocab` in `params.languages`, tokenized by `tokenizer`, and
    /// the vocabulary's relations. It finds candidates; [`LexicalModel::fit`] teaches it to score them.
    pub fn new(
        vocab: &Vocabulary,
        params: &LexicalParams,
        tokenizer: TokenizerConfig,
    ) -> Result<LexicalModel, LexicalError> {
        if !(params.alpha >= 0.0 && params.alpha.is_finite()) || params.max_iterations == 0 {
            return Err(LexicalError::InvalidParams(format!(
                "alpha {} must be finite and non-negative, max_iterations {} positive",
                params.alpha, params.max_iterations
            )));
        }
        let index = LabelIndex::build(vocab, &params.languages, params.hidden_labels, tokenizer.clone())?;
        if index.is_empty() {
            return Err(LexicalError::InvalidData(format!(
                "the vocabulary has no label in {:?} (it has {:?})",
                params.languages,
                vocab.languages()
            )));
        }
        let hierarchy = vocab
            .concepts()
            .iter()
            .map(|c| {
                let mut h: Vec<ConceptId> = c.broader.iter().chain(&c.narrower).copied().collect();
                h.sort_unstable();
                h.dedup();
                h
            })
            .collect();
        let related = vocab.concepts().iter().map(|c| c.related.clone()).collect();
        let n = vocab.len();
        Ok(LexicalModel {
            data: LexicalData {
                tokenizer: serde_json::to_string(&tokenizer)
                    .map_err(|e| LexicalError::InvalidData(format!("tokenizer configuration: {e}")))?,
                labels: index.labels().to_vec(),
                hierarchy,
                related,
                assigned: vec![0; n],
                candidate: vec![0; n],
                scaler: vec![(0.0, 1.0); FEATURES.len()],
                weights: vec![0.0; FEATURES.len()],
                intercept: 0.0,
            },
            index,
        })
    }

    /// Learn the corpus counts and fit the scorer on the candidates of the training documents (`docs`, from
    /// [`LexicalModel::candidates`]) and their subjects.
    pub fn fit(
        &mut self,
        docs: &[DocCandidates],
        gold: &[Vec<ConceptId>],
        params: &LexicalParams,
    ) -> Result<LexicalReport, LexicalError> {
        if docs.len() != gold.len() {
            return Err(LexicalError::InvalidData(format!(
                "{} documents but {} subject lists",
                docs.len(),
                gold.len()
            )));
        }
        let n = self.data.assigned.len();
        if let Some(bad) = gold.iter().flatten().find(|&&c| c as usize >= n) {
            return Err(LexicalError::InvalidData(format!("subject id {bad} is not a concept of the vocabulary")));
        }
        self.data.assigned.iter_mut().chain(self.data.candidate.iter_mut()).for_each(|c| *c = 0);
        let mut found = 0usize;
        let mut subjects = 0usize;
        for (d, g) in docs.iter().zip(gold) {
            for c in &d.candidates {
                self.data.candidate[c.concept as usize] += 1;
            }
            let mut g = g.clone();
            g.sort_unstable();
            g.dedup();
            for &c in &g {
                self.data.assigned[c as usize] += 1;
            }
            subjects += g.len();
            found += g.iter().filter(|c| d.candidates.binary_search_by_key(c, |x| &x.concept).is_ok()).count();
        }
        let mut rows: Vec<[f64; FEATURES.len()]> = Vec::new();
        let mut ys: Vec<bool> = Vec::new();
        for (d, g) in docs.iter().zip(gold) {
            for (c, f) in d.candidates.iter().zip(self.features(d, self.leave_one_out(g))) {
                rows.push(f);
                ys.push(g.contains(&c.concept));
            }
        }
        let total_rows = rows.len();
        let (kept, rate) = sample_negatives(&ys, params.max_training_rows);
        let rows: Vec<[f64; FEATURES.len()]> = kept.iter().map(|&i| rows[i]).collect();
        let ys: Vec<bool> = kept.iter().map(|&i| ys[i]).collect();
        self.fit_rows(&rows, &ys, params)?;
        // Negatives were kept at `rate`: shift the log-odds back to the prior of all candidates.
        self.data.intercept += rate.ln();
        Ok(LexicalReport {
            labels: self.data.labels.len(),
            terms: self.index.len(),
            candidates_per_doc: total_rows as f64 / docs.len().max(1) as f64,
            candidate_recall: found as f64 / subjects.max(1) as f64,
            rows: rows.len(),
        })
    }

    /// Corpus counts of a training document's candidates with the document itself left out, so that they look
    /// as they will for a new document.
    fn leave_one_out<'a>(&'a self, gold: &'a [ConceptId]) -> impl Fn(ConceptId) -> Counts + 'a {
        move |c| {
            let own = f64::from(u8::from(gold.contains(&c)));
            Counts {
                assigned: f64::from(self.data.assigned[c as usize]) - own,
                candidate: f64::from(self.data.candidate[c as usize]) - 1.0,
            }
        }
    }

    /// Scores of a training document's candidates as a new document would get them (corpus counts with the
    /// document left out), for fitting what comes after this backend.
    pub fn score_training(&self, d: &DocCandidates, gold: &[ConceptId]) -> Vec<f32> {
        self.score_rows(&self.features(d, self.leave_one_out(gold)))
    }

    /// Standardise the rows and fit the logistic scorer.
    fn fit_rows(
        &mut self,
        rows: &[[f64; FEATURES.len()]],
        ys: &[bool],
        params: &LexicalParams,
    ) -> Result<(), LexicalError> {
        let positives = ys.iter().filter(|&&y| y).count();
        if positives == 0 || positives == ys.len() {
            return Err(LexicalError::InvalidData(format!(
                "the training documents gave {} candidates of which {positives} were subjects: the scorer needs \
                 both (do the subjects and the matched labels come from the same vocabulary and language?)",
                ys.len()
            )));
        }
        let k = FEATURES.len();
        let nrows = rows.len() as f64;
        for j in 0..k {
            let mean = rows.iter().map(|r| r[j]).sum::<f64>() / nrows;
            let var = rows.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / nrows;
            self.data.scaler[j] = (mean, if var > 1e-12 { var.sqrt() } else { 1.0 });
        }
        let mut x = Array2::<f64>::zeros((rows.len(), k));
        for (i, r) in rows.iter().enumerate() {
            for j in 0..k {
                x[[i, j]] = (r[j] - self.data.scaler[j].0) / self.data.scaler[j].1;
            }
        }
        let y: Array1<bool> = ys.iter().copied().collect();
        let fitted = linfa_logistic::LogisticRegression::default()
            .alpha(params.alpha)
            .max_iterations(params.max_iterations)
            .fit(&Dataset::new(x, y))
            .map_err(|e| LexicalError::Learner(e.to_string()))?;
        // linfa names the first class it meets "positive"; align the weights with `true`.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        self.data.weights = fitted.params().iter().map(|w| sign * w).collect();
        self.data.intercept = sign * fitted.intercept();
        Ok(())
    }

    /// Concepts of the vocabulary the backend was built for.
    pub fn n_concepts(&self) -> usize {
        self.data.assigned.len()
    }

    /// The label index.
    pub fn index(&self) -> &LabelIndex {
        &self.index
    }

    /// The scorer's weights on standardised features, by [`FEATURES`] name.
    pub fn weights(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        FEATURES.iter().copied().zip(self.data.weights.iter().copied())
    }

    /// Training documents indexed with a concept.
    pub fn assigned(&self, concept: ConceptId) -> u32 {
        self.data.assigned.get(concept as usize).copied().unwrap_or(0)
    }

    /// The candidates of a text.
    pub fn candidates(&self, text: &str) -> DocCandidates {
        self.candidates_of(self.index.find(text))
    }

    /// The candidates of what a [`Matcher`] found.
    pub fn candidates_of(&self, found: TextMatches) -> DocCandidates {
        let mut by_concept: FxHashMap<ConceptId, Candidate> = FxHashMap::default();
        for m in &found.matches {
            let term = &self.index.terms[m.term as usize];
            let c = by_concept.entry(term.concept).or_insert_with(|| Candidate {
                concept: term.concept,
                occurrences: 0,
                first: m.sentence,
                last: m.sentence,
                pref_share: 0.0,
                max_tokens: 0,
                ambiguity: u32::MAX,
                subsumed_share: 0.0,
                spans: Vec::new(),
            });
            c.occurrences += 1;
            c.last = m.sentence;
            c.pref_share += f32::from(u8::from(term.pref));
            c.subsumed_share += f32::from(u8::from(m.subsumed));
            c.max_tokens = c.max_tokens.max(term.tokens.len() as u32);
            c.ambiguity = c.ambiguity.min(term.ambiguity);
            for s in &m.spans {
                if c.spans.len() < MAX_SPANS {
                    c.spans.push(*s);
                }
            }
        }
        let mut candidates: Vec<Candidate> = by_concept.into_values().collect();
        for c in &mut candidates {
            c.pref_share /= c.occurrences as f32;
            c.subsumed_share /= c.occurrences as f32;
        }
        candidates.sort_unstable_by_key(|c| c.concept);
        DocCandidates { sentences: found.sentences, tokens: found.tokens, candidates }
    }

    /// Feature rows of a document's candidates, with the corpus counts `counts` gives for each concept.
    fn features(&self, d: &DocCandidates, counts: impl Fn(ConceptId) -> Counts) -> Vec<[f64; FEATURES.len()]> {
        let sentences = f64::from(d.sentences.max(1));
        let present = |c: &ConceptId| d.candidates.binary_search_by_key(c, |x| x.concept).is_ok();
        let n = d.candidates.len() as f64;
        d.candidates
            .iter()
            .map(|c| {
                let k = counts(c.concept);
                let hier = self.data.hierarchy[c.concept as usize].iter().filter(|x| present(x)).count() as f64;
                let rel = self.data.related[c.concept as usize].iter().filter(|x| present(x)).count() as f64;
                let occ = f64::from(c.occurrences);
                [
                    occ.ln_1p(),
                    occ / sentences,
                    f64::from(c.first) / sentences,
                    f64::from(c.last) / sentences,
                    f64::from(c.last - c.first) / sentences,
                    sentences.ln_1p(),
                    f64::from(c.pref_share),
                    f64::from(c.max_tokens.min(4)),
                    1.0 / f64::from(c.ambiguity.max(1)),
                    f64::from(c.subsumed_share),
                    hier.ln_1p(),
                    rel.ln_1p(),
                    k.assigned.max(0.0).ln_1p(),
                    (k.assigned.max(0.0) + 0.1) / (k.candidate.max(0.0) + 1.0),
                    k.candidate.max(0.0).ln_1p(),
                    f64::from(u8::from(k.assigned > 0.0)),
                    n.ln_1p(),
                ]
            })
            .collect()
    }

    /// Score the candidates of a document, in their order.
    pub fn score(&self, d: &DocCandidates) -> Vec<f32> {
        self.score_rows(&self.features(d, |c| Counts {
            assigned: f64::from(self.data.assigned[c as usize]),
            candidate: f64::from(self.data.candidate[c as usize]),
        }))
    }

    fn score_rows(&self, rows: &[[f64; FEATURES.len()]]) -> Vec<f32> {
        rows.iter()
            .map(|r| {
                let z: f64 = r
                    .iter()
                    .zip(&self.data.scaler)
                    .zip(&self.data.weights)
                    .map(|((v, (mean, scale)), w)| (v - mean) / scale * w)
                    .sum::<f64>()
                    + self.data.intercept;
                (1.0 / (1.0 + (-z).exp())) as f32
            })
            .collect()
    }

    /// The concepts found in `text`, best first (ties by concept id).
    pub fn suggest(&self, text: &str) -> Vec<Suggestion> {
        let d = self.candidates(text);
        let scores = self.score(&d);
        let mut out: Vec<Suggestion> = d
            .candidates
            .into_iter()
            .zip(scores)
            .map(|(c, score)| Suggestion { concept: c.concept, score, spans: c.spans })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.concept.cmp(&b.concept)));
        out
    }
}

/// Which rows to fit on when there are more than `max`: every positive and a deterministic, evenly spread
/// share of the negatives, so that at most `max` remain (at least one negative). Returns the kept row indices,
/// in order, and the share of negatives kept (a logistic fit on them is corrected by adding its log to the
/// intercept). Used by this crate's scorer and by the ensemble's stacker.
pub fn sample_negatives(positive: &[bool], max: usize) -> (Vec<usize>, f64) {
    if positive.len() <= max.max(1) {
        return ((0..positive.len()).collect(), 1.0);
    }
    let positives = positive.iter().filter(|&&y| y).count();
    let negatives = positive.len() - positives;
    let keep = max.saturating_sub(positives).clamp(1, negatives.max(1));
    let mut seen = 0usize;
    let mut kept = Vec::with_capacity(max);
    for (i, &y) in positive.iter().enumerate() {
        if !y {
            // Keep the i-th negative when floor(i·keep/negatives) steps up.
            let take = (seen + 1) * keep / negatives > seen * keep / negatives;
            seen += 1;
            if !take {
                continue;
            }
        }
        kept.push(i);
    }
    (kept, keep as f64 / negatives.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagger_vocab::{Concept, Label, LabelKind};

    fn concept(uri: &str, label: &str) -> Concept {
        Concept {
            uri: uri.into(),
            notation: None,
            labels: vec![Label { language: "en".into(), kind: LabelKind::Pref, text: label.into() }],
            broader: Vec::new(),
            narrower: Vec::new(),
            related: Vec::new(),
            deprecated: false,
            replaced_by: Vec::new(),
        }
    }

    /// 0 libraries ⊃ 1 public libraries; 2 reading, related to 0; 3 music, unrelated.
    fn model() -> LexicalModel {
        let mut c = vec![
            concept("u:0", "libraries"),
            concept("u:1", "public libraries"),
            concept("u:2", "reading"),
            concept("u:3", "music"),
        ];
        c[0].narrower = vec![1];
        c[1].broader = vec![0];
        c[0].related = vec![2];
        let vocab = Vocabulary::new(c, vec!["en".into()]).unwrap();
        let params = LexicalParams { languages: vec!["en".into()], ..LexicalParams::default() };
        let texts = ["Libraries and reading. Music.", "Music. More music.", "Reading libraries."];
        let gold = [vec![0], vec![3], vec![2]];
        LexicalModel::train(&vocab, &params, TokenizerConfig::default(), &texts, &gold).unwrap().0
    }

    fn feature(rows: &[[f64; FEATURES.len()]], row: usize, name: &str) -> f64 {
        rows[row][FEATURES.iter().position(|f| *f == name).unwrap()]
    }

    #[test]
    fn candidate_features_see_relations_positions_and_the_corpus() {
        let m = model();
        let d = m.candidates("Public libraries lend books. Reading here. Reading there. Libraries.");
        let concepts: Vec<ConceptId> = d.candidates.iter().map(|c| c.concept).collect();
        assert_eq!(concepts, [0, 1, 2]);
        let full = |c: ConceptId| Counts {
            assigned: f64::from(m.data.assigned[c as usize]),
            candidate: f64::from(m.data.candidate[c as usize]),
        };
        let rows = m.features(&d, full);
        // libraries: narrower (public libraries) and related (reading) matched too.
        assert!((feature(&rows, 0, "hierarchy_matched") - 2f64.ln()).abs() < 1e-12);
        assert!((feature(&rows, 0, "related_matched") - 2f64.ln()).abs() < 1e-12);
        assert_eq!(feature(&rows, 2, "hierarchy_matched"), 0.0);
        // reading: sentences 1 and 2 of 4.
        assert_eq!(
            (feature(&rows, 2, "first"), feature(&rows, 2, "last"), feature(&rows, 2, "spread")),
            (0.25, 0.5, 0.25)
        );
        assert!((feature(&rows, 2, "log_occurrences") - 3f64.ln()).abs() < 1e-12);
        // libraries was a subject of one training document and a candidate of two; public libraries never either.
        assert!((feature(&rows, 0, "log_assigned") - 2f64.ln()).abs() < 1e-12);
        assert!((feature(&rows, 0, "keyphraseness") - 1.1 / 3.0).abs() < 1e-12);
        assert_eq!((feature(&rows, 1, "seen"), feature(&rows, 0, "seen")), (0.0, 1.0));
        // Left out, a training document's own subject and candidacy do not count.
        let gold = [0];
        let loo = m.features(&d, m.leave_one_out(&gold));
        assert_eq!(feature(&loo, 0, "log_assigned"), 0.0);
        assert_eq!(feature(&loo, 0, "seen"), 0.0);
        assert!((feature(&loo, 2, "log_candidate") - 1f64.ln_1p()).abs() < 1e-12);
    }

    #[test]
    fn sampling_keeps_every_positive_and_reports_the_rate() {
        let ys: Vec<bool> = (0..100).map(|i| i % 10 == 0).collect();
        let (kept, rate) = sample_negatives(&ys, 30);
        assert_eq!(kept.len(), 30);
        assert_eq!(kept.iter().filter(|&&i| ys[i]).count(), 10);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        assert!((rate - 20.0 / 90.0).abs() < 1e-12);
        assert_eq!(sample_negatives(&ys, 100), ((0..100).collect(), 1.0));
    }
}
