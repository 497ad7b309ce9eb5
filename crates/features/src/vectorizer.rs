use crate::{CsrMatrix, FeatureError};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tagger_tokenize::{Tokenizer, TokenizerConfig};

/// How terms become weighted features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VectorizerConfig {
    /// Word n-grams `1..=ngram_max` are features (1 = unigrams only; at most 3).
    pub ngram_max: u8,
    /// Keep terms that occur in at least this many documents.
    pub min_df: u32,
    /// Drop terms that occur in more than this fraction of documents (1.0 keeps all).
    pub max_df: f32,
    /// Keep at most this many terms, the most frequent by document frequency (ties by term).
    pub max_features: Option<usize>,
    /// Use `1 + ln(tf)` instead of raw term counts.
    pub sublinear_tf: bool,
    /// Also emit character n-grams (n = 2..=char_ngram_max, 0 = off) over runs of Han characters, bridging
    /// word boundaries and whitespace, as terms prefixed with `#`. They make Chinese features robust to
    /// segmentation differences (pre-segmented training text vs. jieba at prediction time).
    pub char_ngram_max: u8,
    /// Hash terms into `2^bits` columns instead of keeping a vocabulary (unbounded vocabularies, bounded
    /// memory). `min_df`, `max_df` and `max_features` do not apply in this mode.
    pub hashing_bits: Option<u8>,
}

impl Default for VectorizerConfig {
    fn default() -> Self {
        Self {
            ngram_max: 1,
            min_df: 1,
            max_df: 1.0,
            max_features: None,
            sublinear_tf: true,
            char_ngram_max: 0,
            hashing_bits: None,
        }
    }
}

impl VectorizerConfig {
    fn check(&self) -> Result<(), FeatureError> {
        let bad = |m: String| Err(FeatureError::InvalidConfig(m));
        if !(1..=3).contains(&self.ngram_max) {
            return bad(format!("ngram_max must be 1, 2 or 3, not {}", self.ngram_max));
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            return bad(format!("max_df must be in (0, 1], not {}", self.max_df));
        }
        if self.char_ngram_max == 1 || self.char_ngram_max > 4 {
            return bad(format!("char_ngram_max must be 0 (off) or 2..=4, not {}", self.char_ngram_max));
        }
        if self.max_features == Some(0) {
            return bad("max_features must be at least 1".into());
        }
        if let Some(b) = self.hashing_bits
            && !(8..=28).contains(&b)
        {
            return bad(format!("hashing_bits must be in 8..=28, not {b}"));
        }
        Ok(())
    }
}

/// FNV-1a, 64-bit: the hashing-mode column function. Fixed here (not `std`'s randomised hasher) so that a saved
/// model maps terms to the same columns in every process.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Smoothed IDF, as in scikit-learn: `ln((1 + n) / (1 + df)) + 1`.
fn idf(n_docs: usize, df: u32) -> f32 {
    (((1 + n_docs) as f64 / (1 + df as u64) as f64).ln() + 1.0) as f32
}

/// Calls `f(term, start, end)` for every term of `text`: word n-grams (n = 1..=ngram_max), which join their
/// tokens with a space (tokens never contain whitespace) and span from the first token's start to the last
/// one's end; then, if enabled, character n-grams of Han runs.
fn for_each_term(tokenizer: &Tokenizer, cfg: &VectorizerConfig, text: &str, f: impl FnMut(&str, usize, usize)) {
    for_each_term_observed(tokenizer, cfg, text, f, |_, _, _| {});
}

/// [`for_each_term`], also showing every token to `observe` (before the terms it starts).
fn for_each_term_observed(
    tokenizer: &Tokenizer,
    cfg: &VectorizerConfig,
    text: &str,
    mut f: impl FnMut(&str, usize, usize),
    mut observe: impl FnMut(&str, usize, usize),
) {
    let n = cfg.ngram_max as usize;
    let mut chars = CharGrams::new(cfg.char_ngram_max as usize);
    // Ring of the previous n-1 tokens (text, start), reused across tokens to avoid allocating per token.
    let mut prev: Vec<(String, usize)> = vec![(String::new(), 0); n.saturating_sub(1)];
    let mut seen = 0usize;
    let mut buf = String::new();
    tokenizer.for_each_token(text, |tok, start, end| {
        observe(tok, start, end);
        f(tok, start, end);
        if chars.n > 1 {
            chars.push_token(text, tok, start, end, &mut f);
        }
        if n == 1 {
            return;
        }
        for k in 1..n.min(seen + 1) {
            // The k tokens before this one, oldest first.
            buf.clear();
            for back in (1..=k).rev() {
                buf.push_str(&prev[(seen - back) % (n - 1)].0);
                buf.push(' ');
            }
            buf.push_str(tok);
            f(&buf, prev[(seen - k) % (n - 1)].1, end);
        }
        let slot = &mut prev[seen % (n - 1)];
        slot.0.clear();
        slot.0.push_str(tok);
        slot.1 = start;
        seen += 1;
    });
    if chars.n > 1 {
        chars.flush(&mut f);
    }
}

