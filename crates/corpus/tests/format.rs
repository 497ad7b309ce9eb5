//! Document format tests: data-driven parsing cases, malformed input, round trips, directories and JSONL.

#![allow(clippy::print_stderr, reason = "tests print a notice when the shared corpora are absent")]

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use tagger_corpus::{Corpus, CorpusError, Document, parse_document, to_jsonl_line, write_document};

fn parse(bytes: &[u8]) -> Result<Document, CorpusError> {
    parse_document("doc", Path::new("fixture.txt"), bytes)
}

fn check(input: &[u8], labels: Option<&[&str]>, text: &str) {
    let doc = parse(input).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
    let expect: Option<Vec<String>> = labels.map(|l| l.iter().map(|s| s.to_string()).collect());
    assert_eq!(doc.labels, expect, "labels of {:?}", String::from_utf8_lossy(input));
    assert_eq!(doc.text, text, "text of {:?}", String::from_utf8_lossy(input));
}

#[test]
fn parses_the_format_and_its_documented_repairs() {
    check(b"%%%A|B C|\n\nbody", Some(&["A", "B C"]), "body");
    check(b"%%%A|B C\n\nbody", Some(&["A", "B C"]), "body"); // trailing '|' optional
    check(b"%%%\n\nbody\nmore\n", Some(&[]), "body\nmore\n"); // empty label list
    check(b"%%%|\n\nx", Some(&[]), "x");
    check("%%%和平|安全|\n\n文本".as_bytes(), Some(&["和平", "安全"]), "文本");
    check(b"\xEF\xBB\xBF%%%A|\n\nx", Some(&["A"]), "x"); // BOM removed
    check(b"%%%A|B|  \r\n\r\nline1\r\nline2", Some(&["A", "B"]), "line1\r\nline2"); // CRLF header, body kept
    check(b"%%% A | B |\n\nx", Some(&["A", "B"]), "x"); // whitespace around labels trimmed
    check(b"%%%A|A|B|\n\nx", Some(&["A", "B"]), "x"); // duplicates kept once
    check(b"%%%A|\nno blank line", Some(&["A"]), "no blank line");
    check(b"%%%A|", Some(&["A"]), "");
    check(b"plain text, no header", None, "plain text, no header");
    check(b"", None, "");
}

#[test]
fn malformed_files_get_errors_naming_file_and_line() {
    for (input, expect) in [
        (&b"%%%A||B|\n\nx"[..], "fixture.txt:1: label 2 of the %%% header is empty"),
        (&b"%%%A|\n\nok\nbad \xFF byte"[..], "fixture.txt:4: invalid UTF-8 at byte 14 (column 5)"),
        (&b"\xC3"[..], "fixture.txt:1: invalid UTF-8"),
    ] {
        let err = parse(input).unwrap_err().to_string();
        assert!(err.starts_with(expect), "got {err:?}, want {expect:?}");
    }
}

/// Found by fuzzing (`fuzz/regressions/corpus_document/`): a lone carriage return inside the header line was kept
/// inside a label, a label `write_document` refuses, so the document read could not be written back.
#[test]
fn issue_14_a_carriage_return_inside_the_header_is_an_error() {
    for input in [&b"%%%PART\rNER|B|\n\nx"[..], b"%%%A\r\rB\r\n\r\nx"] {
        let err = parse(input).unwrap_err().to_string();
        assert!(err.starts_with("fixture.txt:1: label") && err.contains("carriage return"), "{err}");
    }
    // A "\r\n" line ending stays a documented repair, and a "\r" next to a '|' is whitespace around a label.
    check(b"%%%A|B|\r\n\r\nx", Some(&["A", "B"]), "x");
    check(b"%%%A|B\r|\rC\r\n\nx", Some(&["A", "B", "C"]), "x");
}

