//! Criterion benches for the text-to-features path on Reuters-21578 documents (or a built-in fixture when
//! `../shared/data` is absent). Each bench checks the work it timed produced the expected output size.
//!
//! Run: `cargo bench -p tagger-features --bench features`

#![allow(clippy::print_stderr, reason = "tests print a notice when the shared corpora are absent")]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;
use tagger_corpus::Corpus;
use tagger_features::{Vectorizer, VectorizerConfig};
use tagger_tokenize::{Tokenizer, TokenizerConfig};

fn corpus() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/reuters21578/train");
    match Corpus::read_all(&dir) {
        Ok(docs) => docs.into_iter().map(|d| d.text).collect(),
        Err(_) => {
            eprintln!("notice: {} absent, benchmarking a synthetic fixture", dir.display());
            (0..2000)
                .map(|i| format!("Oil prices rose {i} pct as OPEC met in Vienna, traders said. ").repeat(8))
                .collect()
        }
    }
}

fn bench(c: &mut Criterion) {
    let docs = corpus();
    let texts: Vec<&str> = docs.iter().map(String::as_str).collect();
    let tok = Tokenizer::new(TokenizerConfig::default()).unwrap();

    let t0 = Instant::now();
    let vec = Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig::default(), &texts).unwrap();
    eprintln!("fit on {} docs: {:.3} s, {} features", texts.len(), t0.elapsed().as_secs_f64(), vec.n_features());

    // The document nearest 130 tokens, the size the issue quotes.
    let (doc, n_tokens) =
        texts.iter().map(|t| (*t, tok.tokenize(t).len())).min_by_key(|(_, n)| n.abs_diff(130)).unwrap();

    c.bench_function("tokenize/one_doc_~130_tokens", |b| {
        b.iter(|| {
            let mut n = 0;
            tok.for_each_token(black_box(doc), |_, _, _| n += 1);
            assert_eq!(n, n_tokens);
        })
    });

    let expect_nnz = vec.transform(doc).nnz();
    assert!(expect_nnz > 0);
    let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
    c.bench_function("tokenize+transform/one_doc_~130_tokens", |b| {
        b.iter(|| {
            vec.transform_into(black_box(doc), &mut cols, &mut idx, &mut val);
            assert_eq!(idx.len(), expect_nnz);
        })
    });

    let sample: Vec<&str> = texts.iter().take(1000).copied().collect();
    let mut g = c.benchmark_group("fit");
    g.sample_size(10);
    g.bench_function("vocabulary_fit/1000_docs", |b| {
        b.iter(|| {
            let v =
                Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig::default(), black_box(&sample)).unwrap();
            assert!(v.n_features() > 1000);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