/// Character n-grams over runs of Han characters that may span several tokens.
struct CharGrams {
    n: usize,
    /// The current run: each Han character with its byte span in the original text.
    run: Vec<(char, usize, usize)>,
    last_end: usize,
    buf: String,
}

impl CharGrams {
    fn new(n: usize) -> Self {
        Self { n, run: Vec::new(), last_end: 0, buf: String::new() }
    }

    fn push_token(&mut self, text: &str, tok: &str, start: usize, end: usize, f: &mut impl FnMut(&str, usize, usize)) {
        // A run continues across tokens separated only by whitespace.
        let gap_is_space = text.get(self.last_end..start).is_some_and(|g| g.chars().all(char::is_whitespace));
        if !gap_is_space || !tok.chars().all(tagger_tokenize::is_han) {
            self.flush(f);
        }
        if tok.chars().all(tagger_tokenize::is_han) {
            // Han characters are unchanged by normalisation, so the token's bytes are the source's bytes.
            if end - start == tok.len() {
                for (off, c) in tok.char_indices() {
                    self.run.push((c, start + off, start + off + c.len_utf8()));
                }
            } else {
                self.run.extend(tok.chars().map(|c| (c, start, end)));
            }
        }
        self.last_end = end;
    }

    fn flush(&mut self, f: &mut impl FnMut(&str, usize, usize)) {
        for k in 2..=self.n {
            for w in self.run.windows(k) {
                self.buf.clear();
                self.buf.push('#');
                self.buf.extend(w.iter().map(|x| x.0));
                f(&self.buf, w[0].1, w[k - 1].2);
            }
        }
        self.run.clear();
    }
}

/// Counts document frequencies over batches of texts; [`DfCounter::finish`] turns the counts into a
/// [`Vectorizer`]. Batches let a caller stream a corpus larger than memory.
#[derive(Debug)]
pub struct DfCounter {
    tokenizer: Tokenizer,
    config: VectorizerConfig,
    n_docs: usize,
    terms: FxHashMap<String, u32>,
    buckets: Vec<u32>,
}

impl DfCounter {
    /// A counter for this pipeline; fails on an invalid configuration.
    pub fn new(tokenizer: TokenizerConfig, config: VectorizerConfig) -> Result<Self, FeatureError> {
        config.check()?;
        let buckets = config.hashing_bits.map_or(Vec::new(), |b| vec![0; 1 << b]);
        Ok(Self { tokenizer: Tokenizer::new(tokenizer)?, config, n_docs: 0, terms: FxHashMap::default(), buckets })
    }

    /// Count one batch of documents (tokenized in parallel).
    pub fn add_batch(&mut self, texts: &[&str]) {
        let (tok, cfg) = (&self.tokenizer, &self.config);
        if let Some(bits) = cfg.hashing_bits {
            let mask = (1u64 << bits) - 1;
            let counts: Vec<Vec<u32>> = texts
                .par_iter()
                .map(|text| {
                    let mut ids = Vec::new();
                    for_each_term(tok, cfg, text, |t, _, _| ids.push((fnv1a(t.as_bytes()) & mask) as u32));
                    ids.sort_unstable();
                    ids.dedup();
                    ids
                })
                .collect();
            for ids in counts {
                for j in ids {
                    self.buckets[j as usize] += 1;
                }
            }
        } else {
            let local = texts
                .par_chunks(texts.len().div_ceil(2 * rayon::current_num_threads()).max(64))
                .map(|chunk| {
                    // term -> (df, index of the last document that counted it)
                    let mut map: FxHashMap<String, (u32, usize)> = FxHashMap::default();
                    for (d, text) in chunk.iter().enumerate() {
                        for_each_term(tok, cfg, text, |t, _, _| match map.get_mut(t) {
                            Some((df, last)) if *last != d => {
                                *df += 1;
                                *last = d;
                            }
                            Some(_) => {}
                            None => {
                                map.insert(t.to_owned(), (1, d));
                            }
                        });
                    }
                    map
                })
                .collect::<Vec<_>>();
            for map in local {
                for (t, (df, _)) in map {
                    *self.terms.entry(t).or_insert(0) += df;
                }
            }
        }
        self.n_docs += texts.len();
    }

