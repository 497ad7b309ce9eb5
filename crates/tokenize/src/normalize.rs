//! Unicode normalisation that remembers where every output byte came from.
//!
//! The pipeline segments the *normalised* text (so that full-width punctuation, compatibility characters and
//! case differences do not split the vocabulary), but tokens must point back into the *original* input so that
//! explanations can highlight the source. Normalisation is therefore applied one character at a time and a
//! byte map is kept whenever the byte length of any character changed.

use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// How text is normalised before segmentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Apply Unicode NFKC per character (full-width forms become ASCII, ligatures are split, …).
    ///
    /// Per-character NFKC does not compose a base letter with a following combining mark; documents in
    /// decomposed form (NFD) keep their marks as separate characters. Pre-composed text, which is what
    /// nearly every source produces, is unaffected.
    pub nfkc: bool,
    /// Lower-case letters (Unicode `to_lowercase`; a no-op for scripts without case such as Han).
    pub lowercase: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self { nfkc: true, lowercase: true }
    }
}

/// Normalised text plus, when byte lengths changed, the map back to the original.
#[derive(Debug)]
pub(crate) struct Normalized {
    pub text: String,
    /// `map[i]` = (start, end) of the original character that produced normalised byte `i`.
    /// `None` when every character kept its byte length, so byte `i` maps to byte `i`.
    map: Option<Vec<(u32, u32)>>,
}

impl Normalized {
    /// The original byte span of normalised bytes `start..end` (`start < end`).
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        match &self.map {
            None => (start, end),
            Some(map) => (map[start].0 as usize, map[end - 1].1 as usize),
        }
    }
}

#[inline]
fn is_identity_fast(c: char) -> bool {
    // CJK unified ideographs and Hangul syllables are NFKC-stable and have no case; skipping the normaliser for
    // them keeps Chinese text on the fast path.
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xAC00..=0xD7A3)
}

/// The letters of Latin-1 (U+00C0–U+00FF: `ä`, `ö`, `é`, …, with `×` and `÷`): NFKC-stable, of combining class 0,
/// and lower-cased by one offset (tested against the Unicode tables for every one), so the Finnish, Swedish,
/// German or French text of a European library does not consult the tables for them.
#[inline]
pub(crate) fn is_latin1_upper_half(c: char) -> bool {
    matches!(c as u32, 0xC0..=0xFF)
}

/// `c.to_lowercase()` for [`is_latin1_upper_half`] characters: U+00C0–U+00DE but `×` are capitals 0x20 below their
/// small letter.
#[inline]
fn latin1_lowercase(c: char) -> char {
    match c as u32 {
        x @ (0xC0..=0xD6 | 0xD8..=0xDE) => char::from_u32(x + 0x20).unwrap_or(c),
        _ => c,
    }
}

/// [`is_nfkc_quick`] of `input`, asked only of the runs of characters that are neither ASCII nor Latin-1 letters:
/// those are NFKC-stable starters (combining class 0), which end any reordering a run could need, so the answer
/// is the same as for the whole text (tested) without a table lookup per accented letter.
fn nfkc_quick(input: &str) -> IsNormalized {
    let bytes = input.as_bytes();
    // Bytes below 0x80 are ASCII characters and 0xC3 leads U+00C0–U+00FF: both start a character, never continue one.
    let fast = |b: u8| b < 0x80 || b == 0xC3;
    let mut result = IsNormalized::Yes;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x80 {
            i += 1;
        } else if bytes[i] == 0xC3 {
            i += 2;
        } else {
            let start = i;
            i += 1;
            while i < bytes.len() && !fast(bytes[i]) {
                i += 1;
            }
            match input.get(start..i).map(|run| is_nfkc_quick(run.chars())) {
                Some(IsNormalized::Yes) => {}
                Some(IsNormalized::Maybe) => result = IsNormalized::Maybe,
                Some(IsNormalized::No) | None => return IsNormalized::No,
            }
        }
    }
    result
}

