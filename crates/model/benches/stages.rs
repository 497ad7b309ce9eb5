//! Criterion benches for the scoring stages of tagging one document, on the Reuters-21578 model trained in
//! process (or a generated fixture when `../shared/data` is absent). Each bench asserts the output it timed.
//!
//! Run: `cargo bench -p tagger-model --bench stages`
#![allow(clippy::print_stderr, reason = "benches print a notice when the shared corpora are absent")]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use tagger_corpus::Corpus;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_features::SparseRow;
use tagger_model::{Decision, TaggerModel, TrainConfig};

fn corpus() -> Vec<tagger_corpus::Document> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/reuters21578/train");
    Corpus::read_all(&dir).unwrap_or_else(|_| {
        eprintln!("notice: {} absent, benchmarking a generated fixture", dir.display());
        let cfg = SynthConfig {
            docs: 3000,
            labels: 90,
            labels_per_doc: 1.3,
            tokens_per_doc: 130,
            vocabulary: 20_000,
            han: false,
            ..SynthConfig::default()
        };
        Synth::new(cfg).collect()
    })
}

fn bench(c: &mut Criterion) {
    let docs = corpus();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let labels: Vec<Vec<String>> = docs.iter().map(|d| d.labels.clone().unwrap_or_default()).collect();
    let model = TaggerModel::train(&texts, &labels, &TrainConfig::default(), &|_| {}).unwrap();
    let n_labels = model.labels().len();
    let text = texts.iter().copied().min_by_key(|t| t.split_whitespace().count().abs_diff(130)).unwrap();

    let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
    model.vectorizer().transform_into(text, &mut cols, &mut idx, &mut val);
    assert!(!idx.is_empty());
    let row = SparseRow { indices: &idx, data: &val };
    let mut out = vec![0.0f32; n_labels];

    c.bench_function("scoring/decision_values", |b| {
        b.iter(|| {
            model.classifier().decision_values(black_box(row), &mut out);
            assert!(out.iter().all(|s| s.is_finite()));
        })
    });
    c.bench_function("scoring/probabilities", |b| {
        b.iter(|| {
            model.classifier().probabilities(black_box(row), &mut out);
            assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
        })
    });
    let mut probs = vec![0.0f32; n_labels];
    model.classifier().probabilities(row, &mut probs);
    let expect = model.classifier().decide(&probs, Decision::ModelRule).len();
    assert!(expect >= 1);
    c.bench_function("decision/thresholds", |b| {
        b.iter(|| assert_eq!(model.classifier().decide(black_box(&probs), Decision::ModelRule).len(), expect))
    });
    c.bench_function("decision/top5", |b| {
        b.iter(|| {
            let k = model.classifier().decide(black_box(&probs), Decision::TopK { k: 5, min_score: None }).len();
            assert_eq!(k, 5.min(n_labels));
        })
    });
    c.bench_function("end_to_end/tag_one_doc", |b| {
        b.iter(|| assert_eq!(model.tag(black_box(text), Decision::ModelRule).len(), expect))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
