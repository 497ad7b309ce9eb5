//! `tagger-tokenize`: text to tokens, the seam crate of the workspace.
//!
//! A [`Tokenizer`] is a pipeline of three parts, each configured by serde data ([`TokenizerConfig`]) so that a
//! trained model can store the exact pipeline it was trained with:
//!
//! 1. **normalisation** ([`NormalizeConfig`]): per-character NFKC (full-width → half-width) and lower-casing;
//! 2. **segmentation** ([`Segmenter`]): whitespace for pre-segmented text, a word splitter for alphabetic text,
//!    jieba-rs for unsegmented Chinese, or automatic detection per document;
//! 3. **filters** ([`Filter`]): drop punctuation, fold numbers, stop words, Snowball stemming, length limits.
//!
//! Every token carries the byte span of its source in the *original* input: `&input[t.start..t.end]`.
//!
//! ```
//! use tagger_tokenize::{Tokenizer, TokenizerConfig};
//! let tok = Tokenizer::new(TokenizerConfig::default()).unwrap();
//! let input = "ＵＳ Exports rose 5.93 pct.";
//! let tokens = tok.tokenize(input);
//! let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
//! assert_eq!(texts, ["us", "exports", "rose", "<num>", "pct"]);
//! assert_eq!(&input[tokens[0].start..tokens[0].end], "ＵＳ");
//! ```

mod error;
mod filter;
mod finnish;
mod language;
mod normalize;
mod segment;

pub use error::TokenizeError;
pub use filter::{Filter, StopList};
pub use language::{
    DetectedLanguage, LanguageVote, detect_language, detect_language_among, has_stemmer, primary_language,
    stemmer_languages,
};
pub use normalize::NormalizeConfig;
pub use segment::{ScriptStats, Segmenter, detect, is_han, warm_up};

use serde::{Deserialize, Serialize};

/// The whole pipeline as data. `Default` is what `tagger train` uses unless told otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenizerConfig {
    /// Normalisation applied before segmentation.
    pub normalize: NormalizeConfig,
    /// How words are found.
    pub segmenter: Segmenter,
    /// Filters, applied in order.
    pub filters: Vec<Filter>,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        Self {
            normalize: NormalizeConfig::default(),
            segmenter: Segmenter::Auto,
            filters: vec![
                Filter::DropPunctuation,
                Filter::FoldNumbers { token: "<num>".to_owned() },
                Filter::Length { min: 1, max: 40 },
            ],
        }
    }
}

/// A token: its (normalised, filtered) text and the byte span of its source in the original input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The token as the pipeline produced it.
    pub text: String,
    /// Byte offset of the first source byte in the original input.
    pub start: usize,
    /// Byte offset one past the last source byte in the original input.
    pub end: usize,
}

/// A ready-to-use pipeline built from a [`TokenizerConfig`]. Cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    config: TokenizerConfig,
    filters: Vec<filter::Prepared>,
}

impl Tokenizer {
    /// Check the configuration and prepare the filters.
    pub fn new(config: TokenizerConfig) -> Result<Self, TokenizeError> {
        let mut filters = Vec::with_capacity(config.filters.len());
        for (i, f) in config.filters.iter().enumerate() {
            match f {
                Filter::Length { min, max } if min > max || *max == 0 => {
                    return Err(TokenizeError::InvalidConfig(format!(
                        "filters[{i}]: length bounds min={min} max={max} select no token"
                    )));
                }
                Filter::Stem { language } if !language::has_stemmer(language) => {
                    return Err(TokenizeError::InvalidConfig(format!(
                        "filters[{i}]: no Snowball stemmer for language {language:?} (there are: {})",
                        language::stemmer_languages().collect::<Vec<_>>().join(", ")
                    )));
                }
                Filter::FoldNumbers { token } if token.is_empty() || token.chars().any(char::is_whitespace) => {
                    return Err(TokenizeError::InvalidConfig(format!(
                        "filters[{i}]: number class token {token:?} must be non-empty without whitespace"
                    )));
                }
                _ => {}
            }
            let norm = |w: &str| normalize::normalize(w, &config.normalize).text;
            filters.push(filter::Prepared::new(f, norm));
        }
        Ok(Self { config, filters })
    }

    /// The configuration this tokenizer was built from.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Call `f(token_text, start, end)` for every token of `input`, without allocating per token.
    /// `start..end` is the token's byte span in `input`.
    pub fn for_each_token(&self, input: &str, mut f: impl FnMut(&str, usize, usize)) {
        self.for_each_word(input, |word, start, end| {
            if let Some(tok) = self.filter(word) {
                f(&tok, start, end);
            }
        });
    }

    /// Call `f(word, start, end)` for every word of `input` as normalisation and segmentation leave it, before
    /// the filters: [`Tokenizer::filter`] of the word is the token [`Tokenizer::for_each_token`] gives (or none).
    /// For a caller that remembers what became of each distinct word, since a text's words repeat.
    pub fn for_each_word(&self, input: &str, mut f: impl FnMut(&str, usize, usize)) {
        let norm = normalize::normalize(input, &self.config.normalize);
        let text = norm.text.as_str();
        segment::segment(text, self.config.segmenter, &mut |s, e| {
            let (os, oe) = norm.original_span(s, e);
            f(&text[s..e], os, oe);
        });
    }

    /// The token the filters make of `word` (one of [`Tokenizer::for_each_word`]'s words), or `None` when a
    /// filter drops it. The result depends on the word alone.
    pub fn filter<'a>(&'a self, word: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        self.filter_with(word, true)
    }

    /// [`Tokenizer::filter`] without the thread's stem cache, for a caller that remembers each word's outcome
    /// itself (the cache would only hold a second copy of what the caller keeps).
    pub fn filter_uncached<'a>(&'a self, word: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        self.filter_with(word, false)
    }

    fn filter_with<'a>(&'a self, word: &'a str, cached: bool) -> Option<std::borrow::Cow<'a, str>> {
        let mut tok = std::borrow::Cow::Borrowed(word);
        self.filters.iter().all(|flt| flt.apply(&mut tok, cached)).then_some(tok)
    }

    /// All tokens of `input`, in order.
    pub fn tokenize(&self, input: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.for_each_token(input, |t, start, end| out.push(Token { text: t.to_owned(), start, end }));
        out
    }

    /// The segmenter that will actually run on `input` (resolves [`Segmenter::Auto`]).
    pub fn resolved_segmenter(&self, input: &str) -> Segmenter {
        match self.config.segmenter {
            Segmenter::Auto => detect(&normalize::normalize(input, &self.config.normalize).text),
            s => s,
        }
    }
}