    /// Prune the vocabulary and compute IDF.
    pub fn finish(self) -> Result<Vectorizer, FeatureError> {
        let cfg = &self.config;
        if self.n_docs == 0 {
            return Err(FeatureError::EmptyCorpus);
        }
        let n = self.n_docs;
        let (terms, idf) = if cfg.hashing_bits.is_some() {
            (Vec::new(), self.buckets.iter().map(|&df| idf(n, df)).collect())
        } else {
            let max_df = (cfg.max_df as f64 * n as f64).floor() as u32;
            let mut kept: Vec<(String, u32)> =
                self.terms.into_iter().filter(|(_, df)| *df >= cfg.min_df && *df <= max_df.max(1)).collect();
            // Columns in order of document frequency (ties by term): the common terms, which most rows share,
            // get neighbouring columns, so the solver and the scorer find their weights in cache.
            kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            if let Some(m) = cfg.max_features {
                kept.truncate(m);
            }
            if kept.is_empty() {
                return Err(FeatureError::EmptyVocabulary { min_df: cfg.min_df, max_df: cfg.max_df, n_docs: n });
            }
            let idf = kept.iter().map(|(_, df)| idf(n, *df)).collect();
            (kept.into_iter().map(|(t, _)| t).collect(), idf)
        };
        Vectorizer::from_state(VectorizerState {
            tokenizer: self.tokenizer.config().clone(),
            config: self.config,
            terms,
            idf,
            n_docs: n,
        })
    }
}

/// The serialisable content of a [`Vectorizer`]; restoring it checks consistency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorizerState {
    /// The tokenizer pipeline.
    pub tokenizer: TokenizerConfig,
    /// Weighting and vocabulary settings.
    pub config: VectorizerConfig,
    /// Vocabulary terms in column order (empty in hashing mode).
    pub terms: Vec<String>,
    /// IDF per column.
    pub idf: Vec<f32>,
    /// Documents the vectorizer was fitted on.
    pub n_docs: usize,
}

/// A fitted text-to-TF-IDF pipeline.
#[derive(Debug, Clone)]
pub struct Vectorizer {
    tokenizer: Tokenizer,
    state: VectorizerState,
    index: FxHashMap<String, u32>,
    mask: u64,
}

/// A transformed document with, for each stored feature, the byte spans of the text that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// Feature columns, strictly increasing.
    pub indices: Vec<u32>,
    /// TF-IDF values (L2-normalised).
    pub data: Vec<f32>,
    /// For each column in `indices`, every `(start, end)` byte span of the input where it occurred.
    pub spans: Vec<Vec<(usize, usize)>>,
}

impl Vectorizer {
    /// Fit on an in-memory corpus (see [`DfCounter`] for streaming).
    pub fn fit(tokenizer: TokenizerConfig, config: VectorizerConfig, texts: &[&str]) -> Result<Self, FeatureError> {
        let mut c = DfCounter::new(tokenizer, config)?;
        c.add_batch(texts);
        c.finish()
    }

