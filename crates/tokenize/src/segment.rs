//! Segmenters: turn normalised text into word spans (byte ranges into the normalised text).

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Which word splitter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Segmenter {
    /// Decide per document from the text itself (see [`detect`]): English-like text gets [`Segmenter::Words`],
    /// Chinese already segmented with spaces gets [`Segmenter::Whitespace`], unsegmented Chinese gets
    /// [`Segmenter::Jieba`].
    #[default]
    Auto,
    /// Split on Unicode whitespace only: for text that is already word-segmented.
    Whitespace,
    /// Words and numbers as runs of letters/digits (keeping `don't`, `5.93`, `155,221`, `u.s`), every other
    /// non-space character a token of its own. Runs of Han characters are kept whole.
    Words,
    /// jieba-rs (embedded dictionary, HMM for unknown words) on runs of Han characters; everything else as in
    /// [`Segmenter::Words`].
    Jieba,
}

/// Statistics behind [`detect`], exposed so callers can record why a corpus was treated one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptStats {
    /// Han characters in the text.
    pub han_chars: usize,
    /// Non-whitespace characters in the text.
    pub non_space_chars: usize,
    /// Whitespace-separated chunks that contain at least one Han character.
    pub han_chunks: usize,
}

impl ScriptStats {
    /// Count the statistics of a text.
    pub fn of(text: &str) -> Self {
        let mut s = ScriptStats::default();
        for chunk in text.split(char::is_whitespace).filter(|c| !c.is_empty()) {
            let mut has_han = false;
            for c in chunk.chars() {
                s.non_space_chars += 1;
                if is_han(c) {
                    s.han_chars += 1;
                    has_han = true;
                }
            }
            s.han_chunks += usize::from(has_han);
        }
        s
    }

    /// Add another text's statistics (for corpus-level detection).
    pub fn add(&mut self, other: ScriptStats) {
        self.han_chars += other.han_chars;
        self.non_space_chars += other.non_space_chars;
        self.han_chunks += other.han_chunks;
    }

    /// The segmenter these statistics call for.
    ///
    /// Text where under 10% of the characters are Han is treated as alphabetic. Otherwise, if the Han
    /// characters come in short space-separated chunks (at most 4 per chunk on average; real Chinese words
    /// average under 2 characters), the text is taken as already segmented; else it is unsegmented Chinese.
    pub fn segmenter(&self) -> Segmenter {
        if self.han_chars * 10 < self.non_space_chars || self.han_chars == 0 {
            Segmenter::Words
        } else if self.han_chars <= 4 * self.han_chunks {
            Segmenter::Whitespace
        } else {
            Segmenter::Jieba
        }
    }
}

/// The concrete segmenter [`Segmenter::Auto`] picks for this text.
pub fn detect(text: &str) -> Segmenter {
    // Every Han character is at or above U+3007, whose UTF-8 form starts with a byte ≥ 0xE3 (as every character
    // from U+3000 does): text without such a byte has none, so skip the statistics pass (English, Finnish, …).
    if !text.bytes().any(|b| b >= 0xE3) {
        return Segmenter::Words;
    }
    ScriptStats::of(text).segmenter()
}

/// Is `c` a Han (CJK ideograph) character?
#[inline]
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF | 0xF900..=0xFAFF | 0x3007)
}

fn jieba() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

/// Load jieba's dictionary now rather than on the first Chinese document (servers call this at start-up).
pub fn warm_up() {
    let _ = jieba();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Alnum,
    Han,
    Other,
}

#[inline]
fn class(c: char) -> Class {
    if c.is_ascii() {
        // `char::is_whitespace` on ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
        let b = c as u8;
        return if b.is_ascii_alphanumeric() {
            Class::Alnum
        } else if b.is_ascii_whitespace() || b == 0x0B {
            Class::Space
        } else {
            Class::Other
        };
    }
    if crate::normalize::is_latin1_upper_half(c) {
        // Latin-1 letters (`ä`, `ö`, `é`, …) without a Unicode table: alphanumeric but `×` and `÷` (tested).
        return if c == '×' || c == '÷' { Class::Other } else { Class::Alnum };
    }
    class_general(c)
}

/// [`class`] from the Unicode properties, for characters its fast paths do not cover.
fn class_general(c: char) -> Class {
    if c.is_whitespace() {
        Class::Space
    } else if is_han(c) {
        Class::Han
    } else if c.is_alphanumeric() {
        Class::Alnum
    } else {
        Class::Other
    }
}

/// Does `c` join the alphanumeric run when it sits between `prev` and `next`?
#[inline]
fn joins(prev: char, c: char, next: char) -> bool {
    match c {
        '\'' | '’' => prev.is_alphabetic() && next.is_alphabetic(),
        '.' => prev.is_alphanumeric() && next.is_alphanumeric() && !is_han(prev) && !is_han(next),
        ',' => prev.is_ascii_digit() && next.is_ascii_digit(),
        _ => false,
    }
}

