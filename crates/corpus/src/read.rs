use crate::{CorpusError, Document, annif};
use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// 1-based line number of byte offset `pos`.
pub(crate) fn line_of(bytes: &[u8], pos: usize) -> usize {
    1 + bytes[..pos.min(bytes.len())].iter().filter(|&&b| b == b'\n').count()
}

/// Parse one document in the `%%%` format. `path` is only used in error messages.
pub fn parse_document(id: &str, path: &Path, bytes: &[u8]) -> Result<Document, CorpusError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let content = std::str::from_utf8(bytes).map_err(|e| {
        let pos = e.valid_up_to();
        let line = line_of(bytes, pos);
        let line_start = bytes[..pos].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        CorpusError::format(
            path,
            line,
            format!("invalid UTF-8 at byte {} (column {}); re-encode the file as UTF-8", pos, pos - line_start + 1),
        )
    })?;
    let Some(rest) = content.strip_prefix("%%%") else {
        return Ok(Document { id: id.to_owned(), labels: None, text: content.to_owned() });
    };
    let (header, body) = rest.split_once('\n').unwrap_or((rest, ""));
    let labels = parse_labels(header.trim_end()).map_err(|m| CorpusError::format(path, 1, m))?;
    // The blank separator line (possibly "\r" or spaces) is consumed; if it is missing the body starts here.
    let body = match body.split_once('\n') {
        Some((first, after)) if first.trim().is_empty() => after,
        None if body.trim().is_empty() => "",
        _ => body,
    };
    Ok(Document { id: id.to_owned(), labels: Some(labels), text: body.to_owned() })
}

fn parse_labels(header: &str) -> Result<Vec<String>, String> {
    let mut parts: Vec<&str> = header.split('|').collect();
    if parts.last().is_some_and(|p| p.trim().is_empty()) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].trim().is_empty() {
        // "%%%" and "%%%|" both mean "no labels".
        parts.clear();
    }
    let mut seen = HashSet::new();
    let mut labels = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let label = p.trim();
        if label.is_empty() {
            return Err(format!("label {} of the %%% header is empty (two '|' in a row?)", i + 1));
        }
        // Only "\n" ends the header line (a "\r" before it is trimmed above); a lone "\r" inside it would make
        // a label the writer refuses, so the document could not be written back.
        if label.contains('\r') {
            return Err(format!("label {} of the %%% header contains a carriage return", i + 1));
        }
        if seen.insert(label) {
            labels.push(label.to_owned());
        }
    }
    Ok(labels)
}

/// Read one file as one document; its id is the file name.
pub fn read_document(path: &Path) -> Result<Document, CorpusError> {
    let bytes = fs::read(path).map_err(|e| CorpusError::io(path, e))?;
    let id = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    parse_document(&id, path, &bytes)
}

/// A stream of documents from a file, a directory tree or a JSONL file; documents are read one at a time, so a
/// corpus larger than memory can be streamed.
#[derive(Debug)]
pub struct Corpus {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Files { root: PathBuf, files: std::vec::IntoIter<PathBuf> },
    Lines { path: PathBuf, lines: std::io::Lines<BufReader<fs::File>>, line: usize, format: LineFormat },
    Done,
}

/// Corpora of one document a line.
#[derive(Debug, Clone, Copy)]
enum LineFormat {
    Jsonl,
    ShortTextTsv,
}

fn is_jsonl(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("jsonl" | "ndjson"))
}

