//! Pipeline tests: offsets (property tests), the seed UN document, and real corpora when present.

#![allow(clippy::print_stderr, reason = "tests print a notice when the shared corpora are absent")]

use proptest::prelude::*;
use std::path::PathBuf;
use tagger_tokenize::{Filter, NormalizeConfig, Segmenter, Tokenizer, TokenizerConfig};

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("notice: {} is absent; corpus checks use the built-in fixtures only", dir.display());
        None
    }
}

/// The body of a document in the users' format (everything after the header and the blank line).
fn body(raw: &str) -> &str {
    match raw.strip_prefix("%%%") {
        Some(_) => raw.split_once("\n\n").map_or("", |(_, b)| b),
        None => raw,
    }
}

fn raw_segmenter(seg: Segmenter) -> Tokenizer {
    Tokenizer::new(TokenizerConfig {
        normalize: NormalizeConfig { nfkc: false, lowercase: false },
        segmenter: seg,
        filters: vec![],
    })
    .unwrap()
}

/// Every token must point at a real, ordered, non-empty slice of the input.
fn assert_offsets(tok: &Tokenizer, input: &str) {
    let mut last = 0;
    for t in tok.tokenize(input) {
        assert!(t.start < t.end && t.end <= input.len(), "bad span {t:?} in {input:?}");
        assert!(input.is_char_boundary(t.start) && input.is_char_boundary(t.end), "{t:?} splits a char");
        assert!(t.start >= last, "tokens out of order at {t:?}");
        assert!(!t.text.is_empty());
        last = t.start;
    }
}

const SEED_FIXTURE: &str = "%%%PEACE|INTERNATIONAL SECURITY|\n\n 2003年 4月 25日 墨西哥 常 驻 联合国 代表 给 秘书长 的 信 ， 就 \" 安全 理事会 \" （ 签名 ） 阿道夫 · 阿吉拉尔·辛塞尔\n";

