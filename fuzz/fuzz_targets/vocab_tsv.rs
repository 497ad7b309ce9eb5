//! Annif's TSV vocabulary (`VocabBuilder::add_tsv`) on arbitrary bytes, merged with a second file.
//!
//! The input is split at the first NUL into two files (`fi`, then `en`). Properties: no panic; see
//! `tagger_fuzz::check_vocabulary` for what a vocabulary that builds must satisfy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tagger_vocab::VocabBuilder;

fuzz_target!(|data: &[u8]| {
    let (first, second) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let mut b = VocabBuilder::new();
    if b.add_tsv(Path::new("v-fi.tsv"), "fi", first).is_err() {
        return;
    }
    if let Some(second) = second
        && b.add_tsv(Path::new("v-en.tsv"), "en", second).is_err()
    {
        return;
    }
    if let Ok(vocab) = b.finish() {
        tagger_fuzz::check_vocabulary(&vocab);
    }
});