fn push_normalized(c: char, cfg: &NormalizeConfig, out: &mut String) {
    if c.is_ascii() {
        out.push(if cfg.lowercase { c.to_ascii_lowercase() } else { c });
        return;
    }
    if is_latin1_upper_half(c) {
        out.push(if cfg.lowercase { latin1_lowercase(c) } else { c });
        return;
    }
    if is_identity_fast(c) {
        out.push(c);
        return;
    }
    let mut emit = |d: char| {
        if cfg.lowercase {
            out.extend(d.to_lowercase());
        } else {
            out.push(d);
        }
    };
    if cfg.nfkc {
        std::iter::once(c).nfkc().for_each(&mut emit);
    } else {
        emit(c);
    }
}

pub(crate) fn normalize(input: &str, cfg: &NormalizeConfig) -> Normalized {
    if input.is_ascii() {
        // ASCII is NFKC-stable and lower-cases byte for byte: no map needed (the common English case).
        let text = if cfg.lowercase { input.to_ascii_lowercase() } else { input.to_owned() };
        return Normalized { text, map: None };
    }
    // Most text is already in NFKC: then NFKC changes no character (each has NFKC_QC = Yes, so each alone is
    // normalised too) and only lower-casing remains, without building a decomposition per character.
    let lower_only;
    let cfg = if cfg.nfkc && nfkc_quick(input) == IsNormalized::Yes {
        lower_only = NormalizeConfig { nfkc: false, ..cfg.clone() };
        &lower_only
    } else {
        cfg
    };
    let mut text = String::with_capacity(input.len());
    let mut same_lengths = true;
    let mut rest = input;
    while !rest.is_empty() {
        // A run of ASCII is copied at once (and lower-cased in place): each of its characters stays one byte.
        let ascii = rest.bytes().position(|b| !b.is_ascii()).unwrap_or(rest.len());
        if ascii > 0 {
            let before = text.len();
            text.push_str(&rest[..ascii]);
            if cfg.lowercase
                && let Some(run) = text.get_mut(before..)
            {
                run.make_ascii_lowercase();
            }
            rest = &rest[ascii..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        rest = &rest[c.len_utf8()..];
        let before = text.len();
        push_normalized(c, cfg, &mut text);
        // Byte `i` maps to byte `i` only if every character became exactly one character of the same length
        // (a 3-byte character that became two characters would put token boundaries inside the source one).
        same_lengths &= text.len() - before == c.len_utf8() && text[before..].chars().nth(1).is_none();
    }
    if same_lengths {
        return Normalized { text, map: None };
    }
    // Second pass only for the rare documents whose byte lengths changed: build the byte map.
    let mut map = Vec::with_capacity(text.len());
    let mut scratch = String::new();
    for (pos, c) in input.char_indices() {
        scratch.clear();
        push_normalized(c, cfg, &mut scratch);
        let span = (pos as u32, (pos + c.len_utf8()) as u32);
        map.extend(std::iter::repeat_n(span, scratch.len()));
    }
    debug_assert_eq!(map.len(), text.len());
    Normalized { text, map: Some(map) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let n = normalize(input, &NormalizeConfig::default());
        assert_eq!(n.text, expect, "normalising {input:?}");
    }

    #[test]
    fn full_width_and_case() {
        check("ＡＢＣ１２３", "abc123");
        check("Hello，世界！", "hello,世界!");
        check("ﬁle", "file");
        check("ÉCOLE", "école");
        check("联合国", "联合国");
    }

    #[test]
    fn text_already_in_nfkc_takes_the_quick_path_with_the_same_result() {
        // The reference: NFKC of each character, then lower-casing, as for text that is not in NFKC.
        let reference = |s: &str| -> String {
            s.chars().flat_map(|c| std::iter::once(c).nfkc().collect::<Vec<_>>()).flat_map(char::to_lowercase).collect()
        };
        for input in [
            "Mäntän musiikkijuhlat ÄÖÅ",
            "Ωmega ＡＢＣ ﬁx",
            "a\u{0308}b ä",
            "İstanbul ΣΑΣ straße",
            "Кириллица и 漢字",
            "e\u{0301}\u{0323} x",
        ] {
            assert_eq!(normalize(input, &NormalizeConfig::default()).text, reference(input), "{input:?}");
        }
    }

    /// Every Latin-1 letter is what the fast paths take it for: NFKC-stable, combining class 0, lower-cased as
    /// `char::to_lowercase` does (one character); and the quick check asked of the other runs answers as the
    /// library does for the whole text.
    #[test]
    fn latin1_letters_take_the_fast_paths_exactly() {
        use unicode_normalization::char::canonical_combining_class;
        for c in (0xC0..=0xFFu32).filter_map(char::from_u32) {
            assert!(is_latin1_upper_half(c));
            assert_eq!(std::iter::once(c).nfkc().collect::<String>(), c.to_string(), "{c:?}");
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            assert_eq!(is_nfkc_quick(std::iter::once(c)), IsNormalized::Yes, "{c:?}");
            assert_eq!(c.to_lowercase().collect::<String>(), latin1_lowercase(c).to_string(), "{c:?}");
        }
        for c in (0x80..0xC0u32).chain(0x100..0x180).filter_map(char::from_u32) {
            assert!(!is_latin1_upper_half(c), "{c:?}");
        }
    }

    /// Normalisation character by character, as first written: the reference for the ASCII runs' quick copy.
    fn reference(input: &str, cfg: &NormalizeConfig) -> (String, Option<Vec<(u32, u32)>>) {
        let cfg = if cfg.nfkc && is_nfkc_quick(input.chars()) == IsNormalized::Yes {
            NormalizeConfig { nfkc: false, ..cfg.clone() }
        } else {
            cfg.clone()
        };
        let mut text = String::new();
        let mut same_lengths = true;
        let mut map = Vec::new();
        for (pos, c) in input.char_indices() {
            let before = text.len();
            push_normalized(c, &cfg, &mut text);
            same_lengths &=
                text.len() - before == c.len_utf8() && (c.is_ascii() || text[before..].chars().nth(1).is_none());
            map.extend(std::iter::repeat_n((pos as u32, (pos + c.len_utf8()) as u32), text.len() - before));
        }
        (text, (!same_lengths).then_some(map))
    }

    proptest::proptest! {
        /// The quick check asked of the runs between ASCII and Latin-1 letters answers as the library does for
        /// the whole text, combining marks in any order around them included.
        #[test]
        fn the_quick_check_skips_latin1_letters_without_changing_its_answer(
            input in "[aäÄéÿ×ÀÞßª²µ \u{301}\u{308}\u{323}\u{316}ＡﬁΣ々\u{ac00}\u{1100}\u{1161}]{0,24}",
        ) {
            proptest::prop_assert_eq!(nfkc_quick(&input), is_nfkc_quick(input.chars()));
        }

        #[test]
        fn ascii_runs_normalise_as_each_character_would(
            input in "[a-zA-Z0-9 .,\t\nÄäÖöÅßéŉİΣＡ１ﬁ\u{301}原告〇]{0,40}",
            nfkc in proptest::bool::ANY,
            lowercase in proptest::bool::ANY,
        ) {
            let cfg = NormalizeConfig { nfkc, lowercase };
            let n = normalize(&input, &cfg);
            let (text, map) = reference(&input, &cfg);
            proptest::prop_assert_eq!(&n.text, &text);
            proptest::prop_assert_eq!(n.map, map);
        }
    }

    #[test]
    fn map_points_back_to_source_characters() {
        let input = "ａb ﬁx";
        let n = normalize(input, &NormalizeConfig::default());
        assert_eq!(n.text, "ab fix");
        // "fi" came from the single ligature character; "x" from the last byte.
        let (s, e) = n.original_span(3, 5);
        assert_eq!(&input[s..e], "ﬁ");
        let (s, e) = n.original_span(3, 6);
        assert_eq!(&input[s..e], "ﬁx");
    }
}
