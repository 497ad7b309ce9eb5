//! Reading, merging and resolving vocabularies: small fixtures always, the real YSO/YKL files when
//! `../shared/data/vocab` is present.

use std::path::{Path, PathBuf};
use tagger_vocab::{
    Concept, LabelKind, Resolver, SubjectReport, Unresolved, Via, VocabBuilder, VocabError, Vocabulary,
    language_from_file_name,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn load(files: &[&str]) -> (Vocabulary, VocabBuilder) {
    let mut b = VocabBuilder::new();
    for f in files {
        b.add_file(&fixture(f), None).unwrap();
    }
    let v = b.finish().unwrap();
    (v, b)
}

const EX: &str = "http://example.org/c/";

fn concept<'v>(v: &'v Vocabulary, local: &str) -> &'v Concept {
    v.by_uri(&format!("{EX}{local}")).unwrap_or_else(|| panic!("no concept {local}"))
}

fn id(v: &Vocabulary, local: &str) -> u32 {
    v.id_of(&format!("{EX}{local}")).unwrap()
}

#[test]
fn skos_turtle_reads_concepts_labels_hierarchy_and_deprecation() {
    let (v, b) = load(&["mini.ttl"]);
    // The concept scheme is not a concept; every skos:Concept is.
    assert_eq!(v.len(), 8);
    assert!(v.by_uri(&format!("{EX}scheme")).is_none());
    let music = concept(&v, "78");
    assert_eq!(music.notation.as_deref(), Some("78"));
    assert_eq!(music.pref_label("fi"), Some("Musiikki"));
    // Language tags are compared without case: "@EN" is English.
    assert_eq!(music.pref_label("en"), Some("Music"));
    let kinds: Vec<(&str, LabelKind, &str)> =
        music.labels.iter().map(|l| (l.language.as_str(), l.kind, l.text.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("en", LabelKind::Pref, "Music"),
            ("fi", LabelKind::Pref, "Musiikki"),
            ("fi", LabelKind::Alt, "Säveltaide"),
            ("sv", LabelKind::Alt, "Tonkonst"),
            ("sv", LabelKind::Hidden, "musik"),
        ]
    );
    assert_eq!(music.broader, [id(&v, "7")]);
    assert_eq!(music.related, [id(&v, "79")]);
    assert_eq!(concept(&v, "7").narrower, [id(&v, "78")]);
    // ex:outside is not a concept of the vocabulary: the link is dropped and counted.
    assert_eq!(concept(&v, "78.1").broader, [id(&v, "78")]);
    assert_eq!(b.dangling_links(), 1);
    let old = concept(&v, "old");
    assert!(old.deprecated);
    assert_eq!(old.replaced_by, [id(&v, "78")]);
    assert!(concept(&v, "gone").deprecated);

    let s = v.summary();
    assert_eq!(s.concepts, 8);
    assert_eq!(s.depth, 3, "7 > 78 > 78.1");
    assert_eq!((s.deprecated, s.replaced), (2, 1));
    assert_eq!(s.notations, 3);
    assert_eq!((s.broader, s.narrower, s.related), (2, 1, 1));
    assert_eq!(s.top_concepts, 6);
    let fi = s.languages.iter().find(|(l, _)| l == "fi").unwrap().1;
    assert_eq!((fi.pref, fi.alt, fi.hidden), (8, 4, 0));
    assert!(b.conflicts().is_empty());
}

#[test]
fn files_merge_by_uri_and_conflicts_are_reported_not_overwritten() {
    let (v, b) = load(&["mini.ttl", "mini-en.tsv", "mini-sv.tsv"]);
    // The TSV files add one concept (99, with a notation from the third column) and Swedish labels.
    assert_eq!(v.len(), 9);
    assert_eq!(concept(&v, "99").notation.as_deref(), Some("99"));
    assert_eq!(concept(&v, "7").pref_label("sv"), Some("Konst"));
    // The byte-order mark and the \r\n line end of mini-sv.tsv are not part of the URI or the label.
    assert_eq!(concept(&v, "78").pref_label("sv"), Some("Musik"));
    assert!(b.conflicts().is_empty(), "same English labels in TTL and TSV agree: {:?}", b.conflicts());
    assert_eq!(v.languages()[0], "fi", "the first file's first language leads");

    let mut b = VocabBuilder::new();
    b.add_file(&fixture("mini-en.tsv"), None).unwrap();
    b.add_file(&fixture("conflict_en.tsv"), Some("en")).unwrap();
    let v = b.finish().unwrap();
    assert_eq!(concept(&v, "78").pref_label("en"), Some("Music"), "the first value is kept");
    let c = &b.conflicts()[0];
    assert_eq!(b.conflicts().len(), 1);
    assert_eq!(c.what, "prefLabel@en");
    assert_eq!(c.kept.0, "Music");
    assert_eq!(c.ignored.0, "Music and song");
    assert!(c.ignored.1.ends_with("conflict_en.tsv:1"), "{}", c.ignored.1);
    assert!(c.to_string().contains("two values for prefLabel@en"), "{c}");
}

