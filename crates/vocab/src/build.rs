//! Merging vocabulary files by URI.

use crate::{Concept, ConceptId, Label, LabelKind, VocabError, Vocabulary};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The formats a vocabulary file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VocabFormat {
    /// SKOS in Turtle (`.ttl`).
    Turtle,
    /// SKOS in N-Triples (`.nt`).
    NTriples,
    /// Annif's TSV vocabulary (`.tsv`): `<URI>\tlabel[\tnotation]`, one language per file.
    Tsv,
}

impl VocabFormat {
    /// The format a file name says (`.ttl`, `.nt`, `.tsv`), if any.
    pub fn from_path(path: &Path) -> Option<VocabFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "ttl" => Some(VocabFormat::Turtle),
            "nt" => Some(VocabFormat::NTriples),
            "tsv" => Some(VocabFormat::Tsv),
            _ => None,
        }
    }
}

/// The language a vocabulary file's name carries, as Annif's published files do: `yso-fi.tsv`, `ykl_sv.tsv`
/// give `fi`, `sv` (the last `-` or `_` part of the stem, two or three ASCII letters).
pub fn language_from_file_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let (_, tail) = stem.rsplit_once(['-', '_'])?;
    ((2..=3).contains(&tail.len()) && tail.bytes().all(|b| b.is_ascii_alphabetic())).then(|| tail.to_ascii_lowercase())
}

/// Two sources disagree on a value that can have only one (a preferred label in one language, a notation).
/// The first value read is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The concept.
    pub uri: String,
    /// What is in conflict (`prefLabel@fi`, `notation`).
    pub what: String,
    /// The value kept, and where it came from (`file` or `file:line`).
    pub kept: (String, String),
    /// The value ignored, and where it came from.
    pub ignored: (String, String),
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<{}>: two values for {}: kept {:?} ({}), ignored {:?} ({})",
            self.uri, self.what, self.kept.0, self.kept.1, self.ignored.0, self.ignored.1
        )
    }
}

/// What the sources say about one URI so far.
#[derive(Debug, Default)]
struct Partial {
    is_concept: bool,
    notation: Option<(String, String)>,
    pref: BTreeMap<String, (String, String)>,
    other: BTreeSet<Label>,
    broader: Vec<String>,
    narrower: Vec<String>,
    related: Vec<String>,
    deprecated: bool,
    replaced_by: Vec<String>,
}

/// Reads vocabulary files and merges them by URI (see the crate docs).
#[derive(Debug, Default)]
pub struct VocabBuilder {
    partials: Vec<Partial>,
    index: FxHashMap<String, usize>,
    /// Languages in order of first appearance, with the number of the file they first appeared in.
    languages: Vec<(String, usize)>,
    files: usize,
    conflicts: Vec<Conflict>,
    dangling: usize,
}

/// One statement about a concept, as the readers deliver it. `source` names where it came from.
#[derive(Debug)]
pub(crate) enum Fact {
    IsConcept,
    Label(Label),
    Notation(String),
    Broader(String),
    Narrower(String),
    Related(String),
    Deprecated(bool),
    ReplacedBy(String),
}

impl VocabBuilder {
    /// An empty builder.
    pub fn new() -> VocabBuilder {
        VocabBuilder::default()
    }

    /// Read one file. The format comes from its extension ([`VocabFormat::from_path`]). A TSV file's labels are
    /// in `language`, or in the language its name carries ([`language_from_file_name`]); RDF labels carry their
    /// own language tags and `language` is ignored for them.
    pub fn add_file(&mut self, path: &Path, language: Option<&str>) -> Result<&mut Self, VocabError> {
        let format = VocabFormat::from_path(path).ok_or_else(|| VocabError::Unsupported {
            path: path.to_owned(),
            message: "unknown vocabulary format: expected a .ttl (SKOS Turtle), .nt (N-Triples) or .tsv \
                      (Annif TSV) file"
                .into(),
        })?;
        let file = std::fs::File::open(path).map_err(|e| VocabError::Io { path: path.to_owned(), error: e })?;
        let reader = std::io::BufReader::new(file);
        match format {
            VocabFormat::Tsv => {
                let language = match language {
                    Some(l) => l.to_ascii_lowercase(),
                    None => language_from_file_name(path).ok_or_else(|| VocabError::Unsupported {
                        path: path.to_owned(),
                        message: "the language of a TSV vocabulary cannot be told from its name (like \
                                  yso-fi.tsv); give it as LANG=FILE"
                            .into(),
                    })?,
                };
                self.add_tsv(path, &language, reader)
            }
            VocabFormat::Turtle | VocabFormat::NTriples => self.add_rdf(path, format, reader),
        }
    }

    /// Read a TSV vocabulary whose labels are in `language`; `path` names it in errors.
    pub fn add_tsv(
        &mut self,
        path: &Path,
        language: &str,
        reader: impl std::io::BufRead,
    ) -> Result<&mut Self, VocabError> {
        self.files += 1;
        self.note_language(language);
        crate::tsv::read(path, language, reader, &mut |uri, fact, line| {
            let source = format!("{}:{line}", path.display());
            self.add(uri, fact, &source);
        })?;
        Ok(self)
    }

