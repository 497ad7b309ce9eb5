//! The model file loader (`TaggerModel::from_bytes`) on arbitrary bytes.
//!
//! The first byte chooses how the rest is used: as a whole file, or as the payload of a file with a well-formed
//! header (magic, a format version 3–5 chosen by the input, the payload's length and CRC-32), so that mutations
//! reach the postcard decoder and the model's consistency checks instead of stopping at the checksum.
//! Properties: no panic, no unbounded allocation; a file that loads can tag, explain and tag in batches (scores
//! in [0, 1], evidence spans inside the text), and re-encodes to bytes that load to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let file = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let version = 3 + u32::from(mode >> 1) % 3;
        let mut file = Vec::with_capacity(24 + rest.len());
        file.extend_from_slice(b"TAGGERMD");
        file.extend_from_slice(&version.to_le_bytes());
        file.extend_from_slice(&(rest.len() as u64).to_le_bytes());
        file.extend_from_slice(&crc(rest).to_le_bytes());
        file.extend_from_slice(rest);
        file
    };
    let Ok(model) = tagger_fuzz::load_model(&file) else { return };
    tagger_fuzz::exercise_model(&model);
    tagger_fuzz::check_reencodes(&model);
});

fn crc(bytes: &[u8]) -> u32 {
    tagger_fuzz::crc32(bytes)
}
