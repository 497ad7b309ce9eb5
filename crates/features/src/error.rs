use thiserror::Error;

/// Errors from building or restoring a [`crate::Vectorizer`]. Transforming text never fails.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// A configuration value is out of range; the message names the field.
    #[error("invalid vectorizer configuration: {0}")]
    InvalidConfig(String),
    /// The tokenizer configuration is invalid.
    #[error(transparent)]
    Tokenize(#[from] tagger_tokenize::TokenizeError),
    /// Fitting needs at least one document.
    #[error("cannot fit a vocabulary on an empty corpus")]
    EmptyCorpus,
    /// Fitting kept no feature (every term was pruned by min_df / max_df).
    #[error("no term survives the document-frequency limits (min_df={min_df}, max_df={max_df}) on {n_docs} documents")]
    EmptyVocabulary {
        /// Configured minimum document count.
        min_df: u32,
        /// Configured maximum document fraction.
        max_df: f32,
        /// Documents seen.
        n_docs: usize,
    },
    /// A stored vectorizer is internally inconsistent.
    #[error("stored vectorizer is inconsistent: {0}")]
    Corrupt(String),
}