    /// Restore from stored state, checking that it is consistent.
    pub fn from_state(state: VectorizerState) -> Result<Self, FeatureError> {
        state.config.check()?;
        let tokenizer = Tokenizer::new(state.tokenizer.clone())?;
        let (index, mask) = match state.config.hashing_bits {
            Some(b) => {
                if !state.terms.is_empty() || state.idf.len() != 1 << b {
                    return Err(FeatureError::Corrupt(format!("hashing mode needs {} IDF values", 1u64 << b)));
                }
                (FxHashMap::default(), (1u64 << b) - 1)
            }
            None => {
                if state.terms.len() != state.idf.len() {
                    return Err(FeatureError::Corrupt(format!(
                        "{} terms but {} IDF values",
                        state.terms.len(),
                        state.idf.len()
                    )));
                }
                let index: FxHashMap<String, u32> =
                    state.terms.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
                if index.len() != state.terms.len() {
                    return Err(FeatureError::Corrupt("duplicate vocabulary terms".into()));
                }
                (index, 0)
            }
        };
        if state.idf.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(FeatureError::Corrupt("IDF values must be finite and positive".into()));
        }
        Ok(Self { tokenizer, state, index, mask })
    }

    /// This vectorizer with only the terms of document frequency ≥ `min_df`, and `rows` — this vectorizer's own
    /// output on the corpus it was fitted on, whose column counts are those document frequencies — restricted to
    /// them and L2-renormalised. Columns are ordered by document frequency, so the kept terms are a prefix of the
    /// vocabulary and keep their column numbers; the result transforms text as a vectorizer fitted with that
    /// `min_df` would (up to float rounding of the training rows). Lets a caller compare `min_df` values
    /// without reading the corpus again.
    pub fn restrict_min_df(&self, rows: &CsrMatrix, min_df: u32) -> Result<(Vectorizer, CsrMatrix), FeatureError> {
        if self.state.config.hashing_bits.is_some() {
            return Err(FeatureError::InvalidConfig("min_df does not apply in hashing mode".into()));
        }
        if rows.n_cols() != self.n_features() {
            return Err(FeatureError::InvalidConfig(format!(
                "rows have {} columns, the vocabulary {}",
                rows.n_cols(),
                self.n_features()
            )));
        }
        let mut df = vec![0u32; self.n_features()];
        for row in rows.rows() {
            row.indices.iter().for_each(|&j| df[j as usize] += 1);
        }
        let keep = df.iter().take_while(|&&d| d >= min_df).count();
        if keep == 0 {
            return Err(FeatureError::EmptyVocabulary {
                min_df,
                max_df: self.state.config.max_df,
                n_docs: self.state.n_docs,
            });
        }
        let mut state = self.state.clone();
        state.config.min_df = state.config.min_df.max(min_df);
        state.terms.truncate(keep);
        state.idf.truncate(keep);
        let mut out = CsrMatrix::new(keep);
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for row in rows.rows() {
            idx.clear();
            val.clear();
            for (&j, &v) in row.indices.iter().zip(row.data) {
                if (j as usize) < keep {
                    idx.push(j);
                    val.push(v);
                }
            }
            let norm = val.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                val.iter_mut().for_each(|v| *v /= norm);
            }
            out.push_row(&idx, &val);
        }
        Ok((Vectorizer::from_state(state)?, out))
    }

    /// The stored state (for serialisation).
    pub fn state(&self) -> &VectorizerState {
        &self.state
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.state.idf.len()
    }

    /// The term of a column (`None` in hashing mode or out of range).
    pub fn term(&self, column: u32) -> Option<&str> {
        self.state.terms.get(column as usize).map(String::as_str)
    }

    /// Whether every feature is one token of the tokenizer (word unigrams, no character n-grams): then a text's
    /// row is [`Vectorizer::weigh_columns`] of the [`Vectorizer::column`]s of its tokens.
    pub fn features_are_tokens(&self) -> bool {
        self.state.config.ngram_max == 1 && self.state.config.char_ngram_max == 0
    }

    /// The column of a term (a token, or an n-gram of tokens joined by spaces), if it is a feature.
    #[inline]
    pub fn column(&self, term: &str) -> Option<u32> {
        if self.state.config.hashing_bits.is_some() {
            Some((fnv1a(term.as_bytes()) & self.mask) as u32)
        } else {
            self.index.get(term).copied()
        }
    }

    /// Weight sorted column occurrences (`cols`, one entry per occurrence) into `(indices, data)`.
    fn weigh(&self, cols: &[u32], indices: &mut Vec<u32>, data: &mut Vec<f32>) {
        indices.clear();
        data.clear();
        let mut i = 0;
        while i < cols.len() {
            let j = cols[i];
            let mut k = i + 1;
            while k < cols.len() && cols[k] == j {
                k += 1;
            }
            let tf = (k - i) as f32;
            // Most terms occur once in a document; skip the logarithm for them.
            let tf = if self.state.config.sublinear_tf && tf > 1.0 { 1.0 + tf.ln() } else { tf };
            indices.push(j);
            data.push(tf * self.state.idf[j as usize]);
            i = k;
        }
        let norm = data.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            data.iter_mut().for_each(|v| *v /= norm);
        }
    }

    /// The row of a text whose terms have the columns `cols` (one entry per occurrence, in any order; sorted
    /// here) into `(indices, data)`: what [`Vectorizer::transform_into`] does once it has found the columns.
    pub fn weigh_columns(&self, cols: &mut [u32], indices: &mut Vec<u32>, data: &mut Vec<f32>) {
        cols.sort_unstable();
        self.weigh(cols, indices, data);
    }

    /// Transform one text into `(indices, data)`, reusing the caller's buffers (`cols` is scratch space).
    pub fn transform_into(&self, text: &str, cols: &mut Vec<u32>, indices: &mut Vec<u32>, data: &mut Vec<f32>) {
        self.transform_into_observed(text, cols, indices, data, |_, _, _| {});
    }

    /// [`Vectorizer::transform_into`], also showing every token of the text to `observe` (its normalised form
    /// and byte span), so that a caller needing the tokens too does not tokenize the text twice.
    pub fn transform_into_observed(
        &self,
        text: &str,
        cols: &mut Vec<u32>,
        indices: &mut Vec<u32>,
        data: &mut Vec<f32>,
        observe: impl FnMut(&str, usize, usize),
    ) {
        cols.clear();
        let column = |t: &str, _: usize, _: usize| {
            if let Some(c) = self.column(t) {
                cols.push(c);
            }
        };
        for_each_term_observed(&self.tokenizer, &self.state.config, text, column, observe);
        cols.sort_unstable();
        self.weigh(cols, indices, data);
    }

    /// Transform one text into a one-row matrix.
    pub fn transform(&self, text: &str) -> CsrMatrix {
        self.transform_batch(&[text])
    }

    /// Transform many texts (in parallel, order kept) into a matrix with one row per text.
    pub fn transform_batch(&self, texts: &[&str]) -> CsrMatrix {
        let parts: Vec<CsrMatrix> = texts
            .par_chunks(256)
            .map(|chunk| {
                let mut m = CsrMatrix::new(self.n_features());
                let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
                for t in chunk {
                    self.transform_into(t, &mut cols, &mut idx, &mut val);
                    m.push_row(&idx, &val);
                }
                m
            })
            .collect();
        let mut out = CsrMatrix::new(self.n_features());
        for p in &parts {
            out.append(p);
        }
        out
    }

    /// Transform one text and keep, for each feature, where in the text it came from.
    pub fn explain(&self, text: &str) -> Explained {
        let mut occ: Vec<(u32, usize, usize)> = Vec::new();
        for_each_term(&self.tokenizer, &self.state.config, text, |t, s, e| {
            if let Some(c) = self.column(t) {
                occ.push((c, s, e));
            }
        });
        occ.sort_unstable();
        let cols: Vec<u32> = occ.iter().map(|o| o.0).collect();
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        self.weigh(&cols, &mut indices, &mut data);
        let mut spans = vec![Vec::new(); indices.len()];
        let mut k = 0;
        for (c, s, e) in occ {
            while indices[k] != c {
                k += 1;
            }
            spans[k].push((s, e));
        }
        Explained { indices, data, spans }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(ngram_max: u8, text: &str) -> Vec<(String, String)> {
        let tok = Tokenizer::new(TokenizerConfig::default()).unwrap();
        let mut out = Vec::new();
        let cfg = VectorizerConfig { ngram_max, char_ngram_max: 2, ..VectorizerConfig::default() };
        for_each_term(&tok, &cfg, text, |t, s, e| out.push((t.to_owned(), text[s..e].to_owned())));
        out
    }

    #[test]
    fn ngrams_and_their_spans() {
        let got = terms(3, "Oil prices, rose");
        let expect = [
            ("oil", "Oil"),
            ("prices", "prices"),
            ("oil prices", "Oil prices"),
            ("rose", "rose"),
            ("prices rose", "prices, rose"),
            ("oil prices rose", "Oil prices, rose"),
        ];
        let expect: Vec<(String, String)> = expect.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn han_character_ngrams_bridge_words_and_spaces() {
        let got = terms(1, "婚后 分居 ， 离婚");
        let expect = [
            ("婚后", "婚后"),
            ("分居", "分居"),
            ("离婚", "离婚"),
            ("#婚后", "婚后"),
            ("#后分", "后 分"),
            ("#分居", "分居"),
            ("#离婚", "离婚"),
        ];
        let expect: Vec<(String, String)> = expect.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, expect);
    }
}
