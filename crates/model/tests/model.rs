//! Model tests: linfa traits, training on generated fixtures, the artifact (round trip, corruption),
//! determinism across thread counts, explanations, and the quality bars on the shipped corpora.
#![allow(clippy::print_stderr, reason = "tests print a notice when the shared corpora are absent")]

use linfa::ParamGuard;
use linfa::prelude::*;
use ndarray::Array2;
use std::path::{Path, PathBuf};
use tagger_corpus::Document;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_features::{CsrMatrix, Vectorizer, VectorizerConfig};
use tagger_model::{
    BatchSink, Decision, LabelSets, Loss, ModelError, OvrParams, Tag, TaggerModel, TrainConfig, TrainingSource,
    ValidOvrParams, dataset, metrics,
};
use tagger_tokenize::TokenizerConfig;

fn fixture(han: bool, docs: usize, seed: u64) -> Vec<Document> {
    Synth::new(SynthConfig {
        docs,
        labels: 12,
        labels_per_doc: 2.0,
        tokens_per_doc: 80,
        vocabulary: 3000,
        signature_words: 15,
        signal: 0.3,
        han,
        seed,
        ..SynthConfig::default()
    })
    .collect()
}

fn split(docs: &[Document]) -> (Vec<&str>, Vec<Vec<String>>) {
    (docs.iter().map(|d| d.text.as_str()).collect(), docs.iter().map(|d| d.labels.clone().unwrap()).collect())
}

fn train(docs: &[Document], config: &TrainConfig) -> TaggerModel {
    let (texts, labels) = split(docs);
    TaggerModel::train(&texts, &labels, config, &|_| {}).unwrap()
}

fn evaluate(model: &TaggerModel, docs: &[Document]) -> metrics::Report {
    let (texts, gold) = split(docs);
    let names = |d: Decision| -> Vec<Vec<String>> {
        model.tag_batch(&texts, d).into_iter().map(|t| t.into_iter().map(|t| t.label.to_owned()).collect()).collect()
    };
    metrics::evaluate(&gold, &names(Decision::ModelRule), &names(Decision::TopK { k: 5, min_score: None }))
}

#[test]
fn learns_generated_corpora_in_both_scripts() {
    for han in [false, true] {
        let docs = fixture(han, 700, 11);
        let (train_docs, test_docs) = docs.split_at(550);
        let model = train(train_docs, &TrainConfig::default());
        let r = evaluate(&model, test_docs);
        assert!(r.micro_f1 > 0.75 && r.p_at_1 > 0.85, "han={han}: micro-F1 {} P@1 {}", r.micro_f1, r.p_at_1);
        let cv = model.meta.cv.as_ref().expect("5-fold report");
        assert!(cv.micro_f1 > 0.7, "held-out estimate {}", cv.micro_f1);
        let script = model.meta.profile.as_ref().unwrap().script;
        assert_eq!(format!("{script:?}"), if han { "Whitespace" } else { "Words" });
    }
}

/// Pre-segmented Chinese-like text whose segmentation is inconsistent: about half the word boundaries are
/// dropped at random (deterministically), as when documents come from different segmenters. Words then miss
/// what character n-grams across the old boundaries still see.
fn inconsistently_segmented(docs: usize, seed: u64) -> Vec<Document> {
    let mut out = fixture(true, docs, seed);
    drop_word_boundaries(&mut out, seed);
    out
}

/// Drop about half the spaces between words, at random (deterministically for a seed).
fn drop_word_boundaries(docs: &mut [Document], seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut coin = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state & 1 == 0
    };
    for d in docs {
        let mut text = String::with_capacity(d.text.len());
        for (i, w) in d.text.split(' ').enumerate() {
            if i > 0 && coin() {
                text.push(' ');
            }
            text.push_str(w);
        }
        d.text = text;
    }
}

#[test]
fn issue_16_segmented_text_starts_from_words_and_keeps_characters_only_when_the_pilot_shows_a_gain() {
    let min_gain = tagger_model::PilotConfig::default().min_gain;
    let check = |docs: &[Document], expect_chars: bool| {
        let model = train(docs, &TrainConfig::default());
        let trials = &model.meta.feature_search;
        let names: Vec<&str> = trials.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["words", "words+chars"], "cheapest first");
        assert!(trials.iter().all(|t| t.docs == docs.len() && t.labels == 12), "{trials:?}");
        assert!(trials[1].nnz > trials[0].nnz, "character n-grams cost more: {trials:?}");
        let gain = trials[1].micro_f1 - trials[0].micro_f1;
        assert_eq!(trials[1].chosen, gain >= min_gain, "chosen iff the gain reaches min_gain: {trials:?}");
        assert_eq!(trials.iter().filter(|t| t.chosen).count(), 1);
        let features = &model.meta.config.as_ref().unwrap().features;
        assert_eq!(features.char_ngram_max > 0, trials[1].chosen, "the chosen set is the one trained");
        assert_eq!(trials[1].chosen, expect_chars, "{trials:?}");
        // The min_df search runs for the character n-grams only.
        assert_eq!(model.meta.min_df_search.is_empty(), !expect_chars);
        model
    };
    // Consistently segmented words: the words are all there is to learn; characters add cost, not quality.
    let words = check(&fixture(true, 300, 17), false);
    assert_eq!(words.meta.config.as_ref().unwrap().features.min_df, 2);
    // Inconsistent segmentation: character n-grams recover what the words lose.
    check(&inconsistently_segmented(300, 17), true);
    // No pilot for alphabetic text, for configured features, or when switched off.
    assert!(train(&fixture(false, 300, 17), &TrainConfig::default()).meta.feature_search.is_empty());
    let configured = TrainConfig { features: Some(VectorizerConfig::default()), ..TrainConfig::default() };
    assert!(train(&fixture(true, 300, 17), &configured).meta.feature_search.is_empty());
    let mut off = TrainConfig::default();
    off.pilot.enabled = false;
    let m = train(&inconsistently_segmented(300, 17), &off);
    assert!(m.meta.feature_search.is_empty());
    assert_eq!(m.meta.config.as_ref().unwrap().features.char_ngram_max, 0, "words without a pilot");
}

