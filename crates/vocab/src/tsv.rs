//! Annif's TSV vocabulary: `<URI>\tlabel`, optionally `\tnotation`, one line per concept, one language a file.

use crate::build::Fact;
use crate::{Label, LabelKind, VocabError};
use std::path::Path;

/// The URI of a subject written as `<URI>` (Annif's form) or bare, if it looks like one.
pub(crate) fn clean_uri(s: &str) -> Option<&str> {
    let s = s.trim();
    let inner = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')).unwrap_or(s);
    let valid = !inner.is_empty()
        && inner.contains(':')
        && !inner.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\'));
    valid.then_some(inner)
}

pub(crate) fn read(
    path: &Path,
    language: &str,
    mut reader: impl std::io::BufRead,
    emit: &mut dyn FnMut(&str, Fact, usize),
) -> Result<(), VocabError> {
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| VocabError::Io { path: path.to_owned(), error: e })?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let err = |m: String| VocabError::format(path, line_no, m);
        let bytes = if line_no == 1 { buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf) } else { &buf };
        let line = std::str::from_utf8(bytes)
            .map_err(|e| err(format!("invalid UTF-8 at byte {}; re-encode the file as UTF-8", e.valid_up_to())))?;
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let first = cols.next().unwrap_or_default();
        let uri = clean_uri(first).ok_or_else(|| {
            err(format!("expected a concept URI like <http://example.org/c1> before the first tab, found {first:?}"))
        })?;
        let label = cols.next().map(str::trim).unwrap_or_default();
        if label.is_empty() {
            return Err(err(format!("<{uri}> has no label: expected <URI>, a tab, then the label")));
        }
        let notation = cols.next().map(str::trim).filter(|n| !n.is_empty());
        if cols.next().is_some() {
            return Err(err("more than three tab-separated columns (expected <URI>, label, notation)".into()));
        }
        emit(uri, Fact::IsConcept, line_no);
        let label = Label { language: language.to_owned(), kind: LabelKind::Pref, text: label.to_owned() };
        emit(uri, Fact::Label(label), line_no);
        if let Some(n) = notation {
            emit(uri, Fact::Notation(n.to_owned()), line_no);
        }
    }
}
