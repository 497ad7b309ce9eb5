//! Token filters: small steps applied in order to every segmented word.

use serde::{Deserialize, Serialize};
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
    Length(usize, usize),
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
        }
    }

    /// Apply to `tok` (which may be rewritten into `buf`); `false` drops the token.
    #[inline]
    pub fn apply<'a>(&'a self, tok: &mut &'a str) -> bool {
        match self {
            Prepared::DropPunctuation => tok.chars().any(char::is_alphanumeric),
            Prepared::FoldNumbers(class) => {
                if is_number(tok) {
                    *tok = class.as_str();
                }
                true
            }
            Prepared::StopWords(set) => !set.contains(*tok),
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
