//! Shared pieces of tagger's fuzz targets: fixtures built once per process (tiny trained models and their file
//! bytes) and the property checks several targets make.
//!
//! Fixtures are trained from generated documents the first time a target asks for them (`OnceLock`), never per
//! iteration: each fuzz iteration only decodes, tokenizes or tags.

use std::path::Path;
use std::sync::OnceLock;
use tagger_corpus::Document;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_model::{InMemory, TaggerModel, TrainConfig};

/// Panics unless every span lies inside `text`, is non-inverted and starts and ends on char boundaries.
pub fn check_spans(text: &str, spans: impl IntoIterator<Item = (usize, usize)>, what: &str) {
    for (s, e) in spans {
        assert!(s <= e && e <= text.len(), "{what}: span {s}..{e} outside a text of {} bytes", text.len());
        assert!(
            text.is_char_boundary(s) && text.is_char_boundary(e),
            "{what}: span {s}..{e} splits a character of {text:?}"
        );
    }
}

/// Text from fuzz bytes: the bytes themselves when they are UTF-8, else their lossy decoding, so every input
/// reaches the code under test.
pub fn text_of(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Training configuration for the fixtures: three calibration folds, fixed seed.
fn small_config() -> TrainConfig {
    let mut cfg = TrainConfig::default();
    cfg.classifier.cv_folds = 3;
    cfg.classifier.seed = 7;
    cfg
}

fn split(docs: &[Document]) -> (Vec<&str>, Vec<Vec<String>>) {
    let texts = docs.iter().map(|d| d.text.as_str()).collect();
    let labels = docs.iter().map(|d| d.labels.clone().unwrap_or_default()).collect();
    (texts, labels)
}

/// A plain model (no vocabulary): 60 generated Latin-script documents, 5 labels.
pub fn plain_model() -> &'static TaggerModel {
    static MODEL: OnceLock<TaggerModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let docs: Vec<Document> = Synth::new(SynthConfig {
            docs: 60,
            labels: 5,
            labels_per_doc: 1.5,
            tokens_per_doc: 30,
            vocabulary: 400,
            han: false,
            seed: 3,
            ..SynthConfig::default()
        })
        .collect();
        let (texts, labels) = split(&docs);
        TaggerModel::train(&texts, &labels, &small_config(), &|_| {}).expect("the plain fixture model trains")
    })
}

/// A made-up word for number `k` (distinct for distinct `k`).
fn word(k: usize) -> String {
    const SYL: [&str; 12] = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "tu", "vo", "ze", "bi", "do"];
    format!("{}{}{}x", SYL[k % 12], SYL[(k / 12) % 12], SYL[(k / 144) % 12])
}

/// The vocabulary of the vocabulary fixture: 12 concepts with two-word English labels, Finnish labels and
/// notations; concept 11 is deprecated in favour of 10.
pub fn fixture_vocabulary() -> tagger_vocab::Vocabulary {
    let en: String = (0..12)
        .map(|k| format!("<http://example.org/c/{k}>\t{} {}\n", word(1000 + 2 * k), word(1001 + 2 * k)))
        .collect();
    let fi: String = (0..12).map(|k| format!("<http://example.org/c/{k}>\taihe {k}\t{k}\n")).collect();
    let mut b = tagger_vocab::VocabBuilder::new();
    b.add_tsv(Path::new("en.tsv"), "en", en.as_bytes()).expect("fixture TSV");
    b.add_tsv(Path::new("fi.tsv"), "fi", fi.as_bytes()).expect("fixture TSV");
    b.finish().expect("fixture vocabulary")
}

/// A model trained with a vocabulary, so it carries the vocabulary, the lexical backend and the ensemble (the
/// parts of format 5 a plain model lacks): 90 documents about concepts 0–9, each naming its subject's label.
pub fn vocab_model() -> &'static TaggerModel {
    static MODEL: OnceLock<TaggerModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let vocab = fixture_vocabulary();
        let label = |k: usize| format!("{} {}", word(1000 + 2 * k), word(1001 + 2 * k));
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let docs: Vec<Document> = (0..90)
            .map(|i| {
                let main = i % 10;
                let other = (main + 1 + next(10)) % 12;
                let filler: Vec<String> = (0..10).map(|_| word(next(200))).collect();
                let signature: Vec<String> = (0..3).map(|j| word(300 + main * 3 + j)).collect();
                let text = format!(
                    "{} overview. {} {}. Again {}. {} once.",
                    label(main),
                    filler.join(" "),
                    signature.join(" "),
                    label(main),
                    label(other)
                );
                Document { id: format!("d{i}"), labels: Some(vec![format!("http://example.org/c/{main}")]), text }
            })
            .collect();
        let (texts, labels) = split(&docs);
        let cfg = small_config();
        let model = TaggerModel::train(&texts, &labels, &cfg, &|_| {}).expect("the vocabulary fixture trains");
        let model = model.with_vocabulary(vocab, "en").expect("labels are concepts of the vocabulary");
        let model =
            model.with_backends(&InMemory { texts: &texts, labels: &labels }, &cfg).expect("the ensemble trains");
        assert!(model.ensemble().is_some(), "the vocabulary fixture must carry an ensemble");
        model
    })
}

/// The model file bytes of [`plain_model`] and [`vocab_model`].
pub fn model_files() -> &'static [Vec<u8>; 2] {
    static FILES: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    FILES.get_or_init(|| {
        let plain = plain_model().to_bytes().expect("the plain fixture encodes");
        let vocab = vocab_model().to_bytes().expect("the vocabulary fixture encodes");
        // TAGGER_FUZZ_DUMP_MODELS=DIR writes them out (to make seeds, or to see what a reproducer damages).
        if let Some(dir) = std::env::var_os("TAGGER_FUZZ_DUMP_MODELS") {
            let dir = Path::new(&dir);
            std::fs::write(dir.join("plain.tgm"), &plain).expect("dump the plain fixture");
            std::fs::write(dir.join("vocab.tgm"), &vocab).expect("dump the vocabulary fixture");
        }
        [plain, vocab]
    })
}

