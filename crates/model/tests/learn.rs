//! Incremental learning: a model updated with newly indexed documents learns a label it never saw, keeps what it
//! knew, and stays a loadable, consistent model.

use std::path::Path;
use tagger_corpus::Document;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_model::{Decision, Loss, TaggerModel, TrainConfig, metrics};

const NEW_LABEL: &str = "SUBJECT 0011";

fn world() -> Vec<Document> {
    Synth::new(SynthConfig {
        docs: 700,
        labels: 12,
        labels_per_doc: 2.0,
        tokens_per_doc: 80,
        vocabulary: 3000,
        signature_words: 15,
        signal: 0.3,
        han: false,
        seed: 21,
        ..SynthConfig::default()
    })
    .collect()
}

fn texts(docs: &[Document]) -> Vec<&str> {
    docs.iter().map(|d| d.text.as_str()).collect()
}

/// Labels as an indexer before `NEW_LABEL` existed would have given them (`hide`) or as given.
fn labels(docs: &[Document], hide: bool) -> Vec<Vec<String>> {
    docs.iter().map(|d| d.labels.clone().unwrap().into_iter().filter(|l| !(hide && l == NEW_LABEL)).collect()).collect()
}

fn evaluate(model: &TaggerModel, docs: &[Document]) -> metrics::Report {
    let gold = labels(docs, false);
    let names = |d: Decision| -> Vec<Vec<String>> {
        model
            .tag_batch(&texts(docs), d)
            .into_iter()
            .map(|t| t.into_iter().map(|t| t.label.to_owned()).collect())
            .collect()
    };
    metrics::evaluate(&gold, &names(Decision::ModelRule), &names(Decision::TopK { k: 5, min_score: None }))
}

fn f1_of(model: &TaggerModel, docs: &[Document], label: &str) -> f64 {
    let tagged = model.tag_batch(&texts(docs), Decision::ModelRule);
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for (d, tags) in docs.iter().zip(tagged) {
        let gold = d.labels.as_ref().unwrap().iter().any(|l| l == label);
        let got = tags.iter().any(|t| t.label == label);
        match (gold, got) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fn_ += 1.0,
            _ => {}
        }
    }
    if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) }
}

#[test]
fn issue_12_learn_adds_a_new_label_and_keeps_the_known_ones() {
    let docs = world();
    let (old, rest) = docs.split_at(400);
    let (new, test) = rest.split_at(150);
    let model = TaggerModel::train(&texts(old), &labels(old, true), &TrainConfig::default(), &|_| {}).unwrap();
    assert!(!model.labels().iter().any(|l| l == NEW_LABEL));
    let before = evaluate(&model, test);

    // The new documents, then as many old ones replayed.
    let mut t = texts(new);
    t.extend(texts(&old[..150]));
    let mut l = labels(new, false);
    l.extend(labels(&old[..150], true));
    let (learned, record) = model.learn(&t, &l, new.len()).unwrap();
    assert_eq!((record.new_docs, record.replay_docs), (150, 150));
    assert_eq!(record.labels_added, [NEW_LABEL]);
    assert_eq!(record.labels_updated, model.labels().len());
    assert_eq!(learned.labels().len(), model.labels().len() + 1);
    assert_eq!(&learned.labels()[..model.labels().len()], model.labels(), "known labels keep their ids");

    let after = evaluate(&learned, test);
    let new_f1 = f1_of(&learned, test, NEW_LABEL);
    assert!(new_f1 > 0.5, "the new label is learnt: F1 {new_f1}");
    assert!(after.micro_f1 > before.micro_f1, "micro-F1 {} → {}", before.micro_f1, after.micro_f1);
    for known in &model.labels()[..3] {
        let (b, a) = (f1_of(&model, test, known), f1_of(&learned, test, known));
        assert!(a > b - 0.1, "{known}: F1 {b} → {a}");
    }

    // The updated model is a model like any other: it saves, reloads and tags the same; learning is repeatable.
    let bytes = learned.to_bytes().unwrap();
    let reloaded = TaggerModel::from_bytes(&bytes, Path::new("learned.tgm")).unwrap();
    assert_eq!(
        reloaded.tag(test[0].text.as_str(), Decision::ModelRule),
        learned.tag(test[0].text.as_str(), Decision::ModelRule)
    );
    assert_eq!(model.learn(&t, &l, new.len()).unwrap().0.to_bytes().unwrap(), bytes, "deterministic");

    // What it refuses.
    assert!(model.learn(&t, &l, 0).is_err(), "no new documents");
    assert!(model.learn(&t[..2], &l[..1], 1).is_err(), "texts and labels disagree");
    let mut logistic = TrainConfig::default();
    logistic.classifier.loss = Loss::Logistic;
    let m = TaggerModel::train(&texts(old), &labels(old, true), &logistic, &|_| {}).unwrap();
    let e = m.learn(&t, &l, new.len()).unwrap_err().to_string();
    assert!(e.contains("squared-hinge"), "{e}");
}
