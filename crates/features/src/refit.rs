//! Re-deriving TF-IDF rows as if the vectorizer had been fitted on a subset of its corpus.
//!
//! Calibration folds train a model on part of the corpus and score the rest. If the held-out documents are
//! vectorised with the vocabulary and IDF of the *whole* corpus, they carry terms that are in the vocabulary only
//! because the held-out documents themselves contain them (a term seen in two documents passes `min_df = 2`
//! even when one of the two is held out). A new document at prediction time never has that: its own rare terms
//! are simply unknown. Those extra terms take a share of the held-out row's L2 norm, which shrinks the scores of
//! everything else, so thresholds tuned on such rows let too many labels through on new documents. A
//! [`Refitter`] removes that leak: it rebuilds, from the rows already computed, what a vectorizer fitted only on
//! a fold's training documents would produce (with `min_df` scaled to the fold's size).

use crate::{CsrMatrix, FeatureError, Vectorizer};

/// Everything needed to rebuild rows for a subset of the fitting corpus (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Refitter {
    idf: Vec<f32>,
    n_docs: usize,
    min_df: u32,
    max_df: f32,
    max_features: Option<usize>,
    hashing: bool,
}

impl Vectorizer {
    /// The [`Refitter`] of this vectorizer's configuration and IDF.
    pub fn refitter(&self) -> Refitter {
        let s = self.state();
        Refitter {
            idf: s.idf.clone(),
            n_docs: s.n_docs,
            min_df: s.config.min_df,
            max_df: s.config.max_df,
            max_features: s.config.max_features,
            hashing: s.config.hashing_bits.is_some(),
        }
    }
}

impl Refitter {
    /// `rows` — the vectorizer's own output on the corpus it was fitted on, so that its column counts are the
    /// document frequencies — as a vectorizer of the same configuration fitted on the documents `fit_docs` only
    /// would transform every one of them, with `min_df` scaled to the subset's size
    /// ([`Refitter::subset_min_df`]): columns whose document frequency among `fit_docs` is below that or above
    /// `max_df` (or beyond `max_features`) disappear, IDF is recomputed from `fit_docs`, and rows are
    /// L2-renormalised. Columns keep their numbers. Exact up to float rounding, except that a term the full
    /// vocabulary already dropped (`min_df`, `max_df`, `max_features`) cannot come back.
    pub fn rows(&self, rows: &CsrMatrix, fit_docs: &[u32]) -> Result<CsrMatrix, FeatureError> {
        Ok(self.subset(rows, fit_docs)?.apply(rows))
    }

    /// The `min_df` a subset of `n` documents is held to: the configured one scaled by the subset's share of the
    /// corpus, rounded, at least 1, so that a term must be as common in the subset as the whole corpus required
    /// (calibration folds then see a vocabulary of the served model's breadth: with `min_df` 16 and 4/5 of the
    /// documents, 13; with the configured 16 the folds' vocabularies were narrower than the served one's, and
    /// outer cross-validation on CAIL2019 lost 0.004 micro-F1). `min_df` 2 stays 2 down to 3/4 of the corpus.
    pub fn subset_min_df(&self, n: usize) -> u32 {
        let scaled = f64::from(self.min_df) * n as f64 / self.n_docs.max(1) as f64;
        (scaled.round() as u32).clamp(1, self.min_df.max(1))
    }

    /// The per-column change [`Refitter::rows`] makes for `fit_docs`, to apply to `rows` (or to row subsets of
    /// them) later: computing it reads every row of `fit_docs` once; applying it is one pass over the rows.
    pub fn subset(&self, rows: &CsrMatrix, fit_docs: &[u32]) -> Result<SubsetFit, FeatureError> {
        let n_cols = self.idf.len();
        if rows.n_cols() != n_cols {
            return Err(FeatureError::InvalidConfig(format!(
                "rows have {} columns, the vocabulary {n_cols}",
                rows.n_cols()
            )));
        }
        let mut df = vec![0u32; n_cols];
        for &d in fit_docs {
            if d as usize >= rows.n_rows() {
                return Err(FeatureError::InvalidConfig(format!("document {d} of {}", rows.n_rows())));
            }
            rows.row(d as usize).indices.iter().for_each(|&j| df[j as usize] += 1);
        }
        let n = fit_docs.len();
        // The factor each column's value is multiplied by before renormalising: new IDF / old IDF, or 0 when the
        // column would not be in the subset's vocabulary.
        let idf = |df: u32| (((1 + n) as f64 / (1 + u64::from(df)) as f64).ln() + 1.0) as f32;
        let mut factor: Vec<f32> = (0..n_cols).map(|j| idf(df[j]) / self.idf[j]).collect();
        if !self.hashing {
            let max_df = ((self.max_df as f64 * n as f64).floor() as u32).max(1);
            let mut kept = 0usize;
            let min_df = self.subset_min_df(n);
            for (j, f) in factor.iter_mut().enumerate() {
                if df[j] < min_df || df[j] > max_df {
                    *f = 0.0;
                } else {
                    kept += 1;
                }
            }
            if let Some(m) = self.max_features.filter(|&m| m < kept) {
                // Keep the `m` most frequent in the subset (ties by column, which orders terms by full-corpus
                // frequency, then bytes).
                let mut order: Vec<usize> = (0..n_cols).filter(|&j| factor[j] > 0.0).collect();
                order.sort_unstable_by(|&a, &b| df[b].cmp(&df[a]).then(a.cmp(&b)));
                for &j in &order[m..] {
                    factor[j] = 0.0;
                }
            }
        }
        Ok(SubsetFit { factor })
    }
}

/// What fitting on a subset of documents changes, column by column (see [`Refitter::subset`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SubsetFit {
    factor: Vec<f32>,
}

impl SubsetFit {
    /// Rows as the subset's vectorizer gives them (same shape as `rows`; a row may become empty).
    pub fn apply(&self, rows: &CsrMatrix) -> CsrMatrix {
        let mut out = CsrMatrix::new(rows.n_cols());
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for row in rows.rows() {
            idx.clear();
            val.clear();
            for (&j, &v) in row.indices.iter().zip(row.data) {
                let f = self.factor.get(j as usize).copied().unwrap_or(0.0);
                if f > 0.0 {
                    idx.push(j);
                    val.push(v * f);
                }
            }
            let norm = val.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                val.iter_mut().for_each(|v| *v /= norm);
            }
            out.push_row(&idx, &val);
        }
        out
    }
}