#[test]
fn chinese_features_pick_min_df_on_the_calibration_folds() {
    let docs = inconsistently_segmented(300, 17);
    let model = train(&docs, &TrainConfig::default());
    assert!(model.meta.config.as_ref().unwrap().features.char_ngram_max > 0, "the pilot chose characters");
    let trials = &model.meta.min_df_search;
    let tried: Vec<u32> = trials.iter().map(|t| t.min_df).collect();
    assert!(tried.len() >= 2, "automatic Chinese features compare candidates: {trials:?}");
    assert_eq!(tried, tagger_model::CJK_MIN_DF_CANDIDATES[..tried.len()], "in increasing order");
    let best = trials.iter().map(|t| t.micro_f1).fold(f64::MIN, f64::max);
    // Every trial but the last is at least as good as all before it; the search stops at the first worse one.
    for i in 1..trials.len() - 1 {
        assert!(trials[..i].iter().all(|t| t.micro_f1 <= trials[i].micro_f1), "went on after a worse one: {trials:?}");
    }
    if tried.len() < tagger_model::CJK_MIN_DF_CANDIDATES.len() {
        assert!(trials.last().unwrap().micro_f1 < best, "stopped without a worse candidate: {trials:?}");
    }
    let chosen = model.meta.min_df_search.iter().find(|t| t.micro_f1 == best).unwrap();
    let features = &model.meta.config.as_ref().unwrap().features;
    assert_eq!(features.min_df, chosen.min_df, "the first best candidate is kept and recorded");
    assert_eq!((model.vectorizer().n_features(), model.meta.n_features), (chosen.features, chosen.features));
    assert_eq!(model.meta.cv.as_ref().unwrap().tuned_micro_f1, best);
    // The kept vocabulary is what a vectorizer fitted with that min_df gives, so the model reloads as trained.
    let (texts, _) = split(&docs);
    let direct = Vectorizer::fit(TokenizerConfig::default(), features.clone(), &texts).unwrap();
    assert_eq!(direct.state(), model.vectorizer().state());
    let sizes: Vec<usize> = trials.iter().map(|t| t.features).collect();
    assert!(sizes.windows(2).all(|w| w[0] > w[1]), "larger min_df, fewer features: {sizes:?}");

    // Too few documents for calibration folds: nothing to compare, the configured min_df is kept.
    let tiny = train(&docs[..8], &TrainConfig::default());
    assert!(tiny.meta.min_df_search.is_empty() && tiny.meta.cv.is_none());
    assert_eq!(tiny.meta.config.as_ref().unwrap().features.min_df, 2);
    // No search for words, for configured features, or when switched off.
    assert!(train(&fixture(false, 300, 17), &TrainConfig::default()).meta.min_df_search.is_empty());
    assert!(train(&fixture(true, 300, 17), &TrainConfig::default()).meta.min_df_search.is_empty());
    let mut config = TrainConfig { min_df_candidates: Some(Vec::new()), ..TrainConfig::default() };
    assert!(train(&docs, &config).meta.min_df_search.is_empty());
    config.min_df_candidates = None;
    config.features = Some(VectorizerConfig { min_df: 2, char_ngram_max: 3, ..VectorizerConfig::default() });
    assert!(train(&docs, &config).meta.min_df_search.is_empty());
    config.min_df_candidates = Some(vec![3, 1, 2, 100_000]);
    let tried: Vec<u32> = train(&docs, &config).meta.min_df_search.iter().map(|t| t.min_df).collect();
    assert_eq!(tried, [2, 3], "below the configured min_df dropped, sorted, a value that leaves nothing ends it");
}

/// A corpus delivered in small batches, optionally growing between reads or failing.
struct Batches<'a> {
    docs: &'a [Document],
    size: usize,
    reads: std::cell::Cell<usize>,
    grow_on_second_read: bool,
}

impl TrainingSource for Batches<'_> {
    fn read(&self, sink: &mut BatchSink<'_>) -> Result<(), ModelError> {
        self.reads.set(self.reads.get() + 1);
        let docs = if self.grow_on_second_read && self.reads.get() == 2 { self.docs } else { &self.docs[1..] };
        for chunk in docs.chunks(self.size) {
            let (texts, labels) = split(chunk);
            sink(&texts, &labels)?;
        }
        Ok(())
    }
}

#[test]
fn streaming_in_batches_trains_the_same_model_as_memory() {
    let docs = fixture(true, 301, 13);
    let source = Batches { docs: &docs, size: 7, reads: Default::default(), grow_on_second_read: false };
    let streamed = TaggerModel::train_from(&source, &TrainConfig::default(), &|_| {}).unwrap();
    let chars = streamed.meta.feature_search.iter().any(|t| t.chosen && t.features.char_ngram_max > 0);
    let reads = if chars { 3 } else { 2 };
    assert_eq!(source.reads.get(), reads, "vocabulary pass (again if the pilot chose characters), features pass");
    let in_memory = train(&docs[1..], &TrainConfig::default());
    assert_eq!(streamed.labels(), in_memory.labels());
    // Same vocabulary, weights, thresholds; only the profile's character counts differ (first batch only).
    assert_eq!(streamed.vectorizer().state(), in_memory.vectorizer().state());
    assert_eq!(streamed.classifier(), in_memory.classifier());
    let script = |m: &TaggerModel| m.meta.profile.as_ref().map(|p| p.script);
    assert_eq!(script(&streamed), script(&in_memory));

    let changing = Batches { docs: &docs, size: 50, reads: Default::default(), grow_on_second_read: true };
    let err = TaggerModel::train_from(&changing, &TrainConfig::default(), &|_| {}).unwrap_err().to_string();
    assert!(err.contains("changed while it was read"), "{err}");
    let empty = Batches { docs: &docs[..1], size: 5, reads: Default::default(), grow_on_second_read: false };
    let err = TaggerModel::train_from(&empty, &TrainConfig::default(), &|_| {}).unwrap_err().to_string();
    assert!(err.contains("no training documents"), "{err}");
}

#[test]
fn large_corpora_calibrate_on_one_held_out_slice() {
    let docs = fixture(false, 900, 12);
    let (train_docs, test_docs) = docs.split_at(700);
    let mut config = TrainConfig::default();
    // 700 documents is "large" here: one slice of min(150, 700 / 10) = 70 documents.
    config.classifier.holdout_above = 500;
    config.classifier.holdout_docs = 150;
    let model = train(train_docs, &config);
    let cv = model.meta.cv.as_ref().expect("held-out report");
    assert_eq!(cv.folds, 1, "one held-out slice");
    let r = evaluate(&model, test_docs);
    assert!(r.micro_f1 > 0.75 && r.p_at_1 > 0.85, "micro-F1 {} P@1 {}", r.micro_f1, r.p_at_1);
    // Below the limit the same corpus uses the folds.
    config.classifier.holdout_above = 701;
    assert_eq!(train(train_docs, &config).meta.cv.as_ref().map(|c| c.folds), Some(5));
}

