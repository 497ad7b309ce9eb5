//! The streaming corpus reader (`tagger_corpus::Corpus`) over real files: a JSONL file, a short-text TSV file,
//! or an Annif document directory (`a.txt` + `a.tsv`/`a.key`, beside a `%%%` document `b.txt`).
//!
//! The first byte chooses the layout; the rest is split into file contents. Properties: no panic; the stream
//! yields exactly what the one-line / one-document parsers give for each line or file (so reading a corpus from
//! disk adds no behaviour of its own), stops after invalid UTF-8 in a line file, and never loses or invents a
//! document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tagger_corpus::{Corpus, CorpusError, Document, annif, jsonl_record, parse_document};

/// A scratch directory of this process (in memory when /dev/shm exists).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() { base.to_owned() } else { std::env::temp_dir() };
        let dir = base.join(format!("tagger-fuzz-corpus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// A result without its error's message: the stream and the parsers name errors alike but need not word them
/// alike.
fn summary(r: Result<Document, CorpusError>) -> Result<Document, ()> {
    r.map_err(|_| ())
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let dir = scratch();
    match which % 4 {
        0 => lines(dir, "c.jsonl", rest, jsonl_record),
        1 => lines(dir, "c.tsv", rest, annif::short_text_record),
        k => document_dir(dir, if k == 2 { "tsv" } else { "key" }, rest),
    }
});

/// A line corpus: the stream gives what the line parser gives for each line, `BufRead::lines` style.
fn lines(
    dir: &Path,
    name: &str,
    data: &[u8],
    parse: impl Fn(&Path, usize, &str) -> Option<Result<Document, CorpusError>>,
) {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write corpus file");
    let got: Vec<Result<Document, ()>> = Corpus::open(&path).expect("open line corpus").map(summary).collect();
    let mut expect: Vec<Result<Document, ()>> = Vec::new();
    let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.ends_with(b"\n") || data.is_empty() {
        pieces.pop();
    }
    let last = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        // `lines()` drops "\n" and a "\r" before it; a last line without "\n" keeps its "\r".
        let piece =
            if i + 1 < last || data.ends_with(b"\n") { piece.strip_suffix(b"\r").unwrap_or(piece) } else { piece };
        match std::str::from_utf8(piece) {
            Err(_) => {
                expect.push(Err(()));
                break;
            }
            Ok(line) => expect.extend(parse(&path, i + 1, line).map(summary)),
        }
    }
    assert_eq!(got, expect, "stream and line parser disagree");
}

/// An Annif document directory: `a.txt` with its subject file, and a `%%%` document `b.txt`.
fn document_dir(dir: &Path, ext: &str, data: &[u8]) {
    let corpus = dir.join("dir");
    let _ = std::fs::remove_dir_all(&corpus);
    std::fs::create_dir_all(&corpus).expect("corpus directory");
    let mut parts = data.splitn(3, |&b| b == 0);
    let (text, subjects, other) =
        (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let (a, s, b) = (corpus.join("a.txt"), corpus.join(format!("a.{ext}")), corpus.join("b.txt"));
    for (p, bytes) in [(&a, text), (&s, subjects), (&b, other)] {
        std::fs::write(p, bytes).expect("write corpus file");
    }
    let got: Vec<Result<Document, ()>> = Corpus::open(&corpus).expect("open directory").map(summary).collect();
    assert_eq!(got.len(), 2, "two documents expected (the subject file is not one): {got:?}");
    // a.txt: the whole file is the text, labels from the subject file (a BOM dropped from each).
    let expect_a = match (strip_bom(text), strip_bom(subjects)) {
        (Some(t), Some(subjects)) => summary(annif::parse_subject_file(&s, subjects).map(|labels| Document {
            id: "a.txt".into(),
            labels: Some(labels),
            text: t.to_owned(),
        })),
        _ => Err(()),
    };
    assert_eq!(got[0], expect_a, "a.txt");
    assert_eq!(got[1], summary(parse_document("b.txt", &b, other)), "b.txt");
}

fn strip_bom(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().map(|s| s.strip_prefix('\u{feff}').unwrap_or(s))
}