    /// Read SKOS in Turtle or N-Triples; `path` names it in errors.
    pub fn add_rdf(
        &mut self,
        path: &Path,
        format: VocabFormat,
        reader: impl std::io::Read,
    ) -> Result<&mut Self, VocabError> {
        let source = path.display().to_string();
        self.files += 1;
        crate::skos::read(path, format, reader, &mut |uri, fact| {
            if let Fact::Label(l) = &fact {
                self.note_language(&l.language);
            }
            self.add(uri, fact, &source);
        })?;
        Ok(self)
    }

    fn note_language(&mut self, language: &str) {
        if !self.languages.iter().any(|(l, _)| l == language) {
            self.languages.push((language.to_owned(), self.files));
        }
    }

    /// The languages in the order files were given; within one file (a SKOS file has many), the language with
    /// the most labels of concepts first (the one the vocabulary is most complete in), ties in order of
    /// appearance. The first is the vocabulary's main language.
    fn ordered_languages(&self, concepts: &[Concept]) -> Vec<String> {
        let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
        for l in concepts.iter().flat_map(|c| &c.labels) {
            *counts.entry(l.language.as_str()).or_default() += 1;
        }
        let mut langs: Vec<(usize, std::cmp::Reverse<usize>, usize, &str)> = self
            .languages
            .iter()
            .enumerate()
            .map(|(order, (l, file))| {
                (*file, std::cmp::Reverse(counts.get(l.as_str()).copied().unwrap_or(0)), order, l.as_str())
            })
            .collect();
        langs.sort_unstable();
        langs.into_iter().map(|(_, _, _, l)| l.to_owned()).collect()
    }

    pub(crate) fn add(&mut self, uri: &str, fact: Fact, source: &str) {
        let i = match self.index.get(uri) {
            Some(&i) => i,
            None => {
                self.partials.push(Partial::default());
                self.index.insert(uri.to_owned(), self.partials.len() - 1);
                self.partials.len() - 1
            }
        };
        let p = &mut self.partials[i];
        let conflict = |what: String, kept: &(String, String), value: String| Conflict {
            uri: uri.to_owned(),
            what,
            kept: kept.clone(),
            ignored: (value, source.to_owned()),
        };
        match fact {
            Fact::IsConcept => p.is_concept = true,
            Fact::Label(l) if l.kind == LabelKind::Pref => match p.pref.get(&l.language) {
                Some(kept) if kept.0 != l.text => {
                    let c = conflict(format!("prefLabel@{}", l.language), kept, l.text);
                    self.conflicts.push(c);
                }
                Some(_) => {}
                None => {
                    p.pref.insert(l.language, (l.text, source.to_owned()));
                }
            },
            Fact::Label(l) => {
                p.other.insert(l);
            }
            Fact::Notation(n) => match &p.notation {
                Some(kept) if kept.0 != n => {
                    let c = conflict("notation".to_owned(), kept, n);
                    self.conflicts.push(c);
                }
                Some(_) => {}
                None => p.notation = Some((n, source.to_owned())),
            },
            Fact::Broader(u) => p.broader.push(u),
            Fact::Narrower(u) => p.narrower.push(u),
            Fact::Related(u) => p.related.push(u),
            Fact::Deprecated(d) => p.deprecated |= d,
            Fact::ReplacedBy(u) => p.replaced_by.push(u),
        }
    }

    /// Conflicts found so far.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// Links (`broader`, `narrower`, `related`, `isReplacedBy`) to URIs that are not concepts of the merged
    /// vocabulary, dropped by [`finish`](Self::finish). Known after it.
    pub fn dangling_links(&self) -> usize {
        self.dangling
    }

    /// The merged vocabulary: every URI that some source declares a concept (typed `skos:Concept` in RDF, or a
    /// line of a TSV file), in the order first seen. Links to URIs that are not concepts are dropped and counted.
    pub fn finish(&mut self) -> Result<Vocabulary, VocabError> {
        let mut uris: Vec<(&str, usize)> = self.index.iter().map(|(u, &i)| (u.as_str(), i)).collect();
        uris.sort_unstable_by_key(|&(_, i)| i);
        let mut id_of: FxHashMap<&str, ConceptId> = FxHashMap::default();
        for &(uri, i) in &uris {
            if self.partials[i].is_concept {
                let id = ConceptId::try_from(id_of.len())
                    .map_err(|_| VocabError::Invalid("more than 2^32 concepts".into()))?;
                id_of.insert(uri, id);
            }
        }
        let mut dangling = 0;
        let mut links = |targets: &[String]| -> Vec<ConceptId> {
            let mut ids: Vec<ConceptId> = targets.iter().filter_map(|t| id_of.get(t.as_str()).copied()).collect();
            dangling += targets.len() - ids.len();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut concepts = Vec::with_capacity(id_of.len());
        for &(uri, i) in &uris {
            let p = &self.partials[i];
            if !p.is_concept {
                continue;
            }
            let mut labels: Vec<Label> = p
                .pref
                .iter()
                .map(|(lang, (text, _))| Label { language: lang.clone(), kind: LabelKind::Pref, text: text.clone() })
                .chain(p.other.iter().cloned())
                .collect();
            labels.sort();
            labels.dedup();
            concepts.push(Concept {
                uri: uri.to_owned(),
                notation: p.notation.as_ref().map(|(n, _)| n.clone()),
                labels,
                broader: links(&p.broader),
                narrower: links(&p.narrower),
                related: links(&p.related),
                deprecated: p.deprecated,
                replaced_by: links(&p.replaced_by),
            });
        }
        self.dangling = dangling;
        let languages = self.ordered_languages(&concepts);
        Vocabulary::new(concepts, languages)
    }
}