/// With `max_negatives` below the negatives of a block, each block trains on its positives and a weighted
/// sample of the rest: a different model (so the sample was used), of nearly the exact model's quality.
#[test]
fn sampled_negatives_stay_close_to_the_exact_fit() {
    let docs: Vec<Document> = Synth::new(SynthConfig {
        docs: 900,
        labels: 60,
        labels_per_doc: 2.0,
        tokens_per_doc: 80,
        vocabulary: 3000,
        signature_words: 15,
        signal: 0.3,
        seed: 31,
        ..SynthConfig::default()
    })
    .collect();
    let (train_docs, test_docs) = docs.split_at(700);
    let mut config = TrainConfig::default();
    config.classifier.cv_folds = 3;
    let exact = train(train_docs, &config);
    // Blocks of 16 of the 60 labels: about half the documents have none of a block's labels.
    config.classifier.max_negatives = 120;
    let sampled = train(train_docs, &config);
    let scores = |m: &TaggerModel| -> Vec<Vec<(String, f32)>> {
        let texts: Vec<&str> = test_docs.iter().map(|d| d.text.as_str()).collect();
        let top = m.tag_batch(&texts, Decision::TopK { k: 5, min_score: None });
        top.into_iter().map(|t| t.into_iter().map(|t| (t.label.to_owned(), t.score)).collect()).collect()
    };
    assert_ne!(scores(&exact), scores(&sampled), "the sample changed no score");
    let (e, s) = (evaluate(&exact, test_docs), evaluate(&sampled, test_docs));
    assert!(e.micro_f1 > 0.6, "exact micro-F1 {}", e.micro_f1);
    assert!(s.micro_f1 > e.micro_f1 - 0.05, "sampled micro-F1 {} vs exact {}", s.micro_f1, e.micro_f1);
    assert!(s.p_at_1 > e.p_at_1 - 0.05, "sampled P@1 {} vs exact {}", s.p_at_1, e.p_at_1);
}

/// The calibration folds' looser stop (`fold_tol_scale`) changes the held-out scores, and so the calibration,
/// but not the fit on every document; when the folds' average is served (`average_folds`), it changes that.
#[test]
fn the_folds_tolerance_moves_the_calibration_not_the_served_weights() {
    let docs: Vec<Document> = Synth::new(SynthConfig {
        docs: 500,
        labels: 30,
        labels_per_doc: 2.0,
        tokens_per_doc: 60,
        vocabulary: 2000,
        signature_words: 12,
        signal: 0.3,
        seed: 17,
        ..SynthConfig::default()
    })
    .collect();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let scores = |m: &TaggerModel| -> Vec<Vec<(u32, f32)>> {
        let top = m.tag_batch(&texts, Decision::TopK { k: 5, min_score: None });
        top.into_iter().map(|t| t.into_iter().map(|t| (t.id, t.score)).collect()).collect()
    };
    let weights = |m: &TaggerModel| -> Vec<f32> {
        let c = m.classifier();
        (0..c.n_features() as u32).flat_map(|f| (0..m.labels().len() as u32).map(move |l| c.weight(f, l))).collect()
    };
    let with = |scale: f32, average: bool| {
        let mut config = TrainConfig::default();
        config.classifier.cv_folds = 3;
        config.classifier.fold_tol_scale = Some(scale);
        config.classifier.average_folds = average;
        train(&docs, &config)
    };
    let (exact, loose) = (with(1.0, false), with(20.0, false));
    assert_eq!(weights(&exact), weights(&loose), "the served fit changed");
    assert!(weights(&exact).iter().any(|&w| w != 0.0));
    assert_ne!(scores(&exact), scores(&loose), "the folds' stop changed no calibration");
    let (exact, loose) = (with(1.0, true), with(20.0, true));
    assert_ne!(weights(&exact), weights(&loose), "the served average of the folds did not change");
    // A vocabulary model's folds stop at 3 × tol unless the configuration says otherwise.
    let mut config = TrainConfig::default();
    assert_eq!(config.classifier.fold_tol_scale, None);
    assert_eq!(config.for_vocabulary().classifier.fold_tol_scale, Some(tagger_model::VOCABULARY_FOLD_TOL_SCALE));
    config.classifier.fold_tol_scale = Some(1.0);
    assert_eq!(config.for_vocabulary().classifier.fold_tol_scale, Some(1.0));
}

#[test]
fn cross_validation_tags_each_fold_with_a_model_that_never_saw_it() {
    let folds = tagger_model::assign_folds(103, 4, 9);
    let mut sizes = [0usize; 4];
    folds.iter().for_each(|&f| sizes[f] += 1);
    assert_eq!(sizes, [26, 26, 26, 25], "fold sizes differ by at most one");
    assert_eq!(folds, tagger_model::assign_folds(103, 4, 9), "the seed decides the folds");
    assert_ne!(folds, tagger_model::assign_folds(103, 4, 10));

    let docs = fixture(false, 400, 21);
    let (texts, labels) = split(&docs);
    let seen = std::sync::Mutex::new(Vec::new());
    let cv = tagger_model::cross_validate(&texts, &labels, &TrainConfig::default(), None, 4, &|f| {
        seen.lock().unwrap().push(f)
    })
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3]);
    assert_eq!((cv.folds, cv.pooled.docs, cv.fold_micro_f1.len()), (4, 400, 4));
    // Held-out quality is close to what a separate test split shows for this generator (see above), and
    // clearly below what the models score on documents they were trained on.
    assert!(cv.pooled.micro_f1 > 0.7 && cv.pooled.micro_f1 < 0.99, "pooled micro-F1 {}", cv.pooled.micro_f1);
    let train_fit = evaluate(&train(&docs, &TrainConfig::default()), &docs).micro_f1;
    assert!(train_fit > cv.pooled.micro_f1, "training fit {train_fit} vs held out {}", cv.pooled.micro_f1);
    assert!(cv.sd_micro_f1() > 0.0 && cv.sd_micro_f1() < 0.1, "sd {}", cv.sd_micro_f1());

    let err = tagger_model::cross_validate(&texts[..3], &labels[..3], &TrainConfig::default(), None, 5, &|_| {});
    assert!(err.unwrap_err().to_string().contains("2 to 3 folds"));
}

#[test]
fn linfa_fit_and_predict_on_sparse_records() {
    let docs = fixture(false, 200, 5);
    let (texts, labels) = split(&docs);
    let vec = Vectorizer::fit(TokenizerConfig::default(), VectorizerConfig::default(), &texts).unwrap();
    let x = vec.transform_batch(&texts);
    let mut names: Vec<&String> = labels.iter().flatten().collect();
    names.sort();
    names.dedup();
    // One extra label id that no document carries: it must be skipped, not an error.
    let n_labels = names.len() + 1;
    let sets: Vec<Vec<u32>> =
        labels.iter().map(|ls| ls.iter().map(|l| names.binary_search(&l).unwrap() as u32).collect()).collect();
    let ds = dataset(x, LabelSets::new(sets, n_labels).unwrap()).unwrap();
    let model = ValidOvrParams::new().cv_folds(3).check().unwrap().fit(&ds).unwrap();
    let probs: Array2<f32> = model.predict(&ds);
    assert_eq!(probs.dim(), (200, n_labels));
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(!model.trained()[n_labels - 1]);
    assert!(probs.column(n_labels - 1).iter().all(|&p| p == 0.0));

    // Mismatched sizes and bad label ids are errors, not panics.
    let short = CsrMatrix::new(3);
    assert!(matches!(dataset(short, LabelSets::new(vec![vec![0]], 1).unwrap()), Err(ModelError::InvalidData(_))));
    assert!(matches!(LabelSets::new(vec![vec![5]], 2), Err(ModelError::InvalidData(_))));
}

