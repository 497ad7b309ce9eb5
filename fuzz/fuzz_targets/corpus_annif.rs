//! Annif's corpus formats: subject files of the document directory (`NAME.tsv`/`NAME.key`,
//! `tagger_corpus::annif::parse_subject_file`) and short-text TSV lines (`annif::short_text_record`).
//!
//! The first byte chooses the reader; the rest is the input. Properties: no panic; subjects are non-empty,
//! trimmed, free of tabs and line breaks, never repeated, and a subject in angle brackets is a well-formed
//! `<URI>`; subjects written one a line read back equal; a short-text record written back as
//! `text\tsubject subject…` reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tagger_corpus::Document;
use tagger_corpus::annif::{parse_subject_file, short_text_record};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match which % 3 {
        0 | 1 => subject_file(if which % 3 == 0 { "doc.tsv" } else { "doc.key" }, text),
        _ => {
            for (i, line) in text.split('\n').enumerate() {
                short_text_line(i + 1, line);
            }
        }
    }
});

fn check_subject(s: &str, whitespace_free: bool) {
    assert!(!s.is_empty() && s.trim() == s, "subject {s:?} is empty or padded");
    assert!(!s.contains(['\t', '\n']), "subject {s:?} holds a tab or line break");
    if whitespace_free {
        assert!(!s.chars().any(char::is_whitespace), "short-text subject {s:?} holds whitespace");
    }
    if let Some(inner) = s.strip_prefix('<') {
        let uri = inner.strip_suffix('>').unwrap_or_else(|| panic!("unterminated URI subject {s:?}"));
        assert!(!uri.is_empty() && !uri.contains(['<', '>', ' ']), "malformed URI subject {s:?}");
    }
}

fn subject_file(name: &str, text: &str) {
    let path = Path::new(name);
    let Ok(subjects) = parse_subject_file(path, text) else { return };
    for (i, s) in subjects.iter().enumerate() {
        check_subject(s, false);
        assert!(!subjects[..i].contains(s), "subject {s:?} returned twice");
    }
    let written: String = subjects.iter().map(|s| format!("{s}\n")).collect();
    let again = parse_subject_file(path, &written)
        .unwrap_or_else(|e| panic!("subjects written one a line do not read back: {e}\n{written:?}"));
    assert_eq!(again, subjects, "through {written:?}");
}

fn short_text_line(line_no: usize, line: &str) {
    let path = Path::new("corpus.tsv");
    let Some(Ok(doc)) = short_text_record(path, line_no, line) else { return };
    assert_eq!(doc.id, format!("line {line_no}"));
    assert!(!doc.text.contains(['\t', '\n']), "text {:?} holds a tab or line break", doc.text);
    let Some(labels) = &doc.labels else {
        assert!(!line.contains('\t'), "a line with a tab lost its subjects");
        return;
    };
    for (i, s) in labels.iter().enumerate() {
        check_subject(s, true);
        assert!(!labels[..i].contains(s), "subject {s:?} returned twice");
    }
    let written = format!("{}\t{}", doc.text, labels.join(" "));
    let again: Document = short_text_record(path, line_no, &written)
        .unwrap_or_else(|| panic!("record written as {written:?} reads as a blank line"))
        .unwrap_or_else(|e| panic!("record written as {written:?} does not read back: {e}"));
    assert_eq!(again, doc, "through {written:?}");
}
