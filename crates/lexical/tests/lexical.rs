//! The lexical backend on a small hand-made vocabulary: matching, candidates, training, storage.

use tagger_lexical::{DocCandidates, LexicalModel, LexicalParams};
use tagger_tokenize::{Filter, TokenizerConfig};
use tagger_vocab::{Concept, ConceptId, Label, LabelKind, Vocabulary};

fn concept(uri: &str, labels: &[(&str, LabelKind, &str)]) -> Concept {
    Concept {
        uri: format!("http://example.org/{uri}"),
        notation: None,
        labels: labels
            .iter()
            .map(|(lang, kind, text)| Label { language: (*lang).into(), kind: *kind, text: (*text).into() })
            .collect(),
        broader: Vec::new(),
        narrower: Vec::new(),
        related: Vec::new(),
        deprecated: false,
        replaced_by: Vec::new(),
    }
}

/// 0 libraries, 1 public libraries (narrower of 0), 2 spruce "kuusi (puu)", 3 six "kuusi (luku)",
/// 4 music, 5 deprecated "old music", 6 fairy tales (fi), 7 climate change.
fn vocab() -> Vocabulary {
    use LabelKind::*;
    let mut c = vec![
        concept("libraries", &[("en", Pref, "libraries"), ("fi", Pref, "kirjastot")]),
        concept("public", &[("en", Pref, "public libraries"), ("fi", Pref, "yleiset kirjastot")]),
        concept("spruce", &[("fi", Pref, "kuusi (puu)"), ("en", Pref, "spruce")]),
        concept("six", &[("fi", Pref, "kuusi (luku)"), ("en", Pref, "six")]),
        concept("music", &[("en", Pref, "music"), ("en", Alt, "songs"), ("en", Hidden, "musik")]),
        concept("oldmusic", &[("en", Pref, "old music")]),
        concept("tales", &[("fi", Pref, "sadut"), ("en", Pref, "fairy tales")]),
        concept("climate", &[("en", Pref, "climate change"), ("fi", Pref, "ilmastonmuutos")]),
    ];
    c[1].broader = vec![0];
    c[0].narrower = vec![1];
    c[5].deprecated = true;
    Vocabulary::new(c, vec!["en".into(), "fi".into()]).unwrap()
}

fn stemming(language: &str) -> TokenizerConfig {
    let mut t = TokenizerConfig::default();
    t.filters.insert(2, Filter::Stem { language: language.into() });
    t
}

/// An untrained model is enough to look at candidates: train on two tiny documents.
fn model(language: &str, texts: &[&str], gold: &[Vec<ConceptId>]) -> LexicalModel {
    let params = LexicalParams { languages: vec![language.into()], ..LexicalParams::default() };
    LexicalModel::train(&vocab(), &params, stemming(language), texts, gold).unwrap().0
}

fn en_model() -> LexicalModel {
    model("en", &["Music and songs.", "Public libraries lend music."], &[vec![4], vec![1]])
}

fn found(d: &DocCandidates) -> Vec<(ConceptId, u32, u32, u32)> {
    d.candidates.iter().map(|c| (c.concept, c.occurrences, c.first, c.last)).collect()
}

#[test]
fn multi_word_labels_match_in_any_order_within_a_sentence_only() {
    let m = en_model();
    // "libraries … public" in one sentence matches "public libraries"; split over two sentences it does not.
    let d = m.candidates("Libraries that are public. Nothing here.");
    assert_eq!(found(&d), [(0, 1, 0, 0), (1, 1, 0, 0)]);
    assert_eq!(d.sentences, 2);
    let d = m.candidates("Libraries everywhere. Public opinion.");
    assert_eq!(found(&d), [(0, 1, 0, 0)]);
}

#[test]
fn inflected_forms_meet_through_the_stemmer() {
    let m = model("fi", &["Kirjastoissa luetaan satuja.", "Kuusi."], &[vec![0], vec![2]]);
    let text = "Yleisissä kirjastoissa luetaan saduista. Kirjasto on auki.";
    let d = m.candidates(text);
    let concepts: Vec<ConceptId> = d.candidates.iter().map(|c| c.concept).collect();
    assert_eq!(concepts, [0, 1, 6], "{d:?}");
    // Spans point at the inflected words in the text.
    let tales = &d.candidates[2];
    assert_eq!(&text[tales.spans[0].0..tales.spans[0].1], "saduista");
    // "kirjastot" matched in both sentences; inside "yleiset kirjastot" in the first.
    let lib = &d.candidates[0];
    assert_eq!((lib.occurrences, lib.first, lib.last), (2, 0, 1));
    assert!((lib.subsumed_share - 0.5).abs() < 1e-6, "{lib:?}");
    assert_eq!(d.candidates[1].max_tokens, 2);
}