#[test]
fn parameters_are_checked() {
    let cases: Vec<(OvrParams, &str)> = vec![
        (ValidOvrParams::new().c(0.0), "c must be positive"),
        (ValidOvrParams::new().c(f32::NAN), "c must be positive"),
        (ValidOvrParams::new().tol(-1.0), "tol"),
        (ValidOvrParams::new().max_iter(0), "max_iter"),
        (ValidOvrParams::new().cv_folds(50), "cv_folds"),
        (ValidOvrParams::new().bias(-1.0), "bias"),
        (ValidOvrParams::new().fbr(2.0), "fbr"),
        (ValidOvrParams::new().positive_weight(0.0), "positive_weight"),
        (ValidOvrParams::new().holdout(10, 0), "holdout_docs"),
        (ValidOvrParams::new().fold_tol_scale(0.5), "fold_tol_scale"),
    ];
    for (p, needle) in cases {
        let err = p.check().unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    assert!(ValidOvrParams::new().loss(Loss::Logistic).c(4.0).check().is_ok());
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tagger-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn artifact_round_trips_bit_for_bit() {
    let docs = fixture(true, 300, 3);
    let model = train(&docs, &TrainConfig::default());
    let dir = temp("roundtrip");
    let path = dir.join("m.tgm");
    model.save(&path).unwrap();
    let back = TaggerModel::load(&path).unwrap();
    assert_eq!(back.to_bytes().unwrap(), model.to_bytes().unwrap());
    assert_eq!(back.labels(), model.labels());
    assert_eq!(back.meta, model.meta);
    // Prepared as a server prepares a model it loads, it tags as the model whose scoring tables were built on
    // first use.
    back.prepare();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let bits = |tags: Vec<Vec<tagger_model::Tag<'_>>>| -> Vec<Vec<(String, u32)>> {
        tags.into_iter().map(|t| t.into_iter().map(|t| (t.label.to_owned(), t.score.to_bits())).collect()).collect()
    };
    assert_eq!(bits(back.tag_batch(&texts, Decision::ModelRule)), bits(model.tag_batch(&texts, Decision::ModelRule)));
    // Unsegmented input goes through the same pipeline after loading (jieba chosen per document).
    for text in docs.iter().map(|d| d.text.as_str()).chain(["", "完全 未知 的 词", "plain english words"]) {
        let (a, b) = (model.probabilities(text), back.probabilities(text));
        assert_eq!(
            a.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|p| p.to_bits()).collect::<Vec<_>>()
        );
    }
    // No temporary file is left behind.
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["m.tgm"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_model_files_are_rejected_with_clear_errors() {
    let model = train(&fixture(false, 120, 4), &TrainConfig::default());
    let good = model.to_bytes().unwrap();
    let mut flipped = good.clone();
    let mid = 24 + (good.len() - 24) / 2;
    flipped[mid] ^= 0x40;
    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    let mut older = good.clone();
    older[8..12].copy_from_slice(&1u32.to_le_bytes());
    let mut wrong_magic = good.clone();
    wrong_magic[0] = b'X';
    let mut trailing = good.clone();
    trailing.push(0);
    // Found by fuzzing (`fuzz/regressions/model_bitflip/version-5-read-as-4`): the checksum covers the payload,
    // not the version field, so a current file whose version reads 4 decoded as a version-4 payload and loaded
    // without its last part. A payload must be decoded to its last byte.
    let mut version_4 = good.clone();
    version_4[8..12].copy_from_slice(&4u32.to_le_bytes());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..good.len() - 10].to_vec(), "truncated"),
        (good[..10].to_vec(), "not a tagger model"),
        (Vec::new(), "not a tagger model"),
        (flipped, "checksum mismatch"),
        (newer, "newer than this tagger supports"),
        (older, "older than this tagger reads"),
        (wrong_magic, "not a tagger model"),
        (trailing, "unexpected bytes"),
        (version_4, "left over after a version 4 payload"),
    ];
    for (bytes, needle) in cases {
        let err = TaggerModel::from_bytes(&bytes, Path::new("bad.tgm")).unwrap_err().to_string();
        assert!(err.starts_with("bad.tgm: ") && err.contains(needle), "got {err:?}, want {needle:?}");
    }
    let missing = TaggerModel::load(Path::new("/nonexistent/m.tgm")).unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/m.tgm"), "{missing}");
}

#[test]
fn training_is_deterministic_for_any_thread_count() {
    let docs = fixture(false, 400, 9);
    let bytes = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| train(&docs, &TrainConfig::default()).to_bytes().unwrap())
    };
    let one = bytes(1);
    assert_eq!(one, bytes(2), "1 vs 2 threads");
    assert_eq!(one, bytes(3), "1 vs 3 threads");
    let mut other_seed = TrainConfig::default();
    other_seed.classifier.seed = 7;
    let different = train(&docs, &other_seed).to_bytes().unwrap();
    assert_ne!(one, different, "the seed must matter (fold split), or this test proves nothing");
}

#[test]
fn explanations_point_at_the_words_behind_each_tag() {
    let docs = fixture(false, 400, 21);
    let model = train(&docs, &TrainConfig::default());
    let text = &docs[0].text;
    let ex = model.explain(text, Decision::ModelRule, 3);
    assert!(!ex.is_empty());
    let tags: Vec<(String, f32)> =
        model.tag(text, Decision::ModelRule).into_iter().map(|t| (t.label.to_owned(), t.score)).collect();
    assert_eq!(ex.iter().map(|e| (e.label.clone(), e.score)).collect::<Vec<_>>(), tags);
    for e in &ex {
        assert!(!e.terms.is_empty() && e.terms.len() <= 3);
        assert!(e.terms.windows(2).all(|w| w[0].contribution >= w[1].contribution));
        for t in &e.terms {
            assert!(t.contribution > 0.0);
            for &(s, end) in &t.spans {
                assert_eq!(text[s..end].to_lowercase(), t.term, "span of {:?}", t.term);
            }
        }
    }
}

#[test]
fn decision_rules() {
    let model = train(&fixture(false, 300, 2), &TrainConfig::default());
    let text = "completely unrelated words that no label uses";
    // At least one tag, even when nothing passes a threshold.
    assert_eq!(model.tag(text, Decision::ModelRule).len(), 1);
    assert_eq!(model.tag(text, Decision::TopK { k: 4, min_score: None }).len(), 4);
    let top = model.tag(text, Decision::TopK { k: 12, min_score: None });
    assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(model.tag(text, Decision::TopK { k: 3, min_score: Some(1.1) }).is_empty());
    assert!(model.tag(text, Decision::MinScore(1.1)).is_empty());
}

fn shared(corpus: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(corpus);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("notice: {} is absent; quality bar on it skipped (fixtures cover the rest)", dir.display());
        None
    }
}

