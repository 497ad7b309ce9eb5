use thiserror::Error;

/// Errors raised while building a [`crate::Tokenizer`]. Tokenizing text itself never fails.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenizeError {
    /// A configuration value is out of range or inconsistent; the message names the field.
    #[error("invalid tokenizer configuration: {0}")]
    InvalidConfig(String),
}
