//! `tagger-vocab`: controlled vocabularies (thesauri, classifications) as tagger uses them.
//!
//! A [`Vocabulary`] is a list of [`Concept`]s, each with its URI, an optional notation (`78`, `86.2`), labels
//! per language (preferred, alternative, hidden), hierarchy (`broader`, `narrower`) and `related` links, and
//! deprecation (`owl:deprecated` with `dct:isReplacedBy`). It is read from
//! * SKOS in Turtle (`.ttl`) or N-Triples (`.nt`), parsed by `oxttl`: every subject typed `skos:Concept` is a
//!   concept;
//! * Annif's TSV vocabulary (`.tsv`): `<URI>\tlabel` per line, optionally `\tnotation`, one file per language.
//!
//! Several files merge by URI with a [`VocabBuilder`]: a Turtle file and the TSV files of other languages, or
//! one TSV file per language. A preferred label given twice for one language with different texts, or two
//! notations, is a [`Conflict`]: the first value is kept and the conflict is reported, never silently
//! overwritten. Malformed input stops with `file:line: what is wrong`.
//!
//! [`Resolver`] maps the subjects of a training corpus (a URI, a notation, or any label in any language) to
//! concepts, following deprecated concepts to their replacement.
//!
//! This crate knows nothing of documents, features or models.

mod build;
mod error;
mod resolve;
mod skos;
mod tsv;

pub use build::{Conflict, VocabBuilder, VocabFormat, language_from_file_name};
pub use error::VocabError;
pub use resolve::{Resolved, Resolver, SubjectReport, Unresolved, Via};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Index of a concept in its [`Vocabulary`].
pub type ConceptId = u32;

/// The kind of a label, as SKOS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LabelKind {
    /// `skos:prefLabel`: at most one per language.
    Pref,
    /// `skos:altLabel`: synonyms and other names shown to people.
    Alt,
    /// `skos:hiddenLabel`: misspellings and forms used only for matching.
    Hidden,
}

/// One label of a concept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    /// BCP 47 language tag, lower-cased (`fi`, `en-gb`); empty when the source gave none.
    pub language: String,
    /// Preferred, alternative or hidden.
    pub kind: LabelKind,
    /// The label text, trimmed.
    pub text: String,
}

/// A concept of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concept {
    /// The concept's URI (without angle brackets).
    pub uri: String,
    /// `skos:notation`, for classifications (`78`, `86.2`).
    pub notation: Option<String>,
    /// Every label, sorted by language, kind, text; at most one [`LabelKind::Pref`] per language.
    pub labels: Vec<Label>,
    /// `skos:broader` links to concepts of this vocabulary, as stated by the source.
    pub broader: Vec<ConceptId>,
    /// `skos:narrower` links, as stated.
    pub narrower: Vec<ConceptId>,
    /// `skos:related` links, as stated.
    pub related: Vec<ConceptId>,
    /// `owl:deprecated true`.
    pub deprecated: bool,
    /// `dct:isReplacedBy` targets that are concepts of this vocabulary.
    pub replaced_by: Vec<ConceptId>,
}

impl Concept {
    /// The preferred label in `language`, if the concept has one.
    pub fn pref_label(&self, language: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.kind == LabelKind::Pref && l.language.eq_ignore_ascii_case(language))
            .map(|l| l.text.as_str())
    }

    /// The label to show for `languages`, tried in order (a tag like `en-GB` also tries `en`): the preferred
    /// label of the first language that has one, else any preferred label, else any label, else the notation,
    /// else the URI. Never empty, so an answer always names the concept.
    pub fn display_label(&self, languages: &[&str]) -> &str {
        for lang in languages {
            if let Some(l) = self.pref_label(lang) {
                return l;
            }
            if let Some((primary, _)) = lang.split_once('-')
                && let Some(l) = self.pref_label(primary)
            {
                return l;
            }
        }
        self.labels
            .iter()
            .find(|l| l.kind == LabelKind::Pref)
            .or_else(|| self.labels.first())
            .map(|l| l.text.as_str())
            .or(self.notation.as_deref())
            .unwrap_or(&self.uri)
    }
}

/// A controlled vocabulary: concepts indexed by URI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "VocabularyData", into = "VocabularyData")]
pub struct Vocabulary {
    concepts: Vec<Concept>,
    languages: Vec<String>,
    by_uri: FxHashMap<String, ConceptId>,
}

/// The stored form of a [`Vocabulary`]: the index by URI is rebuilt and checked on load.
#[derive(Serialize, Deserialize)]
struct VocabularyData {
    concepts: Vec<Concept>,
    languages: Vec<String>,
}

impl TryFrom<VocabularyData> for Vocabulary {
    type Error = VocabError;

    fn try_from(d: VocabularyData) -> Result<Self, VocabError> {
        Vocabulary::new(d.concepts, d.languages)
    }
}

impl From<Vocabulary> for VocabularyData {
    fn from(v: Vocabulary) -> Self {
        VocabularyData { concepts: v.concepts, languages: v.languages }
    }
}