/// Regression guard on the shipped test splits (defaults were chosen on training folds, never on these).
/// Reuters is held to the issue's bars (micro-F1 ≥ 0.885, macro-F1 ≥ 0.57; measured 0.896 / 0.612). CAIL2019
/// measures 0.797 against the issue's 0.80 bar (124 test documents: one decision is worth ~0.001), so the
/// guard sits just below what is measured, to catch regressions without pretending the bar is met.
#[test]
fn quality_bars_on_the_shipped_corpora() {
    for (corpus, min_micro, min_macro) in [("reuters21578", 0.885, 0.57), ("cail2019_element", 0.80, 0.6)] {
        let Some(dir) = shared(corpus) else { continue };
        let train_docs = tagger_corpus::Corpus::read_all(&dir.join("train")).unwrap();
        let test_docs = tagger_corpus::Corpus::read_all(&dir.join("test")).unwrap();
        let model = train(&train_docs, &TrainConfig::default());
        let r = evaluate(&model, &test_docs);
        eprintln!("{corpus}: micro-F1 {:.4} macro-F1 {:.4} P@1 {:.4}", r.micro_f1, r.macro_f1, r.p_at_1);
        assert!(r.micro_f1 >= min_micro, "{corpus}: micro-F1 {:.4} < {min_micro}", r.micro_f1);
        assert!(r.macro_f1 >= min_macro, "{corpus}: macro-F1 {:.4} < {min_macro}", r.macro_f1);
    }
}