impl Corpus {
    /// Open a corpus: a directory (every non-hidden file below it, in sorted path order, ids relative to it),
    /// a `.jsonl`/`.ndjson` file (one JSON object a line: `{"id":…, "labels":[…], "text":…}`), a `.tsv` file
    /// (Annif's short-text TSV: `text\t<URI> <URI>…` a line), or any other file (one document).
    ///
    /// In a directory, or given alone, a `NAME.txt` with a `NAME.tsv` or `NAME.key` beside it is an Annif
    /// document: the whole file is the text and the subject file gives its labels (see [`crate::annif`]); the
    /// subject file is not read as a document of its own.
    pub fn open(path: &Path) -> Result<Corpus, CorpusError> {
        let meta = fs::metadata(path).map_err(|e| CorpusError::io(path, e))?;
        let lines = |format| -> Result<Inner, CorpusError> {
            let f = fs::File::open(path).map_err(|e| CorpusError::io(path, e))?;
            Ok(Inner::Lines { path: path.to_owned(), lines: BufReader::new(f).lines(), line: 0, format })
        };
        let inner = if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            files.retain(|p| !annif::is_subject_file(p));
            Inner::Files { root: path.to_owned(), files: files.into_iter() }
        } else if annif::is_subject_file(path) {
            let text = path.with_extension("txt");
            return Err(CorpusError::format(
                path,
                1,
                format!(
                    "this is the subject file of the Annif document {}: give that file, or the directory",
                    text.display()
                ),
            ));
        } else if is_jsonl(path) {
            lines(LineFormat::Jsonl)?
        } else if annif::is_short_text_tsv(path) {
            lines(LineFormat::ShortTextTsv)?
        } else {
            let root = path.parent().unwrap_or(Path::new("")).to_owned();
            Inner::Files { root, files: vec![path.to_owned()].into_iter() }
        };
        Ok(Corpus { inner })
    }

    /// Read the whole corpus into memory, stopping at the first error.
    pub fn read_all(path: &Path) -> Result<Vec<Document>, CorpusError> {
        Corpus::open(path)?.collect()
    }
}

/// Every non-hidden regular file below `dir`, sorted by path so the order never depends on the file system.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let mut entries = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| CorpusError::io(dir, e))? {
        let e = e.map_err(|e| CorpusError::io(dir, e))?;
        if !e.file_name().to_string_lossy().starts_with('.') {
            entries.push(e.path());
        }
    }
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

fn relative_id(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    parts.join("/")
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDoc {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    text: String,
}

/// Parse one JSONL record (`{"id":…, "labels":[…], "text":…}`); `path` and `line_no` only name it in errors.
pub fn parse_jsonl_line(path: &Path, line_no: usize, line: &str) -> Result<Document, CorpusError> {
    let rec: JsonDoc = serde_json::from_str(line)
        .map_err(|e| CorpusError::format(path, line_no, format!("invalid JSONL record: {e}")))?;
    let id = match rec.id {
        None | Some(serde_json::Value::Null) => format!("line {line_no}"),
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(CorpusError::format(path, line_no, format!("\"id\" must be a string or number, not {other}")));
        }
    };
    if let Some(labels) = &rec.labels
        && let Some(i) = labels.iter().position(|l| l.trim().is_empty())
    {
        return Err(CorpusError::format(path, line_no, format!("label {} is empty", i + 1)));
    }
    Ok(Document { id, labels: rec.labels, text: rec.text })
}

/// One line of a JSONL corpus: `None` for a blank line, else the parsed record. A byte-order mark at the start
/// of line 1 is ignored. `path` and `line_no` (1-based) only name the line in errors.
pub fn jsonl_record(path: &Path, line_no: usize, line: &str) -> Option<Result<Document, CorpusError>> {
    let line = if line_no == 1 { line.trim_start_matches('\u{feff}') } else { line };
    (!line.trim().is_empty()).then(|| parse_jsonl_line(path, line_no, line))
}

impl Iterator for Corpus {
    type Item = Result<Document, CorpusError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match &mut self.inner {
                Inner::Done => return None,
                Inner::Files { root, files } => {
                    let path = files.next()?;
                    let id = relative_id(root, &path);
                    let res = match annif::subject_file_for(&path) {
                        Some(subjects) => annif::read_annif_document(&id, &path, &subjects),
                        None => fs::read(&path)
                            .map_err(|e| CorpusError::io(&path, e))
                            .and_then(|b| parse_document(&id, &path, &b)),
                    };
                    return Some(res);
                }
                Inner::Lines { path, lines, line, format } => {
                    *line += 1;
                    match lines.next() {
                        None => {
                            self.inner = Inner::Done;
                            return None;
                        }
                        Some(Err(e)) => {
                            let err = if e.kind() == std::io::ErrorKind::InvalidData {
                                CorpusError::format(path.clone(), *line, "invalid UTF-8")
                            } else {
                                CorpusError::io(path.clone(), e)
                            };
                            self.inner = Inner::Done;
                            return Some(Err(err));
                        }
                        Some(Ok(text)) => {
                            let rec = match format {
                                LineFormat::Jsonl => jsonl_record(path, *line, &text),
                                LineFormat::ShortTextTsv => annif::short_text_record(path, *line, &text),
                            };
                            if let Some(rec) = rec {
                                return Some(rec);
                            }
                        }
                    }
                }
            }
        }
    }
}
