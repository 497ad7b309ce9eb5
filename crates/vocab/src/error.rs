use std::path::PathBuf;
use thiserror::Error;

/// Errors reading a vocabulary. Every variant names the file, and the line when one line is at fault, formatted
/// as `path:line: message` like a compiler diagnostic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VocabError {
    /// The file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (named `error`, not `source`: the message already shows it, and as an error
        /// source it would be printed twice in a chain of causes).
        error: std::io::Error,
    },
    /// The content is malformed at this line (1-based).
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The content is malformed, at a place the RDF parser does not locate (a statement about a concept).
    #[error("{}: {message}", path.display())]
    Content {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the concept.
        message: String,
    },
    /// The file's format or language cannot be told from its name.
    #[error("{}: {message}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is missing and how to say it.
        message: String,
    },
    /// A vocabulary (for example one stored in a model) breaks an invariant.
    #[error("invalid vocabulary: {0}")]
    Invalid(String),
}

impl VocabError {
    pub(crate) fn format(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        VocabError::Format { path: path.into(), line, message: message.into() }
    }
}
