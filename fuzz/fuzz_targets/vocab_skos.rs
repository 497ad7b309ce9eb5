//! SKOS vocabularies (`VocabBuilder::add_rdf`, parsed by oxttl) on arbitrary bytes: Turtle or N-Triples by the
//! first byte.
//!
//! Properties: no panic; see `tagger_fuzz::check_vocabulary` for what a vocabulary that builds must satisfy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tagger_vocab::{VocabBuilder, VocabFormat};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let (name, format) = if which % 4 == 0 { ("v.nt", VocabFormat::NTriples) } else { ("v.ttl", VocabFormat::Turtle) };
    let mut b = VocabBuilder::new();
    if b.add_rdf(Path::new(name), format, rest).is_err() {
        return;
    }
    if let Ok(vocab) = b.finish() {
        tagger_fuzz::check_vocabulary(&vocab);
    }
});