/// Call `emit(start, end)` for every word of `text` under a concrete (non-auto) segmenter.
pub(crate) fn segment(text: &str, seg: Segmenter, emit: &mut impl FnMut(usize, usize)) {
    match seg {
        Segmenter::Auto => segment(text, detect(text), emit),
        Segmenter::Whitespace => {
            let mut start = None;
            for (i, c) in text.char_indices() {
                match (c.is_whitespace(), start) {
                    (true, Some(s)) => {
                        emit(s, i);
                        start = None;
                    }
                    (false, None) => start = Some(i),
                    _ => {}
                }
            }
            if let Some(s) = start {
                emit(s, text.len());
            }
        }
        Segmenter::Words => words(text, false, emit),
        Segmenter::Jieba => words(text, true, emit),
    }
}

/// [`words`] for pure-ASCII text, on bytes (no char decoding, no Han): the same spans, several times faster.
fn words_ascii(text: &str, emit: &mut impl FnMut(usize, usize)) {
    let b = text.as_bytes();
    let alnum = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphanumeric);
    let mut k = 0;
    while k < b.len() {
        let c = b[k];
        if c.is_ascii_whitespace() || c == 0x0B {
            k += 1;
        } else if !c.is_ascii_alphanumeric() {
            emit(k, k + 1);
            k += 1;
        } else {
            let mut j = k + 1;
            while j < b.len() {
                if b[j].is_ascii_alphanumeric() {
                    j += 1;
                } else if alnum(j + 1) && joins(b[j - 1] as char, b[j] as char, b[j + 1] as char) {
                    j += 2;
                } else {
                    break;
                }
            }
            emit(k, j);
            k = j;
        }
    }
}

fn words(text: &str, use_jieba: bool, emit: &mut impl FnMut(usize, usize)) {
    if text.is_ascii() {
        return words_ascii(text, emit);
    }
    words_general(text, use_jieba, emit);
}

#[cfg(test)]
fn words_general_for_test(text: &str, emit: &mut impl FnMut(usize, usize)) {
    words_general(text, false, emit);
}

/// The character starting at byte `i` of `text` (a character boundary), if any.
#[inline]
fn char_at(text: &str, i: usize) -> Option<char> {
    match text.as_bytes().get(i) {
        Some(&b) if b < 0x80 => Some(char::from(b)),
        _ => text.get(i..).and_then(|rest| rest.chars().next()),
    }
}

/// Emit the run of Han characters `text[start..end]`: whole, or cut into words by jieba.
fn emit_han_run(text: &str, start: usize, end: usize, use_jieba: bool, emit: &mut impl FnMut(usize, usize)) {
    if use_jieba {
        for w in jieba().cut(&text[start..end], true) {
            if w.byte_end > w.byte_start {
                emit(start + w.byte_start, start + w.byte_end);
            }
        }
    } else {
        emit(start, end);
    }
}

fn words_general(text: &str, use_jieba: bool, emit: &mut impl FnMut(usize, usize)) {
    let mut k = 0;
    while let Some(c) = char_at(text, k) {
        let start = k;
        k += c.len_utf8();
        match class(c) {
            Class::Space => {}
            Class::Other => emit(start, k),
            Class::Han => {
                while let Some(cj) = char_at(text, k).filter(|&cj| class(cj) == Class::Han) {
                    k += cj.len_utf8();
                }
                emit_han_run(text, start, k, use_jieba, emit);
            }
            Class::Alnum => {
                // `prev` is the run's last character; a joiner (see [`joins`]) between two alphanumerics
                // continues it.
                let mut prev = c;
                while let Some(cj) = char_at(text, k) {
                    if class(cj) == Class::Alnum {
                        prev = cj;
                        k += cj.len_utf8();
                        continue;
                    }
                    let after = k + cj.len_utf8();
                    match char_at(text, after) {
                        Some(next) if class(next) == Class::Alnum && joins(prev, cj, next) => {
                            prev = next;
                            k = after + next.len_utf8();
                        }
                        _ => break,
                    }
                }
                emit(start, k);
            }
        }
    }
}

