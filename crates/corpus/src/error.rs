use std::path::PathBuf;
use thiserror::Error;

/// Errors reading or writing documents. Every variant that comes from a file names it, and the line when one
/// line is at fault, formatted as `path:line: message` like a compiler diagnostic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// The file or directory could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
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
    /// A document cannot be written in the `%%%` format without changing it.
    #[error("cannot write document {id:?}: {message}")]
    Unwritable {
        /// The document's id.
        id: String,
        /// What prevents writing it.
        message: String,
    },
    /// Writing failed.
    #[error("write failed: {0}")]
    Write(#[from] std::io::Error),
}

impl CorpusError {
    pub(crate) fn format(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        CorpusError::Format { path: path.into(), line, message: message.into() }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CorpusError::Io { path: path.into(), error: source }
    }
}
