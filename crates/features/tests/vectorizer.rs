//! Vectorizer tests: vocabulary pruning, TF-IDF values, determinism, hashing, restore, real corpora.

#![allow(clippy::print_stderr, reason = "tests print a notice when the shared corpora are absent")]

use proptest::prelude::*;
use std::path::PathBuf;
use tagger_features::{FeatureError, Vectorizer, VectorizerConfig, VectorizerState};
use tagger_tokenize::TokenizerConfig;

const DOCS: &[&str] = &["the cat sat", "the dog sat", "the cat ran fast", "a 我 b"];

fn fit(cfg: VectorizerConfig) -> Vectorizer {
    Vectorizer::fit(TokenizerConfig::default(), cfg, DOCS).unwrap()
}

fn vocab(v: &Vectorizer) -> Vec<&str> {
    (0..v.n_features() as u32).map(|c| v.term(c).unwrap()).collect()
}

#[test]
fn vocabulary_is_ordered_by_document_frequency_and_pruned_by_the_limits() {
    let all = fit(VectorizerConfig::default());
    // Most common first, ties by bytes.
    assert_eq!(vocab(&all), ["the", "cat", "sat", "a", "b", "dog", "fast", "ran", "我"]);
    let cases: &[(VectorizerConfig, &[&str])] = &[
        (VectorizerConfig { min_df: 2, ..Default::default() }, &["the", "cat", "sat"]),
        (VectorizerConfig { max_df: 0.5, ..Default::default() }, &["cat", "sat", "a", "b", "dog", "fast", "ran", "我"]),
        (VectorizerConfig { max_features: Some(2), ..Default::default() }, &["the", "cat"][..]),
        (VectorizerConfig { ngram_max: 2, min_df: 2, ..Default::default() }, &["the", "cat", "sat", "the cat"]),
    ];
    for (cfg, expect) in cases {
        assert_eq!(vocab(&fit(cfg.clone())), *expect, "{cfg:?}");
    }
}

#[test]
fn restricting_min_df_matches_a_vectorizer_fitted_with_it() {
    let all = fit(VectorizerConfig::default());
    let rows = all.transform_batch(DOCS);
    for min_df in [1, 2, 3] {
        let (cut, cut_rows) = all.restrict_min_df(&rows, min_df).unwrap();
        let direct = fit(VectorizerConfig { min_df, ..Default::default() });
        assert_eq!(cut.state(), direct.state(), "min_df {min_df}");
        let fresh = direct.transform_batch(DOCS);
        assert_eq!(cut_rows.n_cols(), fresh.n_cols());
        for (a, b) in cut_rows.rows().zip(fresh.rows()) {
            assert_eq!(a.indices, b.indices, "min_df {min_df}");
            assert!(a.data.iter().zip(b.data).all(|(x, y)| (x - y).abs() < 1e-6), "{:?} vs {:?}", a.data, b.data);
        }
    }
    assert!(matches!(all.restrict_min_df(&rows, 5), Err(FeatureError::EmptyVocabulary { min_df: 5, .. })));
    let hashed = fit(VectorizerConfig { hashing_bits: Some(8), ..Default::default() });
    assert!(hashed.restrict_min_df(&hashed.transform_batch(DOCS), 2).is_err());
    assert!(all.restrict_min_df(&hashed.transform_batch(DOCS), 2).is_err(), "column counts differ");
}

