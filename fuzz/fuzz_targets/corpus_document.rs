//! The `%%%` document reader (`tagger_corpus::parse_document`) on arbitrary bytes, and the writer against it.
//!
//! Properties: no panic; a document that parses and that `write_document` accepts is read back equal (id,
//! labels, text); the reader never returns an empty, padded or repeated label, or one with `|` or a line break.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tagger_corpus::{Document, label_problem, parse_document, write_document};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.txt");
    let Ok(doc) = parse_document("fuzz.txt", path, data) else { return };
    if let Some(labels) = &doc.labels {
        for (i, l) in labels.iter().enumerate() {
            assert!(label_problem(l).is_none(), "the reader returned label {l:?}: {:?}", label_problem(l));
            assert!(!labels[..i].contains(l), "the reader returned {l:?} twice");
        }
    }
    round_trip(&doc);
    // The same document with the labels it would have had the other way round: labels become unknown, and
    // unknown labels become an empty list.
    let flipped = Document { labels: if doc.labels.is_some() { None } else { Some(Vec::new()) }, ..doc };
    round_trip(&flipped);
});

/// Written and read back, a document is the same document, or the writer refuses it.
fn round_trip(doc: &Document) {
    let mut bytes = Vec::new();
    if write_document(doc, &mut bytes).is_err() {
        return;
    }
    let again = parse_document(&doc.id, Path::new("fuzz.txt"), &bytes)
        .unwrap_or_else(|e| panic!("a written document does not read back: {e}\n{doc:?}"));
    assert_eq!(&again, doc, "written as {:?}", String::from_utf8_lossy(&bytes));
}
