//! `tagger-features`: tokens to sparse TF-IDF rows.
//!
//! A [`Vectorizer`] owns the whole text-to-features pipeline: the [`Tokenizer`](tagger_tokenize::Tokenizer), the
//! vocabulary (or a hashing space), IDF weights and the weighting scheme. It is fitted once on a corpus
//! (streamed in batches through a [`DfCounter`]) and then turns any text into an L2-normalised sparse row.
//! Column ids are deterministic: terms are ordered by document frequency (most common first, which keeps the
//! weights rows share close together in memory), then by their bytes, so the same corpus and configuration give
//! the same ids on every run and machine.

mod csr;
mod error;
mod refit;
mod vectorizer;

pub use csr::{CsrMatrix, SparseRow};
pub use error::FeatureError;
pub use refit::{Refitter, SubsetFit};
pub use vectorizer::{DfCounter, Explained, Vectorizer, VectorizerConfig, VectorizerState, fnv1a};
