//! The model file loader (`TaggerModel::from_bytes`) on valid model files damaged by the input: bit flips
//! anywhere (or in the 24-byte header only), and truncation. The two files are tiny models trained once per
//! process from generated documents: a plain one, and one with a vocabulary, lexical backend and ensemble.
//!
//! Input: a mode byte (bit 0: which model; bit 1: recompute the CRC after damaging; bit 2: truncate), then
//! 5-byte edits (a 4-byte offset, high bit = header only, and an XOR mask).
//!
//! Properties:
//! * damage the CRC does not cover is refused with an error: a damaged file either fails to load or loads a
//!   model equal to the original (its re-encoding is the original file byte for byte); never a model that lost
//!   a part (half-loaded);
//! * with the CRC recomputed (a consistently written but wrong payload), no panic; a model that loads can tag,
//!   explain and re-encode (see `model_bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, edits)) = data.split_first() else { return };
    let original = &tagger_fuzz::model_files()[usize::from(mode & 1)];
    let mut file = original.clone();
    let mut edits = edits.chunks_exact(5);
    if mode & 4 != 0
        && let Some(e) = edits.next()
    {
        let keep = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize % file.len();
        file.truncate(keep);
    }
    for e in edits {
        if file.is_empty() {
            break;
        }
        let raw = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let at =
            if raw & 0x8000_0000 != 0 { (raw as usize & 0xff) % file.len().min(24) } else { raw as usize % file.len() };
        file[at] ^= if e[4] == 0 { 1 } else { e[4] };
    }
    let fixed_crc = mode & 2 != 0 && file.len() >= 24;
    if fixed_crc {
        let crc = tagger_fuzz::crc32(&file[24..]);
        file[20..24].copy_from_slice(&crc.to_le_bytes());
    }
    let loaded = tagger_fuzz::load_model(&file);
    if fixed_crc {
        if let Ok(model) = loaded {
            tagger_fuzz::exercise_model(&model);
            tagger_fuzz::check_reencodes(&model);
        }
        return;
    }
    match loaded {
        Err(_) => {}
        Ok(model) => {
            let again = model.to_bytes().expect("a loaded model encodes");
            assert!(
                &again == original,
                "a damaged model file loaded as a different model: {} of {} bytes differ from the original \
                 (header now {:02x?}); the loader must refuse it",
                file.iter().zip(original.iter()).filter(|(a, b)| a != b).count() + file.len().abs_diff(original.len()),
                original.len(),
                &file[..24.min(file.len())]
            );
        }
    }
});
