//! JSONL corpus lines (`tagger_corpus::jsonl_record`, `parse_jsonl_line`) on arbitrary text, and
//! `to_jsonl_line` against them.
//!
//! Properties: no panic; a record that parses is written back by `to_jsonl_line` as one line that parses to the
//! same document; the reader never returns a blank label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tagger_corpus::{jsonl_record, parse_jsonl_line, to_jsonl_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.jsonl");
    // Line 1 (where a byte-order mark is dropped) and a later line.
    for line_no in [1, 7] {
        let Some(Ok(doc)) = jsonl_record(path, line_no, text) else { continue };
        if let Some(labels) = &doc.labels {
            assert!(labels.iter().all(|l| !l.trim().is_empty()), "blank label in {doc:?}");
        }
        let line = to_jsonl_line(&doc);
        assert!(!line.contains('\n') && !line.contains('\r'), "to_jsonl_line wrote a line break: {line:?}");
        let again = parse_jsonl_line(path, line_no, &line)
            .unwrap_or_else(|e| panic!("to_jsonl_line wrote an unreadable line {line:?}: {e}"));
        assert_eq!(again, doc, "through {line:?}");
    }
});
