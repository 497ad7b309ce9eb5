//! The Snowball Finnish stemmer, written for speed: the same stems as `rust_stemmers`' Finnish algorithm
//! (checked word for word by this module's tests, on generated words and, when `../shared/data` is present, on
//! every word of the Finnish corpora), at about a third of its cost (callgrind, tagging `kirjastonhoitaja`'s
//! training documents: 2,900 → 900 instructions a word).
//!
//! Stemming the words a model has not seen yet is the largest single cost of tagging a Finnish text the first
//! time. `rust_stemmers` runs the generated Snowball program on a general string machine (a binary search per
//! suffix list, a new string per deletion). Finnish stemming only ever cuts suffixes, rewrites one final
//! letter (`kse` → `ksi`) and, last, drops one letter of a doubled non-vowel, so this version works on the
//! word's bytes in a stack buffer, checks each rule's few suffixes directly (case endings chosen by the last
//! letter), and builds one string at the end.
//!
//! The rules, in the order the algorithm applies them (each acts on the end of the word as the previous ones
//! left it; `R1` and `R2` are the regions after the first and second vowel–non-vowel transition):
//! particles (`-kin`, `-kaan`, `-han`, `-pa`, `-sti`…), possessive suffixes (`-ni`, `-si`, `-nsa`, `-mme`…),
//! case endings (`-ssa`, `-lla`, `-ksi`, illatives, genitive plurals…), comparative and superlative endings,
//! then the `i`/`j` plural after a case ending or else the `t` plural, and a tidy step (undouble a final long
//! vowel, drop a final `a`/`ä`/`e`/`i` after a non-vowel, `-oj`/`-uj` → `-o`/`-u`, `-jo` → `-j`, and undouble
//! the last non-vowel).

/// Longest word stemmed here, in bytes; longer words go to `rust_stemmers` (tokens are at most 40 characters
/// with the default filters, and Finnish letters take one or two bytes).
const MAX: usize = 96;

/// `ä` and `ö` in UTF-8: the lead byte and the two second bytes.
const LEAD: u8 = 0xC3;
const A_UML: u8 = 0xA4;
const O_UML: u8 = 0xB6;

/// A word being stemmed: its bytes, the current length (a character boundary: every rule cuts whole
/// characters) and the two region starts, in bytes.
struct Word {
    b: [u8; MAX],
    len: usize,
    p1: usize,
    p2: usize,
}

impl Word {
    /// Whether `s` ends at `end` and starts at or after `lb`. (Every suffix starts with an ASCII letter or a
    /// lead byte, so a match is a match of whole characters.)
    fn ends(&self, end: usize, lb: usize, s: &[u8]) -> bool {
        end >= lb + s.len() && &self.b[end - s.len()..end] == s
    }

    /// Start of the character that ends at `at` (`at` > 0).
    fn char_start(&self, at: usize) -> usize {
        let mut s = at - 1;
        while s > 0 && self.b[s] & 0xC0 == 0x80 {
            s -= 1;
        }
        s
    }

    /// Whether the character ending at `at` is a vowel of Snowball's `V1` (`aeiouyäö`); false at 0.
    fn v1_at(&self, at: usize) -> bool {
        at >= 1 && matches!(self.b[at - 1], b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
            || at >= 2 && self.b[at - 2] == LEAD && matches!(self.b[at - 1], A_UML | O_UML)
    }

    /// `V1` without `y` (Snowball's `V2`).
    fn v2_at(&self, at: usize) -> bool {
        self.v1_at(at) && self.b[at - 1] != b'y'
    }

    /// A long vowel (`aa`, `ee`, `ii`, `oo`, `uu`, `ää`, `öö`) ending at `at`, inside the region from `lb`.
    fn long_at(&self, at: usize, lb: usize) -> bool {
        const LONG: [&[u8]; 7] = [b"aa", b"ee", b"ii", b"oo", b"uu", "ää".as_bytes(), "öö".as_bytes()];
        LONG.iter().any(|s| self.ends(at, lb, s))
    }

    /// `i` after a `V2` vowel, ending at `at`, inside the region from `lb`.
    fn vi_at(&self, at: usize, lb: usize) -> bool {
        at > lb + 1 && self.b[at - 1] == b'i' && self.v2_at(at - 1)
    }

    /// Byte length of the first of `suffixes` that ends the word inside the region from `lb`.
    fn suffix(&self, lb: usize, suffixes: &[&[u8]]) -> Option<usize> {
        suffixes.iter().find(|s| self.ends(self.len, lb, s)).map(|s| s.len())
    }

    fn mark_regions(&mut self, word: &str) {
        let n = word.len();
        let v1 = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'ä' | 'ö');
        // After the first non-vowel that follows a vowel, at or after `from`.
        let transition = |from: usize| -> Option<usize> {
            let rest = word.get(from..)?;
            let vowel = rest.find(v1)?;
            let (i, c) = rest[vowel..].char_indices().find(|&(_, c)| !v1(c))?;
            Some(from + vowel + i + c.len_utf8())
        };
        self.p1 = transition(0).unwrap_or(n);
        self.p2 = transition(self.p1).unwrap_or(n);
    }

