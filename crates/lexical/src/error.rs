use thiserror::Error;

/// Errors of the lexical backend.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LexicalError {
    /// The tokenizer configuration is invalid.
    #[error(transparent)]
    Tokenize(#[from] tagger_tokenize::TokenizeError),
    /// A parameter is out of range; the message names it.
    #[error("invalid lexical parameters: {0}")]
    InvalidParams(String),
    /// The data cannot train or feed the backend (no label in the chosen languages, mismatched lengths…).
    #[error("{0}")]
    InvalidData(String),
    /// The learner failed.
    #[error("fitting the candidate scorer: {0}")]
    Learner(String),
}