#[test]
fn subjects_resolve_by_uri_notation_and_any_label_and_follow_replacements() {
    let (v, _) = load(&["mini.ttl", "mini-sv.tsv"]);
    let r = Resolver::new(&v);
    let music = id(&v, "78");
    let check = |subject: &str, concept: u32, via: Via| {
        let got = r.resolve(subject).unwrap_or_else(|e| panic!("{subject:?}: {e:?}"));
        assert_eq!((got.concept, got.via), (concept, via), "{subject:?}");
    };
    check("<http://example.org/c/78>", music, Via::Uri);
    check("http://example.org/c/78", music, Via::Uri);
    check("78", music, Via::Notation);
    check("Musiikki", music, Via::Label);
    check("musiikki", music, Via::Label);
    check("Tonkonst", music, Via::Label);
    check("MUSIK", music, Via::Label);
    check(" Music ", music, Via::Label);
    check("Leikit", id(&v, "79"), Via::Label);
    // A deprecated concept maps to its replacement, and says which it was.
    let old = r.resolve("Sävelet").unwrap();
    assert_eq!((old.concept, old.replaced), (music, Some(id(&v, "old"))));
    // Without a replacement it stays what it is.
    let gone = r.resolve("Poistettu").unwrap();
    assert_eq!((gone.concept, gone.replaced), (id(&v, "gone"), None));
    assert_eq!(r.resolve("puu"), Err(Unresolved::Ambiguous(vec![id(&v, "a1"), id(&v, "a2")])));
    assert_eq!(r.resolve("no such subject"), Err(Unresolved::Unknown));
    assert_eq!(r.resolve("<http://example.org/c/nothing>"), Err(Unresolved::Unknown));
    // A URI in brackets is only ever a URI, never a label.
    assert_eq!(r.resolve("<Musiikki>"), Err(Unresolved::Unknown));

    let mut report = SubjectReport::default();
    for s in ["78", "<http://example.org/c/78>", "Sävelet", "Poistettu", "puu", "xyz", "xyz"] {
        report.record(&v, s, &r.resolve(s));
    }
    assert_eq!((report.by_uri, report.by_notation, report.by_label), (1, 1, 2));
    assert_eq!((report.replaced, report.deprecated_kept), (1, 1));
    assert_eq!(report.unknown.get("xyz"), Some(&2));
    assert_eq!(report.ambiguous.get("puu"), Some(&1));
    assert_eq!((report.resolved(), report.unresolved()), (4, 3));
}

#[test]
fn answers_name_the_concept_in_the_language_asked_with_fallbacks() {
    let (v, _) = load(&["mini.ttl", "mini-sv.tsv"]);
    let music = concept(&v, "78");
    assert_eq!(music.display_label(&["en"]), "Music");
    assert_eq!(music.display_label(&["en-GB"]), "Music");
    assert_eq!(music.display_label(&["sv", "fi"]), "Musik");
    assert_eq!(music.display_label(&["de", "fi"]), "Musiikki");
    // No label in the languages asked: any preferred label rather than nothing.
    assert_eq!(concept(&v, "78.1").display_label(&["en"]), "Musiikin historia");
}

#[test]
fn a_vocabulary_round_trips_through_serde_and_a_broken_one_is_refused() {
    let (v, _) = load(&["mini.ttl", "mini-en.tsv"]);
    let bytes = postcard::to_allocvec(&v).unwrap();
    let back: Vocabulary = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, v);
    assert_eq!(back.id_of(&format!("{EX}78")), v.id_of(&format!("{EX}78")));

    let mut json: serde_json::Value = serde_json::to_value(&v).unwrap();
    json["concepts"][0]["broader"] = serde_json::json!([999]);
    let err = serde_json::from_value::<Vocabulary>(json).unwrap_err().to_string();
    assert!(err.contains("links to concept 999"), "{err}");
}