/// The segmentation of [`words_general`] as first written (a vector of the text's characters, walked by
/// index): the reference its rewrite is tested against.
#[cfg(test)]
fn words_general_reference(text: &str, use_jieba: bool, emit: &mut impl FnMut(usize, usize)) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(text.len(), |&(p, _)| p);
    let mut k = 0;
    while k < chars.len() {
        let (start, c) = chars[k];
        match class(c) {
            Class::Space => k += 1,
            Class::Other => {
                emit(start, end_of(k + 1));
                k += 1;
            }
            Class::Han => {
                let mut j = k + 1;
                while j < chars.len() && class(chars[j].1) == Class::Han {
                    j += 1;
                }
                emit_han_run(text, start, end_of(j), use_jieba, emit);
                k = j;
            }
            Class::Alnum => {
                let mut j = k + 1;
                while j < chars.len() {
                    let cj = chars[j].1;
                    if class(cj) == Class::Alnum {
                        j += 1;
                    } else if j + 1 < chars.len()
                        && class(chars[j + 1].1) == Class::Alnum
                        && joins(chars[j - 1].1, cj, chars[j + 1].1)
                    {
                        j += 2;
                    } else {
                        break;
                    }
                }
                emit(start, end_of(j));
                k = j;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Latin-1 fast path classes every character of U+0080–U+017F as the Unicode properties do.
    #[test]
    fn class_of_latin1_matches_the_unicode_properties() {
        for c in (0x80..0x180u32).filter_map(char::from_u32) {
            assert!(class(c) == class_general(c), "{c:?}");
        }
    }

    fn check(text: &str, seg: Segmenter, expect: &[&str]) {
        let mut got = Vec::new();
        segment(text, seg, &mut |s, e| got.push(&text[s..e]));
        assert_eq!(got, expect, "segmenting {text:?} with {seg:?}");
    }

    #[test]
    fn segmenters() {
        check("  a  bc\td ", Segmenter::Whitespace, &["a", "bc", "d"]);
        check(
            "u.s. exports rose 5.93 pct, to 155,221 bags; don't.",
            Segmenter::Words,
            &["u.s", ".", "exports", "rose", "5.93", "pct", ",", "to", "155,221", "bags", ";", "don't", "."],
        );
        check("a-b", Segmenter::Words, &["a", "-", "b"]);
        check("原告诉称", Segmenter::Words, &["原告诉称"]);
        check("原告林某某诉称：我与被告", Segmenter::Jieba, &["原告", "林", "某某", "诉称", "：", "我", "与", "被告"]);
    }

    #[test]
    fn ascii_fast_path_matches_the_general_one() {
        let cases = [
            "u.s. exports rose 5.93 pct, to 155,221 bags; don't.",
            "a-b  c\td\u{b}e\x0cf 'x' y' 1,2,3 1,a a.1 ..a a.. 12.5%",
            "",
            "   ",
            "x",
        ];
        for text in cases {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            words_ascii(text, &mut |s, e| fast.push((s, e)));
            // The general path on the same text (forced by skipping the ASCII check).
            let chars: Vec<char> = text.chars().collect();
            assert!(chars.iter().all(char::is_ascii));
            words_general_for_test(text, &mut |s, e| slow.push((s, e)));
            assert_eq!(fast, slow, "{text:?}");
        }
    }

    proptest::proptest! {
        /// Letters, digits, joiners, spaces, punctuation, accented and combining characters, Han, other scripts.
        #[test]
        fn words_match_the_reference_segmentation(
            text in "[a-zA-Z09 .,'’\t\n\u{b}äöÅßé\u{301}\u{3000}原告诉称〇𠀀Кк٣½—!?-]{0,40}",
            use_jieba in proptest::bool::ANY,
        ) {
            let (mut got, mut want) = (Vec::new(), Vec::new());
            words_general(&text, use_jieba, &mut |s, e| got.push((s, e)));
            words_general_reference(&text, use_jieba, &mut |s, e| want.push((s, e)));
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn ascii_fast_path_matches_for_any_ascii(text in "[ -~\t\n\r\x0b\x0c]{0,60}") {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            words_ascii(&text, &mut |s, e| fast.push((s, e)));
            words_general_for_test(&text, &mut |s, e| slow.push((s, e)));
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn detection() {
        assert_eq!(detect("Showers continued throughout the week"), Segmenter::Words);
        assert_eq!(detect("安全 理事会 和 各 区域 组织"), Segmenter::Whitespace);
        assert_eq!(detect("原告林某某诉称我与被告经人介绍建立恋爱关系"), Segmenter::Jieba);
        assert_eq!(detect(""), Segmenter::Words);
        // Latin letters beyond ASCII take the quick path to the same answer as the statistics.
        for text in ["Mäntän musiikkijuhlat ÄÖÅ", "Кириллица", "ß ﬁ ＡＢＣ", "\u{2FFF} x"] {
            assert_eq!(detect(text), Segmenter::Words, "{text}");
            assert_eq!(ScriptStats::of(text).segmenter(), Segmenter::Words, "{text}");
        }
        // The lowest Han character (U+3007) and the blocks above are seen.
        assert_eq!(detect("〇〇〇〇〇〇〇"), ScriptStats::of("〇〇〇〇〇〇〇").segmenter());
        assert_ne!(detect("〇〇〇〇〇〇〇"), Segmenter::Words);
        assert_eq!(detect("𠀀𠀁𠀂𠀃𠀄𠀅"), Segmenter::Jieba);
    }
}