/// Issue 16: calibration folds see a held-out document as a model fitted on the other documents would see a
/// new one. The refitted rows of every document equal (term by term) what a vectorizer fitted on the subset
/// alone (with `min_df` scaled to its size) gives, for held-out documents too: terms only the held-out documents
/// bring in disappear. A term the whole corpus's vocabulary dropped cannot come back, so the comparison is on the
/// others (and `max_features`, whose cut depends on every term, is left out).
#[test]
fn refitted_rows_match_a_vectorizer_fitted_on_the_subset() {
    let docs: &[&str] =
        &["the cat sat", "the dog sat", "the cat ran fast", "a dog ran", "cat and dog", "fast fast cat", "我 的 猫"];
    let configs = [
        VectorizerConfig::default(),
        VectorizerConfig { min_df: 2, ..Default::default() },
        VectorizerConfig { max_df: 0.6, ..Default::default() },
        VectorizerConfig { ngram_max: 2, min_df: 2, char_ngram_max: 2, ..Default::default() },
    ];
    let subsets: [&[u32]; 3] = [&[0, 1, 2, 3], &[1, 3, 4, 5, 6], &[0, 2, 4, 6]];
    for cfg in &configs {
        let all = Vectorizer::fit(TokenizerConfig::default(), cfg.clone(), docs).unwrap();
        let rows = all.transform_batch(docs);
        for fit_docs in subsets {
            let got = all.refitter().rows(&rows, fit_docs).unwrap();
            let texts: Vec<&str> = fit_docs.iter().map(|&d| docs[d as usize]).collect();
            let min_df = all.refitter().subset_min_df(texts.len());
            let scaled = VectorizerConfig { min_df, ..cfg.clone() };
            let Ok(sub) = Vectorizer::fit(TokenizerConfig::default(), scaled, &texts) else { continue };
            for (d, text) in docs.iter().enumerate() {
                let named = |v: &Vectorizer, idx: &[u32], val: &[f32]| -> Vec<(String, f32)> {
                    let mut t: Vec<(String, f32)> =
                        idx.iter().zip(val).map(|(&j, &x)| (v.term(j).unwrap().to_owned(), x)).collect();
                    t.sort_by(|a, b| a.0.cmp(&b.0));
                    t
                };
                // Terms the whole corpus's vocabulary dropped cannot come back: compare on the others (the
                // subset's rows renormalised without them).
                let known: std::collections::HashSet<&str> =
                    (0..all.n_features() as u32).filter_map(|j| all.term(j)).collect();
                let expect = sub.transform(text);
                let (e, g) = (expect.row(0), got.row(d));
                let mut e = named(&sub, e.indices, e.data);
                e.retain(|t| known.contains(t.0.as_str()));
                let norm = e.iter().map(|t| t.1 * t.1).sum::<f32>().sqrt();
                e.iter_mut().for_each(|t| t.1 /= norm);
                let g = named(&all, g.indices, g.data);
                let terms = |x: &[(String, f32)]| x.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
                assert_eq!(terms(&g), terms(&e), "{cfg:?} subset {fit_docs:?} doc {d}");
                assert!(g.iter().zip(&e).all(|(a, b)| (a.1 - b.1).abs() < 1e-5), "{cfg:?} doc {d}: {g:?} vs {e:?}");
            }
        }
    }
    // min_df follows the subset's share of the corpus (7 documents here), never above the configured value.
    let at = |min_df: u32| {
        let v = Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig { min_df, ..Default::default() }, docs);
        v.unwrap().refitter()
    };
    assert_eq!([at(2).subset_min_df(6), at(2).subset_min_df(5), at(2).subset_min_df(4)], [2, 1, 1]);
    assert_eq!([at(3).subset_min_df(7), at(3).subset_min_df(5), at(3).subset_min_df(1)], [3, 2, 1]);
    let all = Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig::default(), docs).unwrap();
    let rows = all.transform_batch(docs);
    assert!(all.refitter().rows(&rows, &[0, 99]).is_err(), "a document out of range is an error");
    let other = Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig::default(), &docs[..2]).unwrap();
    assert!(other.refitter().rows(&rows, &[0]).is_err(), "rows of another vocabulary");
}

#[test]
fn transpose_turns_rows_into_columns() {
    let mut m = tagger_features::CsrMatrix::new(4);
    m.push_row(&[0, 3], &[1.0, 2.0]);
    m.push_row(&[], &[]);
    m.push_row(&[1, 3], &[3.0, 4.0]);
    let t = m.transpose();
    assert_eq!((t.n_rows(), t.n_cols()), (4, 3));
    let rows: Vec<(Vec<u32>, Vec<f32>)> = t.rows().map(|r| (r.indices.to_vec(), r.data.to_vec())).collect();
    assert_eq!(rows, [(vec![0], vec![1.0]), (vec![2], vec![3.0]), (vec![], vec![]), (vec![0, 2], vec![2.0, 4.0])]);
    assert!(t.validate().is_ok());
    assert_eq!(t.transpose(), m);
}

#[test]
fn tfidf_uses_the_fitted_idf_even_for_a_single_document() {
    let v = fit(VectorizerConfig::default());
    // "cat cat dog": tf(cat)=2 -> 1+ln 2; idf(cat)=ln(5/3)+1; idf(dog)=ln(5/2)+1; then L2 norm.
    let m = v.transform("cat cat dog");
    let row = m.row(0);
    let cat = (1.0 + 2f64.ln()) * ((5.0f64 / 3.0).ln() + 1.0);
    let dog = (5.0f64 / 2.0).ln() + 1.0;
    let norm = (cat * cat + dog * dog).sqrt();
    assert_eq!(row.indices, &[1, 5]);
    assert!((row.data[0] as f64 - cat / norm).abs() < 1e-6, "{:?}", row.data);
    assert!((row.data[1] as f64 - dog / norm).abs() < 1e-6, "{:?}", row.data);
    // Unknown words contribute nothing; an empty text is an empty row.
    assert_eq!(v.transform("zebra").nnz(), 0);
    assert_eq!(v.transform("").nnz(), 0);
}