    fn particle_etc(&mut self) {
        if self.len < self.p1 {
            return;
        }
        const PARTICLES: [&[u8]; 9] = [
            b"kaan",
            "kään".as_bytes(),
            b"kin",
            b"han",
            "hän".as_bytes(),
            b"ko",
            "kö".as_bytes(),
            b"pa",
            "pä".as_bytes(),
        ];
        if let Some(n) = self.suffix(self.p1, &PARTICLES) {
            let bra = self.len - n;
            if self.v1_at(bra) || bra >= 1 && matches!(self.b[bra - 1], b'n' | b't') {
                self.len = bra;
            }
        } else if self.ends(self.len, self.p1, b"sti") && self.len - 3 >= self.p2 {
            self.len -= 3;
        }
    }

    fn possessive(&mut self) {
        if self.len < self.p1 {
            return;
        }
        let (lb, len) = (self.p1, self.len);
        if self.ends(len, lb, b"si") {
            if !self.ends(len - 2, 0, b"k") {
                self.len -= 2;
            }
        } else if self.ends(len, lb, b"ni") {
            self.len -= 2;
            if self.ends(self.len, 0, b"kse") {
                self.b[self.len - 1] = b'i';
            }
        } else if let Some(n) = self.suffix(lb, &[b"nsa", "nsä".as_bytes(), b"mme", b"nne"]) {
            self.len -= n;
        } else {
            let (bra, cases): (usize, &[&[u8]]) = if self.ends(len, lb, b"an") {
                (len - 2, &[b"lla", b"na", b"ssa", b"ta"])
            } else if self.ends(len, lb, "än".as_bytes()) {
                (len - 3, &["llä".as_bytes(), "nä".as_bytes(), "ssä".as_bytes(), "tä".as_bytes()])
            } else if self.ends(len, lb, b"en") {
                (len - 2, &[b"lle", b"ine"])
            } else {
                return;
            };
            if cases.iter().any(|s| self.ends(bra, 0, s)) {
                self.len = bra;
            }
        }
    }

    /// The start of the case ending to remove, if any: the longest ending that ends the word inside R1 (and
    /// passes its own test), if what precedes it meets that ending's condition.
    fn case_ending_start(&self) -> Option<usize> {
        let (lb, len) = (self.p1, self.len);
        let ends = |s: &str| self.ends(len, lb, s.as_bytes());
        let before = |s: &str| len - s.len();
        match self.b[len - 1] {
            b'n' => {
                if ends("seen") && self.long_at(before("seen"), lb) {
                    return Some(before("seen"));
                }
                if let Some(s) = ["tten", "siin"].into_iter().find(|s| ends(s) && self.vi_at(before(s), lb)) {
                    return Some(before(s));
                }
                // Illative after the same vowel.
                for (s, v) in [("han", "a"), ("hen", "e"), ("hin", "i"), ("hon", "o"), ("hän", "ä"), ("hön", "ö")] {
                    if ends(s) {
                        return self.ends(before(s), 0, v.as_bytes()).then(|| before(s));
                    }
                }
                if ends("den") && self.vi_at(before("den"), lb) {
                    return Some(before("den"));
                }
                // Genitive or illative `n`; after a long vowel or `ie`, the vowel goes too.
                let at = len - 1;
                if at < lb {
                    None
                } else if self.long_at(at, 0) || self.ends(at, 0, b"ie") {
                    Some(self.char_start(at))
                } else {
                    Some(at)
                }
            }
            b'a' | A_UML => {
                let (a, cases) = if self.b[len - 1] == b'a' {
                    ("a", ["lla", "ssa", "lta", "sta", "tta", "na", "ta"])
                } else {
                    ("ä", ["llä", "ssä", "ltä", "stä", "ttä", "nä", "tä"])
                };
                if !ends(a) {
                    return None;
                }
                if let Some(s) = cases.into_iter().find(|s| ends(s)) {
                    let bra = before(s);
                    return (!s.starts_with("tt") || self.ends(bra, 0, b"e")).then_some(bra);
                }
                // Partitive `a` after a vowel that follows a non-vowel.
                let bra = before(a);
                if !self.v1_at(bra) {
                    return None;
                }
                let vowel = self.char_start(bra);
                (vowel > 0 && !self.v1_at(vowel)).then_some(bra)
            }
            b'e' => ["lle", "ine"].into_iter().find(|s| ends(s)).map(before),
            b'i' => ends("ksi").then(|| before("ksi")),
            _ => None,
        }
    }

