use std::path::PathBuf;
use thiserror::Error;

/// Errors of the model crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An error reported by linfa itself (datasets, parameters).
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    /// A hyper-parameter is out of range; the message names it.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// The training data cannot be used (no documents, unknown labels, mismatched sizes…).
    #[error("invalid training data: {0}")]
    InvalidData(String),
    /// A training source could not deliver its documents (its message names the file and line).
    #[error("{0}")]
    Source(String),
    /// Feature extraction failed.
    #[error(transparent)]
    Features(#[from] tagger_features::FeatureError),
    /// A model file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (named `error`, not `source`: the message already shows it, and as an error
        /// source it would be printed twice in a chain of causes).
        error: std::io::Error,
    },
    /// A model file is not usable: wrong magic, newer format, truncated, corrupted, inconsistent.
    #[error("{}: {message}", path.display())]
    BadArtifact {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}
