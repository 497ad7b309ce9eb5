//! Token filters: small steps applied in order to every segmented word.

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashSet;

/// One filter step. Filters run in the order they are listed in [`crate::TokenizerConfig::filters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Filter {
    /// Drop tokens without a single letter or digit (punctuation, symbols).
    DropPunctuation,
    /// Replace tokens that are numbers (digits with `.,:/%+-`) by one class token, e.g. `<num>`.
    FoldNumbers {
        /// The replacement token.
        #[serde(default = "default_num_token")]
        token: String,
    },
    /// Drop stop words (compared after normalisation).
    StopWords {
        /// Which list.
        list: StopList,
    },
    /// Reduce words to their Snowball stem (`rust-stemmers`) for a language: `fi`, `en`, `sv`, … (see
    /// [`crate::stemmer_languages`]). Expects lower-cased input, so it belongs after normalisation; tokens
    /// without a letter (numbers, class tokens such as `<num>`) and Han text pass unchanged; a token whose stem
    /// is empty (an Arabic token of diacritics only) is dropped.
    Stem {
        /// Language tag (BCP 47 or ISO 639-3; only the primary subtag counts).
        language: String,
    },
    /// Drop tokens shorter or longer than these bounds, counted in characters.
    Length {
        /// Minimum characters (inclusive).
        min: usize,
        /// Maximum characters (inclusive).
        max: usize,
    },
}

fn default_num_token() -> String {
    "<num>".to_owned()
}

/// A stop-word list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopList {
    /// A short built-in English list (function words only).
    English,
    /// Words given in the configuration (normalised the same way as the text before comparison).
    Custom(Vec<String>),
}

const ENGLISH_STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// A filter prepared for use (stop lists turned into sets).
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    DropPunctuation,
    FoldNumbers(String),
    StopWords(HashSet<String>),
    Stem(Snowball),
    Length(usize, usize),
}

/// A Snowball stemmer with the algorithm it was made from (the stemmer itself is neither `Clone` nor `Debug`).
pub(crate) struct Snowball {
    algorithm: Algorithm,
    stemmer: Stemmer,
}

impl Snowball {
    pub fn new(algorithm: Algorithm) -> Self {
        Self { algorithm, stemmer: Stemmer::create(algorithm) }
    }
}

/// Stems remembered per thread and algorithm (word → stem, `None` when the stem is the word): the words of a
/// corpus are few next to their occurrences, and a Snowball stemmer costs more than a hash lookup. Bounded:
/// cleared when full.
type StemCache = rustc_hash::FxHashMap<u8, rustc_hash::FxHashMap<Box<str>, Option<Box<str>>>>;
const STEM_CACHE_WORDS: usize = 1 << 17;

thread_local! {
    static STEMS: std::cell::RefCell<StemCache> = std::cell::RefCell::new(StemCache::default());
}

impl Snowball {
    /// The stem of `word`, `None` when it is the word itself. Finnish takes this crate's own stemmer (the same
    /// stems, about three times faster), other languages `rust_stemmers`.
    fn stem_of(&self, word: &str) -> Option<String> {
        if self.algorithm == Algorithm::Finnish {
            match crate::finnish::stem(word) {
                crate::finnish::Stem::Same => return None,
                crate::finnish::Stem::Changed(stem) => return Some(stem),
                crate::finnish::Stem::TooLong => {}
            }
        }
        let stemmed = self.stemmer.stem(word);
        (stemmed != word).then(|| stemmed.into_owned())
    }

    /// Replace `tok` by its stem, through the thread's cache when `cached`.
    fn stem(&self, tok: &mut Cow<'_, str>, cached: bool) {
        if !cached {
            if let Some(stem) = self.stem_of(tok) {
                *tok = Cow::Owned(stem);
            }
            return;
        }
        let replacement = STEMS.with(|cache| {
            let mut cache = cache.borrow_mut();
            let words = cache.entry(self.algorithm as u8).or_default();
            if let Some(hit) = words.get(tok.as_ref()) {
                return hit.clone();
            }
            let value = self.stem_of(tok).map(Box::<str>::from);
            if words.len() >= STEM_CACHE_WORDS {
                words.clear();
            }
            words.insert(Box::from(tok.as_ref()), value.clone());
            value
        });
        if let Some(stem) = replacement {
            *tok = Cow::Owned(stem.into_string());
        }
    }
}

impl Clone for Snowball {
    fn clone(&self) -> Self {
        Self::new(self.algorithm)
    }
}

impl std::fmt::Debug for Snowball {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snowball({:?})", self.algorithm)
    }
}

impl Prepared {
    pub fn new(f: &Filter, normalize: impl Fn(&str) -> String) -> Self {
        match f {
            Filter::DropPunctuation => Prepared::DropPunctuation,
            Filter::FoldNumbers { token } => Prepared::FoldNumbers(token.clone()),
            Filter::StopWords { list } => Prepared::StopWords(match list {
                StopList::English => ENGLISH_STOP.iter().map(|w| normalize(w)).collect(),
                StopList::Custom(words) => words.iter().map(|w| normalize(w)).collect(),
            }),
            Filter::Length { min, max } => Prepared::Length(*min, *max),
            // `Tokenizer::new` has checked the language.
            Filter::Stem { language } => Prepared::Stem(Snowball::new(
                crate::language::stemmer_algorithm(language).unwrap_or(Algorithm::English),
            )),
        }
    }

    /// Apply to `tok` (which may be replaced by a rewritten token); `false` drops the token. A stemmer goes
    /// through the thread's stem cache when `cached`.
    #[inline]
    pub fn apply<'a>(&'a self, tok: &mut Cow<'a, str>, cached: bool) -> bool {
        match self {
            Prepared::DropPunctuation => tok.chars().any(char::is_alphanumeric),
            Prepared::FoldNumbers(class) => {
                if is_number(tok) {
                    *tok = Cow::Borrowed(class.as_str());
                }
                true
            }
            Prepared::Stem(s) => {
                if tok.chars().any(|c| c.is_alphabetic() && !crate::is_han(c)) {
                    s.stem(tok, cached);
                }
                // A stemmer can strip a word to nothing (Arabic drops diacritics and tatweel, and a token of
                // only those is alphabetic); an empty token is no word, so it goes.
                !tok.is_empty()
            }
            Prepared::StopWords(set) => !set.contains(tok.as_ref()),
            Prepared::Length(min, max) => {
                let n = tok.chars().count();
                (*min..=*max).contains(&n)
            }
        }
    }
}

fn is_number(tok: &str) -> bool {
    let mut digits = false;
    for c in tok.chars() {
        if c.is_ascii_digit() {
            digits = true;
        } else if !matches!(c, '.' | ',' | ':' | '/' | '%' | '+' | '-') {
            return false;
        }
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for (t, n) in [("5.93", true), ("155,221", true), ("10%", true), ("2003年", false), ("-", false), ("a1", false)]
        {
            assert_eq!(is_number(t), n, "{t}");
        }
    }
}