    /// Whether a case ending was removed.
    fn case_ending(&mut self) -> bool {
        if self.len <= self.p1 {
            return false;
        }
        match self.case_ending_start() {
            Some(bra) => {
                self.len = bra;
                true
            }
            None => false,
        }
    }

    fn other_endings(&mut self) {
        if self.len < self.p2 {
            return;
        }
        const SUPERLATIVE: [&[u8]; 8] =
            [b"impi", b"impa", "impä".as_bytes(), b"immi", b"imma", "immä".as_bytes(), b"eja", "ejä".as_bytes()];
        const COMPARATIVE: [&[u8]; 6] = [b"mpi", b"mpa", "mpä".as_bytes(), b"mmi", b"mma", "mmä".as_bytes()];
        if let Some(n) = self.suffix(self.p2, &SUPERLATIVE) {
            self.len -= n;
        } else if let Some(n) = self.suffix(self.p2, &COMPARATIVE)
            && !self.ends(self.len - n, 0, b"po")
        {
            self.len -= n;
        }
    }

    fn i_plural(&mut self) {
        if self.len > self.p1 && matches!(self.b[self.len - 1], b'i' | b'j') {
            self.len -= 1;
        }
    }

    fn t_plural(&mut self) {
        let (lb, len) = (self.p1, self.len);
        if !(len > lb + 1 && self.b[len - 1] == b't' && self.v1_at(len - 1)) {
            return;
        }
        self.len -= 1;
        if self.len < self.p2 {
            return;
        }
        if self.ends(self.len, self.p2, b"imma") {
            self.len -= 4;
        } else if self.ends(self.len, self.p2, b"mma") && !self.ends(self.len - 3, 0, b"po") {
            self.len -= 3;
        }
    }

    fn tidy(&mut self) {
        let lb = self.p1;
        if self.len < lb {
            return;
        }
        if self.long_at(self.len, lb) {
            self.len = self.char_start(self.len);
        }
        if self.len > lb {
            let last = self.char_start(self.len);
            let aei = matches!(&self.b[last..self.len], b"a" | b"e" | b"i") || self.b[last..self.len] == [LEAD, A_UML];
            if aei && last > lb && !self.v1_at(last) {
                self.len = last;
            }
        }
        let len = self.len;
        if self.ends(len, lb, b"j") && (self.ends(len - 1, lb, b"o") || self.ends(len - 1, lb, b"u")) {
            self.len -= 1;
        }
        let len = self.len;
        if self.ends(len, lb, b"o") && self.ends(len - 1, lb, b"j") {
            self.len -= 1;
        }
        // Undouble the last non-vowel (over the whole word).
        let mut at = self.len;
        while self.v1_at(at) {
            at = self.char_start(at);
        }
        if at == 0 {
            return;
        }
        let start = self.char_start(at);
        let n = at - start;
        if start >= n && self.b[start - n..start] == self.b[start..at] {
            self.b.copy_within(at..self.len, start);
            self.len -= n;
        }
    }
}

/// The Finnish stem of `word`.
pub(crate) fn stem(word: &str) -> Stem {
    if word.len() > MAX {
        return Stem::TooLong;
    }
    let mut w = Word { b: [0; MAX], len: word.len(), p1: 0, p2: 0 };
    w.b[..word.len()].copy_from_slice(word.as_bytes());
    w.mark_regions(word);
    w.particle_etc();
    w.possessive();
    let ending_removed = w.case_ending();
    w.other_endings();
    if ending_removed {
        w.i_plural();
    } else {
        w.t_plural();
    }
    w.tidy();
    // Every rule that changes the word shortens it (`kse` → `ksi` only follows the removal of `-ni`).
    if w.len == word.len() {
        return Stem::Same;
    }
    // Usually the stem is the word cut short: then it is a slice of the word (no UTF-8 check). Otherwise whole
    // characters were cut and ASCII letters rewritten, so the bytes are UTF-8 all the same.
    if let Some(prefix) = word.get(..w.len).filter(|p| p.as_bytes() == &w.b[..w.len]) {
        return Stem::Changed(prefix.to_owned());
    }
    match std::str::from_utf8(&w.b[..w.len]) {
        Ok(stem) => Stem::Changed(stem.to_owned()),
        Err(_) => Stem::TooLong,
    }
}