/// Issue 16: the held-out estimate `train` reports (micro-F1, precision, recall) predicts what the served model
/// does on fresh documents of the same distribution, for every script profile and with the default and the
/// word-unigram settings, and also when pruning drops many weights (a pruned model scores differently from the
/// unpruned fold models, which once let calibration over-predict). Fresh documents come from the same generator
/// stream, after the training ones.
#[test]
fn issue_16_held_out_estimate_predicts_fresh_documents() {
    let unigrams: TrainConfig =
        serde_json::from_str(r#"{"tokenizer":{"segmenter":"whitespace"},"features":{"ngram_max":1,"min_df":2}}"#)
            .unwrap();
    let pruned: TrainConfig = serde_json::from_str(r#"{"classifier":{"prune_below":0.12}}"#).unwrap();
    let (n_train, n_test) = (1000, 1500);
    let mut failures = Vec::new();
    // Pre-segmented CJK-like (two seeds), Latin-like (two seeds), unsegmented CJK-like, and pre-segmented with
    // inconsistent segmentation (where the defaults add character n-grams).
    for (seed, han, segmented, resegment) in [
        (1, true, true, false),
        (2, true, true, false),
        (3, false, true, false),
        (4, false, true, false),
        (5, true, false, false),
        (6, true, true, true),
    ] {
        let mut docs: Vec<Document> = Synth::new(SynthConfig {
            docs: n_train + n_test,
            labels: 30,
            labels_per_doc: 5.0,
            tokens_per_doc: 300,
            vocabulary: 20_000,
            han,
            segmented,
            seed,
            ..SynthConfig::default()
        })
        .collect();
        if resegment {
            drop_word_boundaries(&mut docs, seed);
        }
        let (train_docs, test_docs) = docs.split_at(n_train);
        let han = format!(
            "{}{}",
            if han { "han" } else { "latin" },
            if !segmented {
                " unsegmented"
            } else if resegment {
                " resegmented"
            } else {
                ""
            }
        );
        for (name, config) in
            [("defaults", TrainConfig::default()), ("unigrams", unigrams.clone()), ("pruned", pruned.clone())]
        {
            if name == "unigrams" && !segmented {
                continue; // whitespace segmentation of unsegmented text leaves one token per document
            }
            let model = train(train_docs, &config);
            let cv = model.meta.cv.clone().expect("a 5-fold estimate");
            let r = evaluate(&model, test_docs);
            let line = format!(
                "seed {seed} {han} {name}: estimate F1 {:.3} P {:.3} R {:.3}, fresh F1 {:.3} P {:.3} R {:.3}",
                cv.micro_f1, cv.micro_precision, cv.micro_recall, r.micro_f1, r.micro_precision, r.micro_recall
            );
            let pilot: Vec<String> = model
                .meta
                .feature_search
                .iter()
                .map(|t| format!("{} {:.3}{}", t.name, t.micro_f1, if t.chosen { "*" } else { "" }))
                .collect();
            eprintln!("{line} [{}]", pilot.join(", "));
            let gaps =
                [cv.micro_f1 - r.micro_f1, cv.micro_precision - r.micro_precision, cv.micro_recall - r.micro_recall];
            if gaps.iter().any(|g| g.abs() > 0.03) {
                failures.push(line);
            }
        }
    }
    assert!(failures.is_empty(), "estimate and fresh documents differ by more than 0.03:\n{}", failures.join("\n"));
}

/// A vocabulary for the fixture's labels "SUBJECT 000K": concept `c/K`, Finnish label as in the corpus, English
/// label "topic K", notation "K".
fn fixture_vocabulary() -> tagger_vocab::Vocabulary {
    let mut b = tagger_vocab::VocabBuilder::new();
    let fi: String = (0..12).map(|k| format!("<http://example.org/c/{k}>\tSUBJECT {k:04}\n")).collect();
    let en: String = (0..12).map(|k| format!("<http://example.org/c/{k}>\ttopic {k}\t{k}\n")).collect();
    b.add_tsv(Path::new("fi.tsv"), "fi", fi.as_bytes()).unwrap();
    b.add_tsv(Path::new("en.tsv"), "en", en.as_bytes()).unwrap();
    b.finish().unwrap()
}

#[test]
fn issue_10_a_model_keeps_its_vocabulary_and_names_concepts_in_any_of_its_languages() {
    let docs = fixture(false, 200, 4);
    let vocab = fixture_vocabulary();
    let resolver = tagger_vocab::Resolver::new(&vocab);
    let mut report = tagger_vocab::SubjectReport::default();
    let (texts, labels) = split(&docs);
    let uris: Vec<Vec<String>> =
        labels.iter().map(|l| tagger_model::resolve_subjects(&resolver, l, &mut report)).collect();
    assert_eq!((report.by_label, report.unresolved()), (labels.iter().map(Vec::len).sum(), 0));
    let plain = TaggerModel::train(&texts, &uris, &TrainConfig::default(), &|_| {}).unwrap();
    // Labels that are not concept URIs cannot be given a vocabulary.
    let err = train(&docs, &TrainConfig::default()).with_vocabulary(vocab.clone(), "fi").unwrap_err().to_string();
    assert!(err.contains("\"SUBJECT 0000\" is not the URI of a concept"), "{err}");

    let model = plain.clone().with_vocabulary(vocab.clone(), "fi").unwrap();
    let back = TaggerModel::from_bytes(&model.to_bytes().unwrap(), Path::new("m.tgm")).unwrap();
    assert_eq!(back.to_bytes().unwrap(), model.to_bytes().unwrap(), "the vocabulary survives a save and load");
    assert_eq!(back.vocabulary(), Some(&vocab));
    assert_eq!(back.language(), Some("fi"));
    for (id, uri) in back.labels().iter().enumerate() {
        let id = id as u32;
        let k = uri.trim_start_matches("http://example.org/c/");
        assert_eq!(back.concept(id).unwrap().uri, *uri);
        assert_eq!(back.concept(id).unwrap().notation.as_deref(), Some(k));
        assert_eq!(back.display_label(id, ""), format!("SUBJECT {:04}", k.parse::<u32>().unwrap()));
        assert_eq!(back.display_label(id, "en"), format!("topic {k}"));
        assert_eq!(back.display_label(id, "ja"), back.display_label(id, "fi"), "unknown language: the model's");
    }
    // The vocabulary changes names, never scores.
    for t in &texts[..20] {
        let (a, b) = (plain.tag(t, Decision::ModelRule), back.tag(t, Decision::ModelRule));
        assert_eq!(a, b);
    }
    assert_eq!(plain.display_label(0, "en"), plain.labels()[0], "without a vocabulary the label is the name");
}

#[test]
fn format_3_and_4_model_files_still_load() {
    // Version 3 is version 5 without the two trailing fields (vocabulary, ensemble), version 4 without the last
    // (postcard encodes None as one 0 byte).
    let model = train(&fixture(false, 120, 4), &TrainConfig::default());
    let v5 = model.to_bytes().unwrap();
    assert_eq!(v5[v5.len() - 2..], [0, 0], "no vocabulary, no ensemble: two Nones at the end");
    for (version, cut) in [(3u32, 2usize), (4, 1)] {
        let body = &v5[24..v5.len() - cut];
        let mut old = Vec::new();
        old.extend_from_slice(&v5[..8]);
        old.extend_from_slice(&version.to_le_bytes());
        old.extend_from_slice(&(body.len() as u64).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
        old.extend_from_slice(body);
        let loaded = TaggerModel::from_bytes(&old, Path::new("old.tgm")).unwrap();
        assert_eq!(loaded.to_bytes().unwrap(), v5, "version {version}");
        assert!(loaded.vocabulary().is_none() && loaded.ensemble().is_none());
    }
}

/// A made-up word for number `k` (distinct for distinct `k`).
fn word(k: usize) -> String {
    const SYL: [&str; 12] = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "tu", "vo", "ze", "bi", "do"];
    format!("{}{}{}x", SYL[k % 12], SYL[(k / 12) % 12], SYL[(k / 144) % 12])
}

/// 30 concepts with two-word English labels; documents about concepts 0–19 only. A document names its subject
/// in its first sentence and again later, mentions another concept once, and carries its subject's signature
/// words among filler.
fn lexical_fixture(
    docs: usize,
    subjects: std::ops::Range<usize>,
    seed: u64,
) -> (tagger_vocab::Vocabulary, Vec<Document>) {
    let mut b = tagger_vocab::VocabBuilder::new();
    let tsv: String = (0..30)
        .map(|k| format!("<http://example.org/c/{k}>\t{} {}\n", word(1000 + 2 * k), word(1001 + 2 * k)))
        .collect();
    b.add_tsv(Path::new("en.tsv"), "en", tsv.as_bytes()).unwrap();
    let vocab = b.finish().unwrap();
    let label = |k: usize| format!("{} {}", word(1000 + 2 * k), word(1001 + 2 * k));
    let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let span = subjects.len();
    let docs = (0..docs)
        .map(|i| {
            let main = subjects.start + i % span;
            let other = (main + 1 + next(29)) % 30;
            let filler = |next: &mut dyn FnMut(usize) -> usize, n: usize| -> String {
                (0..n).map(|_| word(next(300))).collect::<Vec<_>>().join(" ")
            };
            let signature: Vec<String> = (0..3).map(|j| word(400 + main * 3 + j)).collect();
            let text = format!(
                "{} overview. {} {}. In detail {} returns. {} and {} once. {}.",
                label(main),
                filler(&mut next, 12),
                signature.join(" "),
                label(main),
                filler(&mut next, 6),
                label(other),
                filler(&mut next, 8)
            );
            Document { id: format!("d{i}"), labels: Some(vec![format!("http://example.org/c/{main}")]), text }
        })
        .collect();
    (vocab, docs)
}

fn train_with_vocabulary(vocab: &tagger_vocab::Vocabulary, docs: &[Document], config: &TrainConfig) -> TaggerModel {
    let (texts, labels) = split(docs);
    let config = &config.for_vocabulary();
    let model = TaggerModel::train(&texts, &labels, config, &|_| {}).unwrap();
    let model = model.with_vocabulary(vocab.clone(), "en").unwrap();
    model.with_backends(&tagger_model::InMemory { texts: &texts, labels: &labels }, config).unwrap()
}

#[test]
fn issue_11_the_ensemble_proposes_concepts_no_training_document_had_and_explains_them() {
    // Concepts 0–19 have many documents; 20–29 one each, so that in every calibration fold some subjects were
    // never seen by the fold model, as on real thesaurus data.
    let (vocab, mut docs) = lexical_fixture(240, 0..20, 7);
    let (_, rare) = lexical_fixture(10, 20..30, 11);
    docs.extend(rare);
    let model = train_with_vocabulary(&vocab, &docs, &TrainConfig::default());
    assert!(model.ensemble().is_some(), "a vocabulary model gets the ensemble by default");
    let report = model.meta.ensemble.as_ref().expect("what the fit measured is recorded for GetModel");
    assert!(report.lexical.candidate_recall > 0.99, "{report:?}");
    assert_eq!(model.labels().len(), 30);
    // Without 25's document, 25 is a concept no training document had.
    docs.retain(|d| d.labels.as_ref().unwrap()[0] != "http://example.org/c/25");
    let model = train_with_vocabulary(&vocab, &docs, &TrainConfig::default());
    assert_eq!(model.labels().len(), 29);
    // Each rare concept's one document was scored by a fold model that never saw the concept: the stacker
    // learnt from those subjects as from unseen ones.
    assert_eq!(model.meta.ensemble.as_ref().unwrap().unseen_subject_rows, 9);

    // A document about concept 25, which no training document had.
    let (_, fresh) = lexical_fixture(10, 25..26, 99);
    let text = &fresh[0].text;
    // The model's own rule chooses it: the stacker learnt from subjects its fold models had not seen.
    let tags = model.tag(text, Decision::ModelRule);
    let unseen = tags.iter().find(|t| t.label == "http://example.org/c/25").expect("concept 25 chosen");
    assert_eq!(unseen.id, 29 + 25, "ids past the labels are concepts");
    assert_eq!(model.concept(unseen.id).unwrap().uri, "http://example.org/c/25");
    assert_eq!(model.tag_id("http://example.org/c/25"), Some(54));
    // Counting those subjects more in the stacker's fit (`unseen_weight`) ranks a concept no training document
    // had higher; 1 counts them as every other row.
    let weighted = |w: f64| TrainConfig {
        ensemble: tagger_model::EnsembleConfig { unseen_weight: w, ..Default::default() },
        classifier: tagger_model::ValidOvrParams { prune_below: 0.01, ..Default::default() },
        ..Default::default()
    };
    // A document that names concept 25 once among filler: its fused score is not saturated near 1 (the full
    // document's is ~0.999998 under both weights, where the two differ by float rounding only). The linear
    // model keeps the weights of an old default pruning (0.01): with 0.03 (the default then; 0.08 now) this
    // 240-document fixture's stacker scored the weak mention 0.9688 (weight 3) against 0.9713 (weight 1), while on
    // `kirjastonhoitaja` at 0.03 the weight still did what it is for (validate unseen R@5 0.281 at 1.0, 0.308 at
    // 1.5).
    let weak =
        format!("{} {} {}. {} {} once. {} {}.", word(5), word(6), word(7), word(1050), word(1051), word(8), word(9));
    let score_of_25 = |m: &TaggerModel| {
        let tags = m.tag(&weak, Decision::TopK { k: 10, min_score: None });
        tags.iter().find(|t| t.id == 54).map(|t| t.score).expect("concept 25 in the top 10")
    };
    let (plain, heavy) =
        (train_with_vocabulary(&vocab, &docs, &weighted(1.0)), train_with_vocabulary(&vocab, &docs, &weighted(3.0)));
    assert!(score_of_25(&heavy) > score_of_25(&plain), "{} vs {}", score_of_25(&heavy), score_of_25(&plain));
    let ex = model.explain(text, Decision::TopK { k: 3, min_score: None }, 5);
    let why = ex.iter().find(|x| x.id == 54).unwrap();
    let matched = why.terms.iter().find(|t| t.term.starts_with("label match: ")).unwrap();
    // The label's two words, in both sentences that name the concept.
    let words: Vec<&str> = matched.spans.iter().map(|&(s, e)| &text[s..e]).collect();
    let label = format!("{} {}", word(1050), word(1051));
    assert_eq!(words.join(" "), format!("{label} {label}"));
    assert_eq!(matched.term, format!("label match: {label} {label}"));

    // Cross-validation counts the subjects a fold's training documents never had (each rare concept's one
    // document, when it is held out) and how many of them the fold model still ranks in the top 5.
    let (texts, labels) = split(&docs);
    let cv = tagger_model::cross_validate(&texts, &labels, &TrainConfig::default(), Some(&vocab), 3, &|_| {}).unwrap();
    assert_eq!(cv.unseen_subjects, 9, "the nine rare concepts left");
    assert!(cv.unseen_r_at_5 > 0.5, "unseen R@5 {}", cv.unseen_r_at_5);

    // Training documents' subjects are found by the model's rule.
    let (_, held) = lexical_fixture(60, 0..20, 8);
    let r = evaluate(&model, &held);
    assert!(r.micro_f1 > 0.9, "micro-F1 {}", r.micro_f1);

    // The ensemble survives a save and load, and answers the same.
    let back = TaggerModel::from_bytes(&model.to_bytes().unwrap(), Path::new("m.tgm")).unwrap();
    assert_eq!(back.to_bytes().unwrap(), model.to_bytes().unwrap());
    assert_eq!(back.tag(text, Decision::ModelRule), model.tag(text, Decision::ModelRule));
    assert_eq!(
        back.tag_batch(&[text.as_str(), &held[0].text], Decision::ModelRule)[1],
        back.tag(&held[0].text, Decision::ModelRule)
    );
    // Tagging matches labels on the vectorizer's own tokens, each distinct word looked up once in the thread's
    // memo; explaining tokenizes again for the matcher, without the memo: the same tags and scores either way,
    // with the memo cold (a clone starts its own) or warm, for words the filters drop or fold too.
    let odd = format!(
        "{} — {}, 12.5 ja 1999! {}'s {}… ?? {} {}",
        word(1050).to_uppercase(),
        word(1051),
        word(5),
        word(1050),
        word(9999),
        word(1051)
    );
    let odd = Document { id: "odd".into(), labels: None, text: odd };
    let cloned = model.clone();
    for m in [&cloned, &model, &cloned] {
        for d in held.iter().take(20).chain(&fresh).chain([&odd]) {
            for decision in [Decision::ModelRule, Decision::TopK { k: 5, min_score: None }] {
                let tagged: Vec<(u32, f32)> = m.tag(&d.text, decision).iter().map(|t| (t.id, t.score)).collect();
                let explained: Vec<(u32, f32)> =
                    model.explain(&d.text, decision, 3).iter().map(|t| (t.id, t.score)).collect();
                assert_eq!(tagged, explained, "{}", d.id);
            }
        }
    }
}

#[test]
fn issue_11_ensemble_training_is_deterministic_and_configurable() {
    let (vocab, docs) = lexical_fixture(160, 0..20, 3);
    let train_in = |threads: usize, config: &TrainConfig| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| train_with_vocabulary(&vocab, &docs, config).to_bytes().unwrap())
    };
    let config = TrainConfig::default();
    assert_eq!(train_in(1, &config), train_in(2, &config), "same bytes for any thread count");
    let off = TrainConfig {
        ensemble: tagger_model::EnsembleConfig { lexical: Some(false), ..Default::default() },
        ..config.clone()
    };
    assert!(train_with_vocabulary(&vocab, &docs, &off).ensemble().is_none());
    // `ensemble.average_folds` serves the linear model of a vocabulary model as the average of its fold models,
    // unless the ensemble is off (then the classifier's own setting stays); by default it is refitted.
    let averaged = |c: &TrainConfig| c.for_vocabulary().classifier.average_folds;
    assert!(!averaged(&config));
    let average = TrainConfig {
        ensemble: tagger_model::EnsembleConfig { average_folds: true, ..Default::default() },
        ..config.clone()
    };
    assert!(averaged(&average) && !average.classifier.average_folds);
    let average_off = TrainConfig {
        ensemble: tagger_model::EnsembleConfig { lexical: Some(false), ..average.ensemble.clone() },
        ..config.clone()
    };
    assert!(!averaged(&average_off));
    let served =
        |c: &TrainConfig| train_with_vocabulary(&vocab, &docs, c).meta.config.unwrap().classifier.average_folds;
    assert!(served(&average) && !served(&config));
    // The lexical backend alone: the linear model is not consulted, so every tag is a concept whose label the
    // text names; documents name their subject twice and another concept once, which the stacker learns.
    let alone = TrainConfig {
        ensemble: tagger_model::EnsembleConfig { lexical: Some(true), linear: false, ..Default::default() },
        ..config.clone()
    };
    let lexical = train_with_vocabulary(&vocab, &docs, &alone);
    let e = lexical.ensemble().expect("lexical alone is an ensemble of one backend");
    assert_eq!(e.linear_candidates, 0);
    let (_, held) = lexical_fixture(40, 0..20, 5);
    for d in &held {
        let named: Vec<&str> = e
            .lexical()
            .candidates(&d.text)
            .candidates
            .iter()
            .map(|c| vocab.concepts()[c.concept as usize].uri.as_str())
            .collect();
        let tags = lexical.tag(&d.text, Decision::TopK { k: 10, min_score: None });
        assert!(!tags.is_empty() && tags.iter().all(|t| named.contains(&t.label)), "{tags:?} / {named:?}");
        assert_eq!(
            lexical.tag_batch(&[d.text.as_str()], Decision::ModelRule)[0],
            lexical.tag(&d.text, Decision::ModelRule)
        );
    }
    let r = evaluate(&lexical, &held);
    assert!(r.micro_f1 > 0.9, "lexical alone: micro-F1 {}", r.micro_f1);
    // The linear model in the ensemble needs at least one candidate.
    let none = TrainConfig {
        ensemble: tagger_model::EnsembleConfig { linear_candidates: 0, ..Default::default() },
        ..config.clone()
    };
    let (texts, labels) = split(&docs);
    let fitted =
        TaggerModel::train(&texts, &labels, &none, &|_| {}).unwrap().with_vocabulary(vocab.clone(), "en").unwrap();
    let err =
        fitted.clone().with_backends(&tagger_model::InMemory { texts: &texts, labels: &labels }, &none).unwrap_err();
    assert!(err.to_string().contains("linear_candidates"), "{err}");
    // A weight under 1 (or not a number) for unseen subjects is refused, naming the field.
    for w in [0.5, f64::NAN] {
        let bad = TrainConfig {
            ensemble: tagger_model::EnsembleConfig { unseen_weight: w, ..Default::default() },
            ..config.clone()
        };
        let err =
            fitted.clone().with_backends(&tagger_model::InMemory { texts: &texts, labels: &labels }, &bad).unwrap_err();
        assert!(err.to_string().contains("ensemble.unseen_weight"), "{err}");
    }
    // Asking for the lexical backend without a vocabulary is an error, not a silent linear model.
    let on =
        TrainConfig { ensemble: tagger_model::EnsembleConfig { lexical: Some(true), ..Default::default() }, ..config };
    let (texts, labels) = split(&docs);
    let plain = TaggerModel::train(&texts, &labels, &on, &|_| {}).unwrap();
    let err = plain.with_backends(&tagger_model::InMemory { texts: &texts, labels: &labels }, &on).unwrap_err();
    assert!(err.to_string().contains("needs a vocabulary"), "{err}");
    // Cross-validation with the vocabulary measures the ensemble.
    let cv = tagger_model::cross_validate(&texts, &labels, &TrainConfig::default(), Some(&vocab), 3, &|_| {}).unwrap();
    assert!(cv.pooled.micro_f1 > 0.8, "{}", cv.pooled.micro_f1);
}

