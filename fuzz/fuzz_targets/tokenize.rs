//! The tokenizer (`tagger_tokenize::Tokenizer`) on arbitrary UTF-8 with every segmenter (auto, whitespace,
//! words, jieba), normalisation on and off, and a filter chain chosen by the input.
//!
//! The first two bytes choose the configuration, the rest is the text (lossy UTF-8). Properties: no panic;
//! every token is non-empty and its span `start..end` is non-empty, inside the text, on char boundaries and in
//! order; `for_each_token` and `tokenize` agree; without normalisation or filters a token is exactly
//! `&text[start..end]`, and the whitespace segmenter gives exactly `split_whitespace`; `resolved_segmenter`
//! never answers `auto`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tagger_tokenize::{Filter, NormalizeConfig, Segmenter, StopList, Tokenizer, TokenizerConfig};

const SEGMENTERS: [Segmenter; 4] = [Segmenter::Auto, Segmenter::Whitespace, Segmenter::Words, Segmenter::Jieba];

/// Tokenizers are cheap to build except for stemmers and jieba's dictionary, which live in statics; still,
/// build each configuration once.
fn tokenizer(config_bits: u8, filter_bits: u8) -> &'static Tokenizer {
    static CACHE: OnceLock<Vec<OnceLock<Tokenizer>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| (0..16 * 256).map(|_| OnceLock::new()).collect());
    let key = usize::from(config_bits & 0x0f) * 256 + usize::from(filter_bits);
    cache[key].get_or_init(|| Tokenizer::new(config(config_bits, filter_bits)).expect("valid configuration"))
}

fn config(config_bits: u8, filter_bits: u8) -> TokenizerConfig {
    let segmenter = SEGMENTERS[usize::from(config_bits & 3)];
    let normalize = NormalizeConfig { nfkc: config_bits & 4 != 0, lowercase: config_bits & 8 != 0 };
    let mut filters = Vec::new();
    if filter_bits & 1 != 0 {
        filters.push(Filter::DropPunctuation);
    }
    if filter_bits & 2 != 0 {
        filters.push(Filter::FoldNumbers { token: "<num>".into() });
    }
    if filter_bits & 4 != 0 {
        filters.push(Filter::StopWords { list: StopList::English });
    }
    if filter_bits & 8 != 0 {
        filters
            .push(Filter::StopWords { list: StopList::Custom(vec!["ＴＨＥ".into(), "的".into(), "och".into()]) });
    }
    if filter_bits & 16 != 0 {
        let languages: Vec<&str> = tagger_tokenize::stemmer_languages().collect();
        let language = languages[usize::from(filter_bits >> 5) % languages.len()];
        filters.push(Filter::Stem { language: language.into() });
    }
    if filter_bits & 32 != 0 {
        filters.push(Filter::Length { min: usize::from(filter_bits >> 6), max: 3 + usize::from(filter_bits >> 6) });
    }
    TokenizerConfig { normalize, segmenter, filters }
}

fuzz_target!(|data: &[u8]| {
    let [config_bits, filter_bits, rest @ ..] = data else { return };
    let text = tagger_fuzz::text_of(rest);
    let text = text.as_ref();
    let tok = tokenizer(*config_bits, *filter_bits);
    let tokens = tok.tokenize(text);
    let mut last = 0;
    for t in &tokens {
        assert!(!t.text.is_empty(), "empty token {t:?}");
        assert!(t.start < t.end, "empty source span {t:?}");
        tagger_fuzz::check_spans(text, [(t.start, t.end)], "token");
        assert!(t.start >= last, "tokens out of order at {t:?}");
        last = t.start;
    }
    let mut visited = Vec::with_capacity(tokens.len());
    tok.for_each_token(text, |t, s, e| visited.push((t.to_owned(), s, e)));
    assert!(
        visited.iter().map(|(t, s, e)| (t.as_str(), *s, *e)).eq(tokens.iter().map(|t| (
            t.text.as_str(),
            t.start,
            t.end
        ))),
        "for_each_token and tokenize disagree"
    );
    let config = tok.config();
    if !config.normalize.nfkc && !config.normalize.lowercase && config.filters.is_empty() {
        for t in &tokens {
            assert_eq!(t.text, text[t.start..t.end], "a raw token is not its source text");
        }
        if config.segmenter == Segmenter::Whitespace {
            assert!(
                tokens.iter().map(|t| t.text.as_str()).eq(text.split_whitespace()),
                "the whitespace segmenter does not split on whitespace"
            );
        }
    }
    assert_ne!(tok.resolved_segmenter(text), Segmenter::Auto);
});