/// What [`stem`] made of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stem {
    /// The stem is the word.
    Same,
    /// The stem.
    Changed(String),
    /// Not stemmed here: longer than [`MAX`] bytes (or, which the rules cannot produce, not UTF-8 once cut);
    /// the caller stems it the general way.
    TooLong,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_stemmers::{Algorithm, Stemmer};

    fn reference(word: &str) -> String {
        Stemmer::create(Algorithm::Finnish).stem(word).into_owned()
    }

    fn ours(word: &str) -> String {
        match stem(word) {
            Stem::Same => word.to_owned(),
            Stem::Changed(s) => s,
            Stem::TooLong => panic!("{word:?} is too long"),
        }
    }

    #[test]
    fn examples_from_each_rule() {
        for (word, want) in [
            ("taloissammekin", "talo"),
            ("kirjastonhoitajalle", "kirjastonhoitaj"),
            ("kirjoissani", "kirj"),
            ("taloon", "talo"),
            ("maahan", "maaha"),
            ("kaupunkeihin", "kaupunk"),
            ("paremmat", "parem"),
            ("suurimmat", "suurim"),
            ("ajatuksenne", "ajatuks"),
            ("kanssani", "kan"),
            ("jazz", "jaz"),
            ("", ""),
            ("kss", "ks"),
        ] {
            assert_eq!(reference(word), want, "reference for {word}");
            assert_eq!(ours(word), want, "{word}");
        }
    }

    /// Pieces of Finnish words: stems, the suffixes every rule looks for, and letters that sit next to them.
    const PIECES: [&str; 72] = [
        "a", "ä", "e", "i", "o", "ö", "u", "y", "k", "t", "n", "s", "l", "p", "m", "j", "h", "d", "r", "v", "aa", "ee",
        "ii", "oo", "uu", "ää", "öö", "ie", "kin", "kaan", "kään", "ko", "kö", "han", "hän", "pa", "pä", "sti", "si",
        "ni", "kse", "nsa", "nsä", "mme", "nne", "an", "än", "en", "lla", "llä", "ssa", "ssä", "sta", "stä", "lta",
        "ltä", "na", "nä", "ta", "tä", "tta", "ttä", "lle", "ine", "ksi", "den", "tten", "siin", "seen", "mpi", "imma",
        "po",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]
        #[test]
        fn same_stems_as_rust_stemmers_on_built_words(pieces in prop::collection::vec(0..PIECES.len(), 0..8)) {
            let word: String = pieces.iter().map(|&i| PIECES[i]).collect();
            prop_assume!(word.len() <= MAX);
            prop_assert_eq!(ours(&word), reference(&word), "{:?}", word);
        }

        #[test]
        fn same_stems_as_rust_stemmers_on_any_text(word in "[a-zäöåéü0-9ß\\-'·日]{0,20}") {
            prop_assert_eq!(ours(&word), reference(&word), "{:?}", word);
        }
    }

    #[test]
    fn long_words_are_left_to_the_caller() {
        assert_eq!(stem(&"a".repeat(MAX + 1)), Stem::TooLong);
        assert_eq!(ours(&"kala".repeat(MAX / 4)), reference(&"kala".repeat(MAX / 4)));
    }

    /// Every distinct word of the Finnish corpora in `../shared/data` (skipped when absent).
    #[test]
    fn same_stems_as_rust_stemmers_on_the_finnish_corpora() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        let mut words = std::collections::BTreeSet::new();
        for dir in ["kirjastonhoitaja/annif/train", "kirjastonhoitaja/annif/validate"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "txt") {
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default().to_lowercase();
                    words.extend(
                        text.split(|c: char| !c.is_alphanumeric())
                            .filter(|w| !w.is_empty() && w.len() <= MAX)
                            .map(str::to_owned),
                    );
                }
            }
        }
        let differ: Vec<_> = words.iter().filter(|w| ours(w) != reference(w)).take(20).collect();
        assert!(differ.is_empty(), "{} words, first that differ: {differ:?}", words.len());
    }
}