fn seed_texts() -> Vec<String> {
    let mut texts = vec![SEED_FIXTURE.to_owned()];
    if let Some(dir) = data_dir() {
        for e in std::fs::read_dir(dir.join("seed")).unwrap() {
            texts.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
    }
    texts
}

#[test]
fn seed_tokens_match_the_documents_own_spaces() {
    for raw in seed_texts() {
        let text = body(&raw);
        let expect: Vec<&str> = text.split_whitespace().collect();
        assert!(expect.len() > 10);
        // Auto detection must recognise pre-segmented Chinese ...
        let auto = raw_segmenter(Segmenter::Auto);
        assert_eq!(auto.resolved_segmenter(text), Segmenter::Whitespace);
        // ... and the segmented tokens are exactly the space-separated words, spans included.
        let got = auto.tokenize(text);
        let words: Vec<&str> = got.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(words, expect);
        assert!(got.iter().all(|t| text[t.start..t.end] == t.text));
        // The default pipeline keeps the words (normalised) and drops punctuation-only tokens.
        let dflt = Tokenizer::new(TokenizerConfig::default()).unwrap();
        let toks = dflt.tokenize(text);
        assert!(toks.iter().any(|t| t.text == "联合国"));
        assert!(!toks.iter().any(|t| t.text == "，" || t.text == ","));
        assert_offsets(&dflt, text);
    }
}

#[test]
fn unsegmented_chinese_goes_through_jieba() {
    let tok = Tokenizer::new(TokenizerConfig::default()).unwrap();
    let text = "原告林某某诉称：我与被告经人介绍建立恋爱关系，于1995年在菏泽市民政局办理结婚登记手续。";
    assert_eq!(tok.resolved_segmenter(text), Segmenter::Jieba);
    let words: Vec<String> = tok.tokenize(text).into_iter().map(|t| t.text).collect();
    for w in ["原告", "被告", "结婚", "民政局"] {
        assert!(words.iter().any(|x| x == w), "{w} missing from {words:?}");
    }
    assert!(words.iter().any(|x| x == "<num>"), "1995 should fold to <num>: {words:?}");
}

#[test]
fn filters_and_config_errors() {
    let cfg = TokenizerConfig {
        filters: vec![
            Filter::DropPunctuation,
            Filter::StopWords { list: tagger_tokenize::StopList::English },
            Filter::Length { min: 2, max: 5 },
        ],
        ..TokenizerConfig::default()
    };
    let tok = Tokenizer::new(cfg).unwrap();
    let words: Vec<String> =
        tok.tokenize("The cat sat on a mat, extraordinarily.").into_iter().map(|t| t.text).collect();
    assert_eq!(words, ["cat", "sat", "mat"]);

    let bad = TokenizerConfig { filters: vec![Filter::Length { min: 3, max: 2 }], ..TokenizerConfig::default() };
    let err = Tokenizer::new(bad).unwrap_err().to_string();
    assert!(err.contains("filters[0]"), "{err}");
}

#[test]
fn config_round_trips_through_json() {
    let cfg = TokenizerConfig::default();
    let json = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<TokenizerConfig>(&json).unwrap(), cfg);
    let partial: TokenizerConfig = serde_json::from_str(r#"{"segmenter":"jieba"}"#).unwrap();
    assert_eq!(partial.segmenter, Segmenter::Jieba);
    assert!(serde_json::from_str::<TokenizerConfig>(r#"{"segmentr":"jieba"}"#).is_err());
}

#[test]
fn real_corpora_tokenize_with_valid_offsets() {
    let Some(dir) = data_dir() else { return };
    let tok = Tokenizer::new(TokenizerConfig::default()).unwrap();
    for (corpus, expect) in [("reuters21578/train", Segmenter::Words), ("cail2019_element/train", Segmenter::Jieba)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(corpus)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files.iter().take(150) {
            let raw = std::fs::read_to_string(path).unwrap();
            let text = body(&raw);
            if text.trim().is_empty() {
                continue;
            }
            assert_eq!(tok.resolved_segmenter(text), expect, "{}", path.display());
            assert_offsets(&tok, text);
        }
    }
}

proptest! {
    #[test]
    fn offsets_are_valid_for_any_text(s in "\\PC{0,80}") {
        for seg in [Segmenter::Auto, Segmenter::Whitespace, Segmenter::Words, Segmenter::Jieba] {
            let cfg = TokenizerConfig { segmenter: seg, ..TokenizerConfig::default() };
            assert_offsets(&Tokenizer::new(cfg).unwrap(), &s);
        }
    }

    #[test]
    fn token_text_is_the_normalised_source(s in "[a-zA-Z0-9 ,.'ＡＢａ１﹐世界-]{0,60}") {
        let tok = Tokenizer::new(TokenizerConfig { filters: vec![], ..TokenizerConfig::default() }).unwrap();
        for t in tok.tokenize(&s) {
            let src = &s[t.start..t.end];
            let norm: String = src.chars().flat_map(|c| {
                let c = match c { 'Ａ' => 'a', 'Ｂ' => 'b', 'ａ' => 'a', '１' => '1', '﹐' => ',', c => c };
                c.to_lowercase()
            }).collect();
            prop_assert_eq!(norm, t.text);
        }
    }

    #[test]
    fn whitespace_segmenter_equals_split_whitespace(s in "[a-z世界 \t\n]{0,60}") {
        let tok = raw_segmenter(Segmenter::Whitespace);
        let got: Vec<String> = tok.tokenize(&s).into_iter().map(|t| t.text).collect();
        let expect: Vec<&str> = s.split_whitespace().collect();
        prop_assert_eq!(got, expect);
    }
}

fn stemmed(language: &str, text: &str) -> Vec<String> {
    let mut cfg = TokenizerConfig::default();
    cfg.filters.insert(2, Filter::Stem { language: language.to_owned() });
    let tok = Tokenizer::new(cfg).unwrap();
    let tokens: Vec<String> = tok.tokenize(text).into_iter().map(|t| t.text).collect();
    // Word by word, with and without the thread's stem cache (cold, then warm): the same tokens.
    let mut words = Vec::new();
    tok.for_each_word(text, |w, _, _| words.push(w.to_owned()));
    for _ in 0..2 {
        let uncached: Vec<String> =
            words.iter().filter_map(|w| tok.filter_uncached(w).map(|t| t.into_owned())).collect();
        let cached: Vec<String> = words.iter().filter_map(|w| tok.filter(w).map(|t| t.into_owned())).collect();
        assert_eq!(uncached, tokens, "{language}: {text} (uncached)");
        assert_eq!(cached, tokens, "{language}: {text} (cached)");
    }
    tokens
}

#[test]
fn stemming_per_language() {
    // Inflected forms of one word meet in one stem; numbers, class tokens and Han text pass unchanged.
    for (language, text, want) in [
        ("en", "Connections connected 5.93 PCT", vec!["connect", "connect", "<num>", "pct"]),
        ("fi", "kirjastossa kirjastoista kirjasto", vec!["kirjasto", "kirjasto", "kirjasto"]),
        ("sv", "biblioteken bibliotekens", vec!["bibliotek", "bibliotek"]),
        ("de", "Häuser Hauses", vec!["haus", "haus"]),
        ("fr", "nationales nationale", vec!["national", "national"]),
        ("ru", "библиотеки библиотекой", vec!["библиотек", "библиотек"]),
        ("en-GB", "libraries 图书馆", vec!["librari", "图书馆"]),
    ] {
        assert_eq!(stemmed(language, text), want, "{language}: {text}");
    }
    // Spans still point at the source words.
    let mut cfg = TokenizerConfig::default();
    cfg.filters.push(Filter::Stem { language: "fin".into() });
    let text = "Kirjastoissa luetaan";
    let tokens = Tokenizer::new(cfg).unwrap().tokenize(text);
    assert_eq!(&text[tokens[0].start..tokens[0].end], "Kirjastoissa");
    assert_eq!(tokens[0].text, "kirjasto");
}

/// Found by fuzzing (`fuzz/regressions/tokenize/`): the Arabic stemmer strips diacritics and tatweel, so a token
/// of only those (U+FCF3, a presentation-form ligature, is tatweel + damma + shadda after NFKC) was stemmed to an
/// empty token. The default pipeline's length filter hid it; a configured pipeline that stems last did not.
#[test]
fn issue_14_a_stem_that_erases_the_token_drops_it() {
    let cfg = TokenizerConfig {
        filters: vec![Filter::DropPunctuation, Filter::Stem { language: "ar".into() }],
        ..TokenizerConfig::default()
    };
    let tok = Tokenizer::new(cfg).unwrap();
    for text in ["\u{FCF3} الكتاب", "ـُّ الكتاب ـَ"] {
        let words: Vec<String> = tok.tokenize(text).into_iter().map(|t| t.text).collect();
        assert!(words.iter().all(|w| !w.is_empty()), "empty token in {words:?}");
        assert_eq!(words.len(), 1, "{words:?}");
    }
}

#[test]
fn stemming_config_errors_name_the_language() {
    let cfg = TokenizerConfig { filters: vec![Filter::Stem { language: "zz".into() }], ..TokenizerConfig::default() };
    let err = Tokenizer::new(cfg).unwrap_err().to_string();
    assert!(err.contains("filters[0]") && err.contains("\"zz\"") && err.contains("fi"), "{err}");
    let json = r#"{"filters":[{"kind":"stem","language":"sv"}]}"#;
    let cfg: TokenizerConfig = serde_json::from_str(json).unwrap();
    assert_eq!(cfg.filters, [Filter::Stem { language: "sv".into() }]);
}

#[test]
fn language_detection_pools_documents() {
    use tagger_tokenize::{LanguageVote, detect_language};
    let fi = "Kirjasto on paikka, jossa lainataan kirjoja ja muita aineistoja. Kirjastot ovat kaikille avoimia.";
    let en = "The library lends books and other materials to everyone who visits it during opening hours.";
    assert_eq!(detect_language(fi).unwrap().code, "fi");
    assert_eq!(detect_language(en).unwrap().code, "en");
    let mut vote = LanguageVote::default();
    for t in [fi, fi, en] {
        vote.add(t);
    }
    assert_eq!(vote.winner().map(|w| w.0).as_deref(), Some("fi"));
    let mut split = LanguageVote::default();
    for t in [fi, en, "12 34"] {
        split.add(t);
    }
    assert_eq!(split.winner(), None, "no language holds a majority");
}