#[test]
fn tagging_computes_only_the_probabilities_it_needs_and_answers_as_if_it_computed_all() {
    // `tag` skips the exp of labels whose raw score cannot reach their threshold, and scores frequent features
    // through dense rows; both must give exactly the tags and probabilities of `decide` on every probability.
    for (han, labels) in [(false, 12), (true, 40)] {
        let docs: Vec<Document> = Synth::new(SynthConfig {
            docs: 300,
            labels,
            labels_per_doc: 3.0,
            tokens_per_doc: 80,
            vocabulary: 800,
            han,
            seed: 11,
            ..SynthConfig::default()
        })
        .collect();
        let model = train(&docs[..240], &TrainConfig::default());
        for d in &docs {
            for decision in [
                Decision::ModelRule,
                Decision::TopK { k: 3, min_score: None },
                Decision::MinScore(0.3),
                Decision::TopK { k: 2, min_score: Some(0.2) },
            ] {
                let probs = model.probabilities(&d.text);
                let all: Vec<(u32, f32)> = model.classifier().decide(&probs, decision);
                let got: Vec<(u32, f32)> = model.tag(&d.text, decision).into_iter().map(|t| (t.id, t.score)).collect();
                assert_eq!(got, all, "{decision:?} on {}", d.id);
            }
            // The ensemble's linear shortlist ranks on the calibration's logit and pays `exp` only for the k
            // best: the same labels and probabilities as sorting every probability.
            let probs = model.probabilities(&d.text);
            let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
            model.vectorizer().transform_into(&d.text, &mut cols, &mut idx, &mut val);
            let mut raw = vec![0.0; probs.len()];
            model.classifier().decision_values(tagger_features::SparseRow { indices: &idx, data: &val }, &mut raw);
            let mut all: Vec<(u32, f32)> =
                probs.iter().enumerate().map(|(l, &p)| (l as u32, p)).filter(|x| x.1 > 0.0).collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            // Small k exercise the bounded selection's cut-backs (every 2k labels).
            for k in [1, 2, 5] {
                let best: Vec<(u32, f32)> = all.iter().copied().take(k).collect();
                assert_eq!(model.classifier().best_probabilities(&raw, k), best, "k={k} on {}", d.id);
            }
        }
        // A model this small scores a batch one document at a time; a large one feature by feature across the
        // batch: the same values, bit for bit.
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).chain(["", "x"]).collect();
        let rows: Vec<(Vec<u32>, Vec<f32>)> = texts
            .iter()
            .map(|t| {
                let (mut cols, mut idx, mut val) = (Vec::new(), Vec::new(), Vec::new());
                model.vectorizer().transform_into(t, &mut cols, &mut idx, &mut val);
                (idx, val)
            })
            .collect();
        let views: Vec<tagger_features::SparseRow<'_>> =
            rows.iter().map(|(i, v)| tagger_features::SparseRow { indices: i, data: v }).collect();
        let n = model.labels().len();
        let mut batch = vec![0.0f32; views.len() * n];
        model.classifier().decision_values_batch(&views, &mut batch);
        let mut one = vec![0.0f32; n];
        for (row, got) in views.iter().zip(batch.chunks_exact(n)) {
            model.classifier().decision_values(*row, &mut one);
            assert_eq!(
                got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                one.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
        for decision in [Decision::ModelRule, Decision::TopK { k: 4, min_score: None }] {
            let one: Vec<Vec<Tag<'_>>> = texts.iter().map(|t| model.tag(t, decision)).collect();
            assert_eq!(model.tag_batch(&texts, decision), one, "{decision:?}");
        }
        // A blank text gets no tags (nothing to tag, as the gRPC API documents), whatever the decision; a text of
        // words the model never saw has no features, and "at least one tag" still answers from every probability.
        for decision in [Decision::ModelRule, Decision::TopK { k: 4, min_score: None }] {
            assert!(model.tag("", decision).is_empty() && model.tag(" \n\t", decision).is_empty());
            assert!(model.explain(" ", decision, 3).is_empty());
        }
        let probs = model.probabilities("qqqzzz");
        let unknown: Vec<(u32, f32)> =
            model.tag("qqqzzz", Decision::ModelRule).into_iter().map(|t| (t.id, t.score)).collect();
        assert_eq!(unknown, model.classifier().decide(&probs, Decision::ModelRule));
    }
}

/// The models shipped in `models/` (written by earlier builds) still load: a change to what the model file
/// stores must keep the format or add a version that reads the old one.
#[test]
fn the_shipped_models_still_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    for name in ["reuters", "cail2019"] {
        let path = root.join(name).join("1/model.tgm");
        let model = TaggerModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!model.labels().is_empty(), "{name}: no labels");
    }
}
