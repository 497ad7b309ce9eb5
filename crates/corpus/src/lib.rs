//! `tagger-corpus`: the users' document format, read from a file, a directory tree or JSONL, and written back.
//!
//! # The `%%%` format
//! ```text
//! %%%LABEL A|LABEL B|
//!
//! body text …
//! ```
//! * The first line starts with `%%%` and lists labels separated by `|`. The trailing `|` is optional, an empty
//!   list (`%%%` alone) is valid, labels may contain spaces and any Unicode except `|` and line breaks.
//! * Then one blank line, then the body, kept byte for byte.
//! * A file without the header is a document with **unknown** labels ([`Document::labels`] is `None`): fine for
//!   prediction, rejected by training.
//!
//! Repairs applied on purpose (everything else malformed is an error naming the file and line):
//! * a UTF-8 byte-order mark at the start of the file is removed;
//! * the header line's line ending may be `\r\n`, and whitespace around each label is trimmed;
//! * a repeated label is kept once (first occurrence);
//! * a missing blank line after the header is tolerated: the body starts on the second line.
//!
//! Invalid UTF-8 is an error (with its line), never a silent replacement.
//!
//! # Annif's formats
//! Annif's *document directory* (`NAME.txt` + `NAME.tsv`/`NAME.key`) and *short-text TSV* (`text\t<URI>…`)
//! are read by the same [`Corpus`]; see [`annif`]. Their subjects are kept as written (`<URI>` or a label).

pub mod annif;
mod error;
mod read;
pub mod synth;
mod write;

pub use error::CorpusError;
pub use read::{Corpus, jsonl_record, parse_document, parse_jsonl_line, read_document};
pub use write::{to_jsonl_line, write_document};

use serde::{Deserialize, Serialize};

/// One document: an id, its labels (or `None` when unknown), and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// For files: the path relative to the corpus directory (`/`-separated), or the file name; for JSONL the
    /// record's `id` (or `line N` when it has none).
    pub id: String,
    /// The document's labels; `None` when the source does not say (no header, or no `labels` key).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// The body text.
    pub text: String,
}

/// Why a label cannot appear in the `%%%` format, if it cannot.
pub fn label_problem(label: &str) -> Option<&'static str> {
    if label.trim().is_empty() {
        Some("is empty")
    } else if label.contains('|') {
        Some("contains '|'")
    } else if label.contains(['\n', '\r']) {
        Some("contains a line break")
    } else if label.trim() != label {
        Some("has leading or trailing whitespace")
    } else {
        None
    }
}
