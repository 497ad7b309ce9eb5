use crate::{CorpusError, Document, label_problem};
use std::io::Write;

/// Write `doc` in the `%%%` format. Refuses (rather than silently alters) documents the format cannot hold:
/// labels with `|`, line breaks or edge whitespace, and header-less documents whose text starts with `%%%`.
pub fn write_document(doc: &Document, mut w: impl Write) -> Result<(), CorpusError> {
    let unwritable = |message: String| CorpusError::Unwritable { id: doc.id.clone(), message };
    match &doc.labels {
        Some(labels) => {
            let mut header = String::from("%%%");
            for l in labels {
                if let Some(p) = label_problem(l) {
                    return Err(unwritable(format!("label {l:?} {p}")));
                }
                header.push_str(l);
                header.push('|');
            }
            header.push_str("\n\n");
            w.write_all(header.as_bytes())?;
        }
        None => {
            if doc.text.starts_with("%%%") || doc.text.starts_with('\u{feff}') {
                return Err(unwritable("text without labels starts with \"%%%\" or a BOM".to_owned()));
            }
        }
    }
    w.write_all(doc.text.as_bytes())?;
    Ok(())
}

/// One JSONL line (without the trailing newline) for `doc`.
pub fn to_jsonl_line(doc: &Document) -> String {
    // Serialising a struct of strings cannot fail.
    serde_json::to_string(doc).unwrap_or_default()
}