impl Vocabulary {
    /// A vocabulary from its concepts; `languages` lists the languages of its labels, the first being the
    /// vocabulary's main language. Fails when URIs repeat or a link points outside the list.
    pub fn new(concepts: Vec<Concept>, languages: Vec<String>) -> Result<Vocabulary, VocabError> {
        let n = concepts.len();
        let too_many = || VocabError::Invalid(format!("{n} concepts is more than tagger supports"));
        let mut by_uri = FxHashMap::default();
        by_uri.reserve(n);
        for (i, c) in concepts.iter().enumerate() {
            let id = ConceptId::try_from(i).map_err(|_| too_many())?;
            if by_uri.insert(c.uri.clone(), id).is_some() {
                return Err(VocabError::Invalid(format!("concept <{}> appears twice", c.uri)));
            }
            let links = c.broader.iter().chain(&c.narrower).chain(&c.related).chain(&c.replaced_by);
            if let Some(bad) = links.copied().find(|&j| j as usize >= n) {
                return Err(VocabError::Invalid(format!("concept <{}> links to concept {bad} of {n}", c.uri)));
            }
        }
        Ok(Vocabulary { concepts, languages, by_uri })
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    /// True when there are no concepts.
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }

    /// Every concept, by id.
    pub fn concepts(&self) -> &[Concept] {
        &self.concepts
    }

    /// The concept with this id.
    pub fn get(&self, id: ConceptId) -> Option<&Concept> {
        self.concepts.get(id as usize)
    }

    /// The id of the concept with this URI (without angle brackets).
    pub fn id_of(&self, uri: &str) -> Option<ConceptId> {
        self.by_uri.get(uri).copied()
    }

    /// The concept with this URI.
    pub fn by_uri(&self, uri: &str) -> Option<&Concept> {
        self.id_of(uri).and_then(|id| self.get(id))
    }

    /// Languages of the labels, in the order their files were given, the language with the most labels first
    /// within a file; the first is the vocabulary's main language.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// Counts that describe the vocabulary (what `tagger vocab` prints).
    pub fn summary(&self) -> Summary {
        let mut per_language: BTreeMap<String, LanguageCounts> = BTreeMap::new();
        let mut s = Summary { concepts: self.concepts.len(), ..Summary::default() };
        for c in &self.concepts {
            for l in &c.labels {
                let e = per_language.entry(l.language.clone()).or_default();
                match l.kind {
                    LabelKind::Pref => e.pref += 1,
                    LabelKind::Alt => e.alt += 1,
                    LabelKind::Hidden => e.hidden += 1,
                }
            }
            s.notations += usize::from(c.notation.is_some());
            s.broader += c.broader.len();
            s.narrower += c.narrower.len();
            s.related += c.related.len();
            s.deprecated += usize::from(c.deprecated);
            s.replaced += usize::from(c.deprecated && !c.replaced_by.is_empty());
        }
        let mut languages: Vec<(String, LanguageCounts)> =
            self.languages.iter().map(|l| (l.clone(), per_language.remove(l).unwrap_or_default())).collect();
        languages.extend(per_language);
        s.languages = languages;
        let parents = self.parents();
        s.top_concepts = parents.iter().filter(|p| p.is_empty()).count();
        s.depth = depth_of(&parents);
        s
    }

    /// Parents of every concept: `broader` links plus the inverse of `narrower` links, deduplicated.
    pub fn parents(&self) -> Vec<Vec<ConceptId>> {
        let mut parents: Vec<Vec<ConceptId>> = self.concepts.iter().map(|c| c.broader.clone()).collect();
        for (i, c) in self.concepts.iter().enumerate() {
            for &child in &c.narrower {
                parents[child as usize].push(i as ConceptId);
            }
        }
        for p in &mut parents {
            p.sort_unstable();
            p.dedup();
        }
        parents
    }

    /// Levels of the hierarchy: 1 for a flat list, 2 when some concept has a parent, … Cycles (which SKOS
    /// forbids but real data can contain) are cut where they close.
    pub fn depth(&self) -> usize {
        depth_of(&self.parents())
    }
}

/// Longest chain of parents, counted in levels; a parent on the current path (a cycle) is not followed.
fn depth_of(parents: &[Vec<ConceptId>]) -> usize {
    const ON_PATH: usize = usize::MAX;
    // 0: not visited, ON_PATH: on the current path, else the depth.
    let mut depth = vec![0usize; parents.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in 0..parents.len() {
        if depth[start] != 0 {
            continue;
        }
        depth[start] = ON_PATH;
        stack.push((start, 0));
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&p) = parents[node].get(*next) {
                *next += 1;
                if depth[p as usize] == 0 {
                    depth[p as usize] = ON_PATH;
                    stack.push((p as usize, 0));
                }
            } else {
                let above = parents[node].iter().map(|&p| depth[p as usize]).filter(|&d| d != ON_PATH).max();
                depth[node] = 1 + above.unwrap_or(0);
                stack.pop();
            }
        }
    }
    depth.into_iter().max().unwrap_or(0)
}

/// Label counts of one language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LanguageCounts {
    /// Preferred labels.
    pub pref: usize,
    /// Alternative labels.
    pub alt: usize,
    /// Hidden labels.
    pub hidden: usize,
}

/// What a vocabulary holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Concepts.
    pub concepts: usize,
    /// Label counts per language (the vocabulary's languages first, in their order).
    pub languages: Vec<(String, LanguageCounts)>,
    /// Concepts with a notation.
    pub notations: usize,
    /// `broader` links.
    pub broader: usize,
    /// `narrower` links.
    pub narrower: usize,
    /// `related` links.
    pub related: usize,
    /// Concepts without a parent (no `broader` link and in no concept's `narrower`).
    pub top_concepts: usize,
    /// Levels of the hierarchy (see [`Vocabulary::depth`]).
    pub depth: usize,
    /// Deprecated concepts.
    pub deprecated: usize,
    /// Deprecated concepts with a replacement.
    pub replaced: usize,
}