fn error_of(name: &str, content: &[u8], language: Option<&str>) -> String {
    let dir = std::env::temp_dir().join(format!("tagger-vocab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    let err: VocabError = VocabBuilder::new().add_file(&path, language).map(|_| ()).unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with(&path.display().to_string()), "error names the file: {shown}");
    shown.strip_prefix(&path.display().to_string()).unwrap().to_owned()
}

#[test]
fn malformed_files_stop_with_file_line_and_what_is_wrong() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("a-en.tsv", b"<http://x.org/1>\tone\nhttp://x.org/2 two\n", ":2: expected a concept URI"),
        ("a2-en.tsv", b"<http://x.org/1>\tone\n<http://x.org/2>\n", ":2: <http://x.org/2> has no label"),
        ("b-en.tsv", b"<http://x.org/1>\tone\n\n\tlabel only\n", ":3: expected a concept URI"),
        ("c-en.tsv", b"<not a uri>\tlabel\n", ":1: expected a concept URI"),
        ("d-en.tsv", b"<http://x.org/1>\tone\n<http://x.org/2>\t\xff\xfe\n", ":2: invalid UTF-8"),
        ("e-en.tsv", b"<http://x.org/1>\tone\t1\textra\n", ":1: more than three"),
        ("f-en.tsv", b"<http://x.org/1>\t  \n", ":1: <http://x.org/1> has no label"),
        (
            "g.ttl",
            b"@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<http://x.org/1> a skos:Concept ;\n  skos:prefLabel \"one\"@en\n<http://x.org/2> a skos:Concept .\n",
            ":4: column",
        ),
        (
            "h.ttl",
            b"@prefix owl: <http://www.w3.org/2002/07/owl#> .\n<http://x.org/1> owl:deprecated \"maybe\" .\n",
            ": <http://x.org/1> <http://www.w3.org/2002/07/owl#deprecated>: expected true or false",
        ),
        (
            "i.ttl",
            b"@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<http://x.org/1> skos:broader \"2\" .\n",
            "expected a concept IRI",
        ),
        (
            "j.nt",
            b"<http://x.org/1> <http://www.w3.org/2004/02/skos/core#prefLabel> \"x\"@en .\n<http://x.org/2> <http://www.w3.org/2004/02/skos/core#prefLabel> \"y\"@en @ .\n",
            ":2: column",
        ),
        ("k.csv", b"uri,label\n", ": unknown vocabulary format"),
        ("vocab.tsv", b"<http://x.org/1>\tone\n", "give it as LANG=FILE"),
    ];
    for (name, content, expect) in cases {
        let shown = error_of(name, content, None);
        assert!(shown.contains(expect), "{name}: expected {expect:?} in {shown:?}");
    }
    // The language can always be given explicitly.
    let dir = std::env::temp_dir().join(format!("tagger-vocab-{}", std::process::id()));
    let mut b = VocabBuilder::new();
    b.add_file(&dir.join("vocab.tsv"), Some("EN")).unwrap();
    assert_eq!(b.finish().unwrap().concepts()[0].pref_label("en"), Some("one"));
}

#[test]
fn the_language_of_a_tsv_vocabulary_comes_from_its_name() {
    let cases = [
        ("yso-fi.tsv", Some("fi")),
        ("dir/ykl_SV.tsv", Some("sv")),
        ("unbis-ara.tsv", Some("ara")),
        ("vocab.tsv", None),
        ("yso-finnish.tsv", None),
        ("yso-f1.tsv", None),
    ];
    for (name, lang) in cases {
        assert_eq!(language_from_file_name(Path::new(name)).as_deref(), lang, "{name}");
    }
}

fn shared_vocab(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/vocab").join(name);
    p.exists().then_some(p)
}

#[test]
fn the_real_ykl_classification_loads() {
    let Some(path) = shared_vocab("ykl-skos.ttl") else { return };
    let mut b = VocabBuilder::new();
    b.add_file(&path, None).unwrap();
    let v = b.finish().unwrap();
    let s = v.summary();
    assert_eq!(s.concepts, 2406);
    assert_eq!(s.notations, 2390);
    assert_eq!(s.broader, 2394);
    for lang in ["fi", "sv", "en"] {
        let n = s.languages.iter().find(|(l, _)| l == lang).map_or(0, |(_, c)| c.pref);
        assert!(n > 0, "YKL has preferred labels in {lang}: {:?}", s.languages);
    }
    let music = v.by_uri("http://urn.fi/URN:NBN:fi:au:ykl:78").unwrap();
    assert_eq!(music.notation.as_deref(), Some("78"));
    assert!(s.depth >= 4, "a decimal classification is deep: {}", s.depth);
    let r = Resolver::new(&v);
    assert_eq!(
        r.resolve("86.2").map(|x| v.get(x.concept).unwrap().uri.clone()).unwrap(),
        "http://urn.fi/URN:NBN:fi:au:ykl:86.2"
    );
}

#[test]
fn the_three_yso_tsv_files_merge_into_one_vocabulary() {
    let Some(fi) = shared_vocab("yso-fi.tsv") else { return };
    let mut b = VocabBuilder::new();
    for p in [fi, shared_vocab("yso-sv.tsv").unwrap(), shared_vocab("yso-en.tsv").unwrap()] {
        b.add_file(&p, None).unwrap();
    }
    let v = b.finish().unwrap();
    assert_eq!(v.len(), 27_760);
    assert_eq!(v.languages(), ["fi", "sv", "en"]);
    let s = v.summary();
    let prefs: Vec<usize> = s.languages.iter().map(|(_, c)| c.pref).collect();
    assert_eq!(prefs, [27_760, 27_729, 27_754], "one preferred label a line: {:?}", s.languages);
    assert!(b.conflicts().is_empty());
    let c = v.by_uri("http://www.yso.fi/onto/yso/p2223").unwrap();
    assert_eq!(c.pref_label("fi"), Some("tarot"));
    assert!(c.pref_label("en").is_some());
}

#[test]
fn architecture_invariant_vocab_depends_on_no_local_crate() {
    // ARCHITECTURE.md: vocab knows nothing of documents, tokens, features or models.
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or_default();
    let deps = deps.split("\n[").next().unwrap_or_default();
    let local: Vec<&str> = deps.lines().filter(|l| l.trim_start().starts_with("tagger-")).collect();
    assert!(local.is_empty(), "tagger-vocab depends on local crates: {local:?}");
}
