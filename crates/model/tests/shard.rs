//! Label-sharded training: shards fitted one by one and merged give the model file one training gives, byte for
//! byte, and a merge refuses shards that do not belong together.

use std::path::Path;
use tagger_corpus::Document;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_features::VectorizerConfig;
use tagger_model::{InMemory, LabelShard, MergedShards, ModelError, TaggerModel, TrainConfig, TrainStep, Trained};

fn corpus(han: bool, docs: usize, labels: usize, seed: u64) -> (Vec<String>, Vec<Vec<String>>) {
    let docs: Vec<Document> = Synth::new(SynthConfig {
        docs,
        labels,
        labels_per_doc: 2.0,
        tokens_per_doc: 60,
        vocabulary: 2500,
        signature_words: 12,
        signal: 0.3,
        han,
        segmented: !han,
        seed,
        ..SynthConfig::default()
    })
    .collect();
    docs.into_iter().map(|d| (d.text, d.labels.unwrap_or_default())).unzip()
}

fn step(
    texts: &[String],
    labels: &[Vec<String>],
    config: &TrainConfig,
    step: TrainStep,
) -> Result<Trained, ModelError> {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    TaggerModel::train_step(&InMemory { texts: &texts, labels }, config, &|_| {}, step)
}

fn model_bytes(t: Trained) -> Vec<u8> {
    match t {
        Trained::Model(m) => m.to_bytes().unwrap(),
        Trained::Shard(_) => panic!("a shard where a model was expected"),
    }
}

/// Every shard of `count`, each through the bytes of its file.
fn shards(texts: &[String], labels: &[Vec<String>], config: &TrainConfig, count: usize) -> Vec<(String, LabelShard)> {
    (0..count)
        .map(|index| {
            let Trained::Shard(s) = step(texts, labels, config, TrainStep::Shard { index, count }).unwrap() else {
                panic!("shard {index} gave a model");
            };
            let name = format!("shard-{index}.tgs");
            let reread = LabelShard::from_bytes(&s.to_bytes().unwrap(), Path::new(&name)).unwrap();
            assert_eq!(reread, s);
            (name, reread)
        })
        .collect()
}

fn merge(
    texts: &[String],
    labels: &[Vec<String>],
    config: &TrainConfig,
    shards: Vec<(String, LabelShard)>,
) -> Result<Vec<u8>, ModelError> {
    let merged = MergedShards::new(shards)?;
    step(texts, labels, config, TrainStep::Merge(merged)).map(model_bytes)
}

#[test]
fn issue_12_sharded_training_merges_into_the_same_model_file() {
    // 37 labels: blocks of 16, 16 and 5 labels, so shards get uneven label counts (and 4 shards, an empty one).
    let (texts, labels) = corpus(false, 400, 37, 5);
    let config = TrainConfig::default();
    let whole = model_bytes(step(&texts, &labels, &config, TrainStep::Whole).unwrap());
    for count in [1, 2, 3, 4] {
        let parts = shards(&texts, &labels, &config, count);
        let blocks: Vec<usize> = parts.iter().map(|(_, s)| s.fits[0].block_ids().count()).collect();
        assert_eq!(blocks.iter().sum::<usize>(), 3, "each block in one shard: {blocks:?}");
        assert_eq!(merge(&texts, &labels, &config, parts).unwrap(), whole, "{count} shards");
    }
}

#[test]
fn issue_12_sharded_training_makes_the_same_min_df_choice() {
    // Unsegmented Chinese-like text with configured character n-grams: training compares min_df candidates on
    // every label's held-out scores, so each shard fits all candidates and the merge chooses.
    let (texts, labels) = corpus(true, 300, 20, 9);
    let config = TrainConfig {
        features: Some(VectorizerConfig { min_df: 1, char_ngram_max: 2, ..VectorizerConfig::default() }),
        min_df_candidates: Some(vec![1, 2, 4, 8]),
        ..TrainConfig::default()
    };
    let Trained::Model(m) = step(&texts, &labels, &config, TrainStep::Whole).unwrap() else { panic!() };
    assert!(m.meta.min_df_search.len() >= 2, "a real search: {:?}", m.meta.min_df_search);
    let whole = m.to_bytes().unwrap();
    let parts = shards(&texts, &labels, &config, 2);
    assert!(parts.iter().all(|(_, s)| s.fits.len() == 4), "every candidate fitted by every shard");
    assert_eq!(merge(&texts, &labels, &config, parts).unwrap(), whole);
}

#[test]
fn issue_12_merge_refuses_shards_that_do_not_belong_together() {
    let (texts, labels) = corpus(false, 200, 20, 3);
    let config = TrainConfig::default();
    let parts = shards(&texts, &labels, &config, 3);
    let err = |r: Result<Vec<u8>, ModelError>| r.unwrap_err().to_string();

    let missing = err(merge(&texts, &labels, &config, parts[..2].to_vec()));
    assert!(missing.contains("shards 2 of 3 missing"), "{missing}");
    let mut twice = parts.clone();
    twice[2] = ("again.tgs".into(), parts[1].1.clone());
    let e = err(merge(&texts, &labels, &config, twice));
    assert!(e.contains("shard 1 of 3 given twice: shard-1.tgs and again.tgs"), "{e}");
    let other_count = shards(&texts, &labels, &config, 2);
    let e = err(merge(&texts, &labels, &config, vec![parts[0].clone(), other_count[1].clone()]));
    assert!(e.contains("shard-1.tgs is a shard of 2, shard-0.tgs of 3"), "{e}");

    // Other documents: the shards' digest differs from the corpus the merge reads.
    let mut changed = texts.clone();
    changed[7].push_str(" extra");
    let e = err(merge(&changed, &labels, &config, parts.clone()));
    assert!(e.contains("fitted on other documents or labels"), "{e}");
    let mut relabelled = labels.clone();
    relabelled[3].push("NEW".into());
    assert!(err(merge(&texts, &relabelled, &config, parts.clone())).contains("other documents or labels"));
    // Another seed: another configuration.
    let mut seeded = config.clone();
    seeded.classifier.seed += 1;
    assert!(err(merge(&texts, &labels, &seeded, parts.clone())).contains("another training configuration"));
    // Shards of two trainings with different configurations.
    let others = shards(&texts, &labels, &seeded, 3);
    let e = err(merge(&texts, &labels, &config, vec![parts[0].clone(), parts[1].clone(), others[2].clone()]));
    assert!(
        e.contains("shard-2.tgs and shard-0.tgs are not shards of one training: their training configurations"),
        "{e}"
    );

    // A damaged shard file is refused on load.
    let mut bytes = parts[0].1.to_bytes().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = LabelShard::from_bytes(&bytes, Path::new("s.tgs")).unwrap_err().to_string();
    assert!(e.contains("s.tgs: corrupted"), "{e}");
    let model = model_bytes(step(&texts, &labels, &config, TrainStep::Whole).unwrap());
    let e = LabelShard::from_bytes(&model, Path::new("m.tgm")).unwrap_err().to_string();
    assert!(e.contains("not a tagger shard file"), "{e}");
    // An index beyond the count.
    let e = step(&texts, &labels, &config, TrainStep::Shard { index: 3, count: 3 }).unwrap_err().to_string();
    assert!(e.contains("shard 3 of 3"), "{e}");
    // And the shards that do belong together still merge.
    assert_eq!(merge(&texts, &labels, &config, parts).unwrap(), model);
}
