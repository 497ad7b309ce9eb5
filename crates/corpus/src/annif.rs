//! Annif's corpus formats: the *document directory* (`NAME.txt` with its subjects in `NAME.tsv` or `NAME.key`)
//! and the *short-text TSV* (`text\t<URI> <URI>…` a line).
//!
//! Subjects are kept as written: a URI as `<URI>` (angle brackets mark it as a URI), a label as its text. A
//! vocabulary resolves them to concepts later; this crate knows nothing of vocabularies.

use crate::{CorpusError, Document};
use std::path::{Path, PathBuf};

/// The subject file that goes with an Annif document `NAME.txt`: `NAME.tsv`, else `NAME.key`, if one exists.
pub fn subject_file_for(text_path: &Path) -> Option<PathBuf> {
    if !has_extension(text_path, "txt") {
        return None;
    }
    ["tsv", "key"].into_iter().map(|ext| text_path.with_extension(ext)).find(|p| p.is_file())
}

/// True for `NAME.tsv`/`NAME.key` beside a `NAME.txt`: the subjects of an Annif document (or, for a `.key`
/// beside a `.tsv`, subjects that the `.tsv` overrides), not a document.
pub(crate) fn is_subject_file(path: &Path) -> bool {
    (has_extension(path, "tsv") || has_extension(path, "key")) && path.with_extension("txt").is_file()
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Text of a file, or an error naming the line of the first invalid UTF-8 byte. A byte-order mark is dropped.
pub(crate) fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, CorpusError> {
    let skip = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            s.drain(..skip);
            Ok(s)
        }
        Err(e) => {
            let bytes = e.as_bytes();
            let pos = e.utf8_error().valid_up_to();
            Err(CorpusError::format(
                path,
                crate::read::line_of(bytes, pos),
                format!("invalid UTF-8 at byte {pos}; re-encode the file as UTF-8"),
            ))
        }
    }
}

/// Parse an Annif subject file (`.tsv` or `.key`): one subject a line, as `<URI>`, `<URI>\tlabel`, or a label
/// (the URI wins when a line has both). Blank lines are skipped; a repeated subject is kept once.
pub fn parse_subject_file(path: &Path, content: &str) -> Result<Vec<String>, CorpusError> {
    let mut subjects: Vec<String> = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let values: Vec<&str> = line.split('\t').map(str::trim).filter(|v| !v.is_empty()).collect();
        let Some(first) = values.first() else { continue };
        let subject = match values.iter().find(|v| v.starts_with('<')) {
            Some(uri) => checked_uri(path, i + 1, uri)?,
            None => (*first).to_owned(),
        };
        if !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    Ok(subjects)
}

fn checked_uri(path: &Path, line: usize, value: &str) -> Result<String, CorpusError> {
    let inner = value.strip_prefix('<').and_then(|v| v.strip_suffix('>'));
    match inner {
        Some(uri) if !uri.is_empty() && !uri.contains(['<', '>', ' ']) => Ok(format!("<{uri}>")),
        _ => Err(CorpusError::format(path, line, format!("malformed subject URI {value:?}: expected <URI>"))),
    }
}

/// Read an Annif document: the whole `.txt` is the text (no `%%%` header is looked for), the subject file gives
/// its labels.
pub fn read_annif_document(id: &str, text_path: &Path, subject_path: &Path) -> Result<Document, CorpusError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| CorpusError::io(p, e)).and_then(|b| utf8(p, b));
    let text = read(text_path)?;
    let subjects = parse_subject_file(subject_path, &read(subject_path)?)?;
    Ok(Document { id: id.to_owned(), labels: Some(subjects), text })
}

/// True for a short-text TSV corpus file (`.tsv`).
pub(crate) fn is_short_text_tsv(path: &Path) -> bool {
    has_extension(path, "tsv")
}

/// One line of a short-text TSV corpus: `text\t<URI> <URI>…` (subjects separated by whitespace, brackets
/// optional as in Annif); `None` for a blank line. A line without a tab is a text whose subjects are unknown.
/// `path` and `line_no` (1-based) name the line in errors.
pub fn short_text_record(path: &Path, line_no: usize, line: &str) -> Option<Result<Document, CorpusError>> {
    let line = if line_no == 1 { line.trim_start_matches('\u{feff}') } else { line };
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return None;
    }
    let id = format!("line {line_no}");
    let Some((text, subjects)) = line.split_once('\t') else {
        return Some(Ok(Document { id, labels: None, text: line.to_owned() }));
    };
    let mut labels: Vec<String> = Vec::new();
    for s in subjects.split_whitespace() {
        let s = if s.starts_with('<') {
            match checked_uri(path, line_no, s) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            }
        } else {
            s.to_owned()
        };
        if !labels.contains(&s) {
            labels.push(s);
        }
    }
    Some(Ok(Document { id, labels: Some(labels), text: text.to_owned() }))
}