#[test]
fn writer_refuses_what_the_format_cannot_hold() {
    for (labels, text) in [(Some(vec!["A|B"]), "x"), (Some(vec![" A"]), "x"), (Some(vec![""]), "x"), (None, "%%%x")] {
        let doc = Document {
            id: "d".into(),
            labels: labels.map(|l| l.into_iter().map(String::from).collect()),
            text: text.into(),
        };
        let err = write_document(&doc, Vec::new()).unwrap_err();
        assert!(err.to_string().contains("cannot write document \"d\""), "{err}");
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tagger-corpus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn directory_trees_are_read_in_sorted_order_with_relative_ids() {
    let dir = temp_dir("tree");
    std::fs::create_dir_all(dir.join("b/sub")).unwrap();
    std::fs::write(dir.join("b/sub/2.txt"), "%%%X|\n\ntwo").unwrap();
    std::fs::write(dir.join("a.txt"), "%%%Y|\n\none").unwrap();
    std::fs::write(dir.join("b/1.txt"), "no header").unwrap();
    std::fs::write(dir.join(".hidden"), "skip me").unwrap();
    let docs = Corpus::read_all(&dir).unwrap();
    let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["a.txt", "b/1.txt", "b/sub/2.txt"]);
    assert_eq!(docs[1].labels, None);
    // A single file's id is its name.
    let one = Corpus::read_all(&dir.join("b/sub/2.txt")).unwrap();
    assert_eq!(one[0].id, "2.txt");
    // A bad file in a tree names itself.
    std::fs::write(dir.join("b/0bad.txt"), b"%%%||\n\n").unwrap();
    let err = Corpus::read_all(&dir).unwrap_err().to_string();
    assert!(err.contains("0bad.txt:1:"), "{err}");
    let missing = Corpus::open(&dir.join("nope")).unwrap_err().to_string();
    assert!(missing.contains("nope"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn jsonl_records_and_their_errors() {
    let dir = temp_dir("jsonl");
    let path = dir.join("c.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"a\",\"labels\":[\"X\",\"Y\"],\"text\":\"hello\"}\n\n{\"id\":7,\"text\":\"no labels\"}\n{\"text\":\"t\",\"labels\":[]}\n",
    )
    .unwrap();
    let docs = Corpus::read_all(&path).unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0].labels.as_deref(), Some(&["X".to_string(), "Y".to_string()][..]));
    assert_eq!((docs[1].id.as_str(), docs[1].labels.clone()), ("7", None));
    assert_eq!(docs[2].id, "line 4");
    for (content, expect) in [
        ("{\"id\":\"a\",\"text\":\"ok\"}\n{\"id\":\"b\"}\n", "c.jsonl:2: invalid JSONL record: missing field `text`"),
        ("not json\n", "c.jsonl:1: invalid JSONL record"),
        ("{\"text\":\"x\",\"labels\":[\"\"]}\n", "c.jsonl:1: label 1 is empty"),
        ("{\"text\":\"x\",\"id\":[1]}\n", "c.jsonl:1: \"id\" must be a string or number"),
    ] {
        std::fs::write(&path, content).unwrap();
        let err = Corpus::read_all(&path).unwrap_err().to_string();
        assert!(err.contains(expect), "got {err:?}, want {expect:?}");
    }
    std::fs::write(&path, b"{\"text\":\"ok\"}\n{\"text\":\"\xFF\"}\n").unwrap();
    let err = Corpus::read_all(&path).unwrap_err().to_string();
    assert!(err.contains("c.jsonl:2: invalid UTF-8"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn annif_document_directories_pair_texts_with_their_subject_files() {
    let dir = temp_dir("annif-dir");
    // NAME.tsv: <URI>\tlabel lines; NAME.key: labels (or URIs) one a line; .tsv wins over .key.
    std::fs::write(dir.join("a.txt"), "%%%not a header here\nplain text").unwrap();
    std::fs::write(dir.join("a.tsv"), "<http://x.org/1>\tyksi\n\n<http://x.org/2>\tkaksi\r\n<http://x.org/1>\tyksi\n")
        .unwrap();
    std::fs::write(dir.join("b.txt"), "\u{feff}second").unwrap();
    std::fs::write(dir.join("b.key"), "kolme\n<http://x.org/4>\n").unwrap();
    std::fs::write(dir.join("c.txt"), "%%%Z|\n\nno subject file: the %%% format").unwrap();
    std::fs::write(dir.join("d.txt"), "both").unwrap();
    std::fs::write(dir.join("d.tsv"), "<http://x.org/5>\n").unwrap();
    std::fs::write(dir.join("d.key"), "ignored\n").unwrap();
    std::fs::write(dir.join("e.txt"), "no subjects").unwrap();
    std::fs::write(dir.join("e.tsv"), "").unwrap();
    let docs = Corpus::read_all(&dir).unwrap();
    let got: Vec<(&str, Option<Vec<String>>, &str)> =
        docs.iter().map(|d| (d.id.as_str(), d.labels.clone(), d.text.as_str())).collect();
    assert_eq!(
        got,
        [
            ("a.txt", strings(&["<http://x.org/1>", "<http://x.org/2>"]), "%%%not a header here\nplain text"),
            ("b.txt", strings(&["kolme", "<http://x.org/4>"]), "second"),
            ("c.txt", strings(&["Z"]), "no subject file: the %%% format"),
            ("d.txt", strings(&["<http://x.org/5>"]), "both"),
            ("e.txt", strings(&[]), "no subjects"),
        ]
    );
    // One document of the format given alone.
    let one = Corpus::read_all(&dir.join("b.txt")).unwrap();
    assert_eq!(one[0].labels, strings(&["kolme", "<http://x.org/4>"]));
    // A subject file given alone is not a corpus.
    let err = Corpus::open(&dir.join("a.tsv")).unwrap_err().to_string();
    assert!(err.contains("a.tsv:1: this is the subject file of the Annif document"), "{err}");
    // Malformed subject files name file and line.
    std::fs::write(dir.join("e.tsv"), "<http://x.org/1>\tok\n<http://x.org/2\tbroken\n").unwrap();
    let err = Corpus::read_all(&dir).unwrap_err().to_string();
    assert!(err.contains("e.tsv:2: malformed subject URI"), "{err}");
    std::fs::write(dir.join("e.tsv"), b"<http://x.org/1>\n\xFF\n").unwrap();
    let err = Corpus::read_all(&dir).unwrap_err().to_string();
    assert!(err.contains("e.tsv:2: invalid UTF-8"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn annif_short_text_tsv_is_one_document_a_line() {
    let dir = temp_dir("annif-tsv");
    let path = dir.join("short.tsv");
    std::fs::write(
        &path,
        "\u{feff}Mäntän musiikkijuhlat\t<http://urn.fi/ykl:78>\n\nKaksi aihetta\t<http://x.org/1>  http://x.org/2 <http://x.org/1>\r\nIlman aiheita\t\nEi sarkainta\n",
    )
    .unwrap();
    let docs = Corpus::read_all(&path).unwrap();
    let got: Vec<(&str, Option<Vec<String>>, &str)> =
        docs.iter().map(|d| (d.id.as_str(), d.labels.clone(), d.text.as_str())).collect();
    assert_eq!(
        got,
        [
            ("line 1", strings(&["<http://urn.fi/ykl:78>"]), "Mäntän musiikkijuhlat"),
            ("line 3", strings(&["<http://x.org/1>", "http://x.org/2"]), "Kaksi aihetta"),
            ("line 4", strings(&[]), "Ilman aiheita"),
            ("line 5", None, "Ei sarkainta"),
        ]
    );
    for (content, expect) in [
        (&b"ok\t<http://x.org/1>\nbad\t<http://x.org/2 <x>\n"[..], "short.tsv:2: malformed subject URI"),
        (&b"ok\t<a:b>\n\xFF\t<a:c>\n"[..], "short.tsv:2: invalid UTF-8"),
    ] {
        std::fs::write(&path, content).unwrap();
        let err = Corpus::read_all(&path).unwrap_err().to_string();
        assert!(err.contains(expect), "got {err:?}, want {expect:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn real_corpora_parse_when_present() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !data.is_dir() {
        eprintln!("notice: {} is absent; real-corpus parsing skipped", data.display());
        return;
    }
    for (corpus, min_docs) in [("reuters21578/train", 7000), ("cail2019_element/test", 100), ("seed", 1)] {
        let docs = Corpus::read_all(&data.join(corpus)).unwrap();
        assert!(docs.len() >= min_docs, "{corpus}: {} docs", docs.len());
        assert!(docs.iter().all(|d| d.labels.is_some()), "{corpus}: every shipped document has a header");
    }
    // Annif's formats, as published.
    let kh = Corpus::read_all(&data.join("kirjastonhoitaja/annif/validate")).unwrap();
    assert_eq!(kh.len(), 213);
    assert!(kh.iter().all(|d| d.labels.as_ref().is_some_and(|l| l.iter().all(|s| s.starts_with("<http")))));
    let mp = Corpus::read_all(&data.join("makupalat/makupalat-validate.tsv")).unwrap();
    assert_eq!(mp.len(), 398);
    assert!(mp.iter().all(|d| d.labels.as_ref().is_some_and(|l| !l.is_empty())));
    let seed = Corpus::read_all(&data.join("seed")).unwrap();
    assert!(seed[0].labels.as_ref().unwrap().contains(&"INTERNATIONAL SECURITY".to_string()));
}

fn label() -> impl Strategy<Value = String> {
    "[A-Za-z0-9和平安全 ()/.-]{0,12}[A-Za-z和平]"
        .prop_map(|s| s.trim().to_string())
        .prop_filter("non-empty", |s| !s.is_empty())
}

proptest! {
    #[test]
    fn format_round_trips(labels in proptest::option::of(proptest::collection::vec(label(), 0..6)),
                          text in "\\PC{0,60}|[\r\n \t]{0,4}[a-z\n]{0,20}") {
        let mut labels = labels;
        if let Some(l) = &mut labels {
            let mut seen = std::collections::HashSet::new();
            l.retain(|x| seen.insert(x.clone()));
        }
        prop_assume!(labels.is_some() || !(text.starts_with("%%%") || text.starts_with('\u{feff}')));
        let doc = Document { id: "doc".into(), labels, text };
        let mut buf = Vec::new();
        write_document(&doc, &mut buf).unwrap();
        prop_assert_eq!(parse(&buf).unwrap(), doc.clone());
        let line = to_jsonl_line(&doc);
        prop_assert_eq!(serde_json::from_str::<Document>(&line).unwrap(), doc);
    }
}