/// Texts the loaded-model checks tag: English-like, pre-segmented Chinese, unsegmented Chinese, and words of
/// the fixtures' own vocabulary.
pub const PROBE_TEXTS: [&str; 4] = [
    "Crude oil prices rose as OPEC agreed to cut output.",
    " 2003年 4月 25日 墨西哥 常 驻 联合国 代表 给 秘书长 的 信",
    "原告林某某诉称：我与被告经人介绍建立恋爱关系，于1995年在菏泽市民政局办理结婚登记手续。",
    "kakaxlox kalokax overview. nuloka mikaka. Again.",
];

/// Use a model that loaded: tag, tag in batches and explain the probe texts, checking that scores are
/// probabilities and evidence spans lie inside the text.
pub fn exercise_model(model: &TaggerModel) {
    use tagger_model::Decision;
    let decisions = [Decision::ModelRule, Decision::TopK { k: 3, min_score: None }, Decision::MinScore(0.5)];
    for d in decisions {
        for text in PROBE_TEXTS {
            for t in model.tag(text, d) {
                assert!((0.0..=1.0).contains(&t.score), "score {} out of [0, 1]", t.score);
                let _ = model.display_label(t.id, "en");
            }
            for e in model.explain(text, d, 5) {
                for term in &e.terms {
                    check_spans(text, term.spans.iter().copied(), "explain evidence");
                }
            }
        }
        let _ = model.tag_batch(&PROBE_TEXTS, d);
    }
}

/// What a vocabulary that `VocabBuilder::finish` returned must satisfy: it survives the round trip a model
/// file gives it (postcard, with the index rebuilt and checked on load) unchanged; every link points inside it;
/// at most one preferred label per language; labels trimmed and non-empty; and the resolver finds each concept
/// by its URI (or, for a deprecated one, its replacement).
pub fn check_vocabulary(vocab: &tagger_vocab::Vocabulary) {
    use tagger_vocab::{LabelKind, Resolver, Via, Vocabulary};
    let bytes = postcard::to_stdvec(vocab).expect("a built vocabulary serialises");
    let again: Vocabulary = postcard::from_bytes(&bytes).expect("a built vocabulary loads back (as from a model file)");
    assert_eq!(&again, vocab, "vocabulary changed through serialisation");
    let n = vocab.len();
    let resolver = Resolver::new(vocab);
    for (id, c) in vocab.concepts().iter().enumerate() {
        let links = c.broader.iter().chain(&c.narrower).chain(&c.related).chain(&c.replaced_by);
        assert!(links.into_iter().all(|&j| (j as usize) < n), "<{}> links outside the vocabulary", c.uri);
        assert!(!c.uri.is_empty(), "concept with an empty URI");
        for (i, l) in c.labels.iter().enumerate() {
            assert!(!l.text.is_empty() && l.text.trim() == l.text, "<{}>: label {:?} empty or padded", c.uri, l.text);
            if l.kind == LabelKind::Pref {
                let twice = c.labels[..i].iter().any(|m| m.kind == LabelKind::Pref && m.language == l.language);
                assert!(!twice, "<{}>: two preferred labels in {:?}", c.uri, l.language);
            }
        }
        if let Some(notation) = &c.notation {
            assert!(!notation.is_empty() && notation.trim() == notation, "<{}>: notation {notation:?}", c.uri);
        }
        assert_eq!(vocab.by_uri(&c.uri).map(|x| &x.uri), Some(&c.uri));
        let _ = c.display_label(&["en", "fi-FI"]);
        match resolver.resolve(&format!("<{}>", c.uri)) {
            Ok(r) => {
                assert_eq!(r.via, Via::Uri, "<{}> resolved by {:?}", c.uri, r.via);
                assert_eq!(r.replaced.unwrap_or(r.concept) as usize, id, "<{}> resolved to another concept", c.uri);
            }
            // A URI the subject syntax cannot write (no ':', or a character Annif's formats exclude) is fine.
            Err(_) => assert!(
                !c.uri.contains(':')
                    || c.uri
                        .chars()
                        .any(|ch| ch.is_whitespace() || matches!(ch, '<' | '>' | '"' | '{' | '}' | '|' | '\\')),
                "<{}> does not resolve by its own URI",
                c.uri
            ),
        }
        for l in &c.labels {
            let _ = resolver.resolve(&l.text);
        }
        if let Some(notation) = &c.notation {
            let _ = resolver.resolve(notation);
        }
    }
    let _ = vocab.summary();
    let _ = vocab.depth();
}

/// CRC-32 (IEEE, as the model file header stores it).
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// A model that loaded re-encodes, and its encoding loads to the same encoding (the file format is stable
/// under load and save).
pub fn check_reencodes(model: &TaggerModel) {
    let bytes = model.to_bytes().expect("a loaded model encodes");
    let again = TaggerModel::from_bytes(&bytes, Path::new("re-encoded.tgm"))
        .unwrap_or_else(|e| panic!("a loaded model's own encoding does not load: {e}"));
    assert!(again.to_bytes().expect("encodes") == bytes, "load/save is not stable");
}

/// `TaggerModel::from_bytes` under the fuzz file name.
pub fn load_model(bytes: &[u8]) -> Result<TaggerModel, tagger_model::ModelError> {
    TaggerModel::from_bytes(bytes, Path::new("fuzz.tgm"))
}