#[test]
fn explain_keeps_the_source_spans_of_each_feature() {
    let v = fit(VectorizerConfig { ngram_max: 2, ..Default::default() });
    let text = "The CAT sat. The cat";
    let ex = v.explain(text);
    let m = v.transform(text);
    assert_eq!((ex.indices.as_slice(), ex.data.as_slice()), (m.row(0).indices, m.row(0).data));
    let find = |term: &str| {
        let k = ex.indices.iter().position(|&c| v.term(c) == Some(term)).unwrap();
        ex.spans[k].iter().map(|&(s, e)| &text[s..e]).collect::<Vec<_>>()
    };
    assert_eq!(find("cat"), ["CAT", "cat"]);
    assert_eq!(find("the cat"), ["The CAT", "The cat"]);
}

#[test]
fn hashing_mode_and_restore() {
    let v = fit(VectorizerConfig { hashing_bits: Some(10), ..Default::default() });
    assert_eq!(v.n_features(), 1024);
    assert_eq!(v.transform("cat dog").nnz(), 2);
    let back = Vectorizer::from_state(v.state().clone()).unwrap();
    assert_eq!(back.transform("the cat"), v.transform("the cat"));

    let mut broken: VectorizerState = fit(VectorizerConfig::default()).state().clone();
    broken.idf.pop();
    assert!(matches!(Vectorizer::from_state(broken), Err(FeatureError::Corrupt(_))));
}

#[test]
fn bad_configs_and_empty_corpora_are_errors() {
    for (cfg, needle) in [
        (VectorizerConfig { ngram_max: 4, ..Default::default() }, "ngram_max"),
        (VectorizerConfig { max_df: 0.0, ..Default::default() }, "max_df"),
        (VectorizerConfig { max_features: Some(0), ..Default::default() }, "max_features"),
        (VectorizerConfig { hashing_bits: Some(40), ..Default::default() }, "hashing_bits"),
    ] {
        let err = Vectorizer::fit(TokenizerConfig::default(), cfg, DOCS).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    assert!(matches!(
        Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig::default(), &[]),
        Err(FeatureError::EmptyCorpus)
    ));
    let err = Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig { min_df: 9, ..Default::default() }, DOCS);
    assert!(matches!(err, Err(FeatureError::EmptyVocabulary { .. })));
}

fn real_or_fixture(corpus: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(corpus);
    match tagger_corpus::Corpus::read_all(&dir) {
        Ok(docs) => docs.into_iter().map(|d| d.text).collect(),
        Err(_) => {
            eprintln!("notice: {} absent, using a generated fixture", dir.display());
            (0..300).map(|i| format!("doc {i} word{} word{} common text 原告{}", i % 7, i % 13, i % 5)).collect()
        }
    }
}

#[test]
fn fitting_real_corpora_is_deterministic() {
    for corpus in ["reuters21578/train", "cail2019_element/train"] {
        let docs = real_or_fixture(corpus);
        let texts: Vec<&str> = docs.iter().map(String::as_str).collect();
        let cfg = VectorizerConfig { ngram_max: 2, min_df: 2, ..Default::default() };
        let a = Vectorizer::fit(TokenizerConfig::default(), cfg.clone(), &texts).unwrap();
        // A different batch split must give the same vocabulary and IDF.
        let mut counter = tagger_features::DfCounter::new(TokenizerConfig::default(), cfg).unwrap();
        for chunk in texts.chunks(97) {
            counter.add_batch(chunk);
        }
        let b = counter.finish().unwrap();
        assert_eq!(a.state(), b.state(), "{corpus}");
        let m = a.transform_batch(&texts);
        assert_eq!(m.n_rows(), texts.len());
        m.validate().unwrap();
        let nonempty = m.rows().filter(|r| r.nnz() > 0).count();
        assert!(nonempty * 100 >= texts.len() * 99, "{corpus}: {nonempty} of {} rows have features", texts.len());
    }
}

proptest! {
    #[test]
    fn rows_are_sorted_and_unit_length(text in "[a-z 我的 .,]{0,80}") {
        let v = fit(VectorizerConfig { ngram_max: 3, ..Default::default() });
        let m = v.transform(&text);
        m.validate().unwrap();
        let row = m.row(0);
        let norm: f32 = row.data.iter().map(|x| x * x).sum();
        prop_assert!(row.nnz() == 0 || (norm - 1.0).abs() < 1e-5);
    }
}