#[test]
fn qualifiers_are_optional_and_homonyms_count_as_ambiguous() {
    let m = model("fi", &["Kuusi kasvaa.", "Kirjastot."], &[vec![2], vec![0]]);
    let d = m.candidates("Pihalla kasvaa kuusi.");
    let amb: Vec<(ConceptId, u32)> = d.candidates.iter().map(|c| (c.concept, c.ambiguity)).collect();
    assert_eq!(amb, [(2, 2), (3, 2)]);
    // With its qualifier in the sentence, the spruce's full label matches and is not ambiguous.
    let d = m.candidates("Kuusi on puu.");
    let spruce = d.candidates.iter().find(|c| c.concept == 2).unwrap();
    assert_eq!((spruce.ambiguity, spruce.max_tokens), (1, 2));
}

#[test]
fn labels_of_every_kind_match_but_not_deprecated_concepts() {
    let m = en_model();
    for text in ["Songs!", "Musik.", "Music."] {
        let d = m.candidates(text);
        assert_eq!(found(&d), [(4, 1, 0, 0)], "{text}");
    }
    let d = m.candidates("Old music");
    assert!(d.candidates.iter().all(|c| c.concept != 5));
    assert!((m.candidates("Songs").candidates[0].pref_share).abs() < 1e-6);
}

#[test]
fn errors_are_clear() {
    let v = vocab();
    let p = LexicalParams { languages: vec!["sv".into()], ..LexicalParams::default() };
    let err = LexicalModel::train(&v, &p, TokenizerConfig::default(), &["x"], &[vec![0]]).unwrap_err().to_string();
    assert!(err.contains("no label in [\"sv\"]"), "{err}");
    let p = LexicalParams { languages: vec!["en".into()], ..LexicalParams::default() };
    let err = LexicalModel::train(&v, &p, TokenizerConfig::default(), &["x"], &[]).unwrap_err().to_string();
    assert!(err.contains("1 texts but 0"), "{err}");
    let err = LexicalModel::train(&v, &p, TokenizerConfig::default(), &["x"], &[vec![99]]).unwrap_err().to_string();
    assert!(err.contains("99"), "{err}");
    // No candidate is ever a subject: nothing to learn from.
    let err = LexicalModel::train(&v, &p, TokenizerConfig::default(), &["music", "songs"], &[vec![7], vec![7]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("0 were subjects"), "{err}");
}

/// A corpus where a concept is a subject when its label is in the title (first sentence) and repeated, and a
/// mere mention is not.
fn corpus() -> (Vec<String>, Vec<Vec<ConceptId>>) {
    let topics = [(0, "libraries"), (4, "music"), (6, "fairy tales"), (7, "climate change")];
    let mut texts = Vec::new();
    let mut gold = Vec::new();
    for i in 0..200usize {
        let (main, main_label) = topics[i % 4];
        let (_, aside) = topics[(i / 4 + 1 + i % 4) % 4];
        let filler = ["Some words follow", "Another plain sentence", "More text here"][i % 3];
        texts.push(format!(
            "{main_label} today. {filler}. We speak of {main_label} again. {filler}, and {aside} is mentioned once. \
             {main_label} at the end."
        ));
        gold.push(vec![main]);
    }
    (texts, gold)
}

#[test]
fn the_scorer_learns_subjects_from_mentions_and_proposes_unseen_concepts() {
    let (texts, gold) = corpus();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let p = LexicalParams { languages: vec!["en".into()], ..LexicalParams::default() };
    let (m, report) = LexicalModel::train(&vocab(), &p, stemming("en"), &refs, &gold).unwrap();
    assert!((report.candidate_recall - 1.0).abs() < 1e-9, "{report:?}");
    let s = m.suggest(
        "Climate change today. Some words follow. We speak of climate change again. Music is mentioned once. \
         Climate change at the end.",
    );
    assert_eq!(s[0].concept, 7, "{s:?}");
    assert!(s[0].score > 0.5 && s[1].score < 0.5, "{s:?}");
    // Public libraries were never a subject in training; the backend still proposes them.
    assert_eq!(m.assigned(1), 0);
    let s = m.suggest(
        "Public libraries today. Some words follow. We speak of public libraries again. More text here. \
         Public libraries at the end.",
    );
    assert!(s.iter().any(|x| x.concept == 1 && x.score > 0.0), "{s:?}");
}

#[test]
fn training_is_the_same_for_any_thread_count_and_survives_storage() {
    let (texts, gold) = corpus();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let p = LexicalParams { languages: vec!["en".into()], ..LexicalParams::default() };
    let train = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| LexicalModel::train(&vocab(), &p, stemming("en"), &refs, &gold).unwrap().0)
    };
    let (one, two) = (train(1), train(2));
    let bytes = postcard::to_allocvec(&one).unwrap();
    assert_eq!(bytes, postcard::to_allocvec(&two).unwrap());
    let back: LexicalModel = postcard::from_bytes(&bytes).unwrap();
    let text = "Fairy tales and music. Fairy tales.";
    assert_eq!(back.suggest(text), one.suggest(text));
    // A stored model whose counts do not fit its concepts is refused.
    let mut bad = bytes.clone();
    let cut = bad.len() - 200;
    bad.truncate(cut);
    assert!(postcard::from_bytes::<LexicalModel>(&bad).is_err());
}
