//! Subjects of a corpus (URIs, notations, labels in any language) to concepts.

use crate::tsv::clean_uri;
use crate::{ConceptId, LabelKind, Vocabulary};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// How a subject was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Its URI.
    Uri,
    /// The concept's notation.
    Notation,
    /// A label of the concept (any kind, any language, ignoring case).
    Label,
}

/// A subject resolved to a concept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved<'v> {
    /// The concept to use: the replacement when the subject named a deprecated concept that has exactly one.
    pub concept: ConceptId,
    /// The deprecated concept the subject named, when it was replaced.
    pub replaced: Option<ConceptId>,
    /// How the subject was recognised.
    pub via: Via,
    /// For [`Via::Label`], the language of the label that matched.
    pub language: Option<&'v str>,
}

/// Why a subject names no concept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Nothing in the vocabulary has this URI, notation or label.
    Unknown,
    /// The label belongs to several concepts (none of them by its preferred label alone).
    Ambiguous(Vec<ConceptId>),
}

/// Looks subjects up in a vocabulary: by URI (`<URI>` or bare), then notation, then label. Labels match
/// ignoring case; a preferred label wins over alternative and hidden ones, and an exact-case match over a
/// case-folded one; what is still ambiguous is reported as such, never guessed.
#[derive(Debug)]
pub struct Resolver<'v> {
    vocab: &'v Vocabulary,
    by_notation: FxHashMap<&'v str, ConceptId>,
    by_label: FxHashMap<String, Vec<LabelMatch<'v>>>,
}

/// A label that can match a subject: concept, kind, text, language.
type LabelMatch<'v> = (ConceptId, LabelKind, &'v str, &'v str);

/// How many steps of `isReplacedBy` are followed before giving up on a chain (which could loop).
const MAX_REPLACEMENTS: usize = 16;

impl<'v> Resolver<'v> {
    /// Index `vocab`'s notations and labels.
    pub fn new(vocab: &'v Vocabulary) -> Resolver<'v> {
        let mut by_notation = FxHashMap::default();
        let mut by_label: FxHashMap<String, Vec<LabelMatch<'v>>> = FxHashMap::default();
        for (id, c) in vocab.concepts().iter().enumerate() {
            let id = id as ConceptId;
            if let Some(n) = &c.notation {
                by_notation.entry(n.as_str()).or_insert(id);
            }
            for l in &c.labels {
                let entry = by_label.entry(l.text.to_lowercase()).or_default();
                if !entry.iter().any(|&(c, k, t, _)| c == id && k == l.kind && t == l.text) {
                    entry.push((id, l.kind, l.text.as_str(), l.language.as_str()));
                }
            }
        }
        Resolver { vocab, by_notation, by_label }
    }

    /// The vocabulary subjects are resolved in.
    pub fn vocabulary(&self) -> &'v Vocabulary {
        self.vocab
    }

    /// The concept `subject` names.
    pub fn resolve(&self, subject: &str) -> Result<Resolved<'v>, Unresolved> {
        let subject = subject.trim();
        let (id, via, language) = self.find(subject)?;
        Ok(self.replacement(id, via, language))
    }

    fn find(&self, subject: &str) -> Result<(ConceptId, Via, Option<&'v str>), Unresolved> {
        let bracketed = subject.starts_with('<') && subject.ends_with('>');
        if let Some(uri) = clean_uri(subject)
            && let Some(id) = self.vocab.id_of(uri)
        {
            return Ok((id, Via::Uri, None));
        }
        if bracketed {
            return Err(Unresolved::Unknown);
        }
        if let Some(&id) = self.by_notation.get(subject) {
            return Ok((id, Via::Notation, None));
        }
        let Some(matches) = self.by_label.get(&subject.to_lowercase()) else { return Err(Unresolved::Unknown) };
        let narrow = |keep: &dyn Fn(&LabelMatch<'v>) -> bool| {
            let mut found: Vec<&LabelMatch<'v>> = matches.iter().filter(|m| keep(m)).collect();
            found.sort_unstable_by_key(|m| m.0);
            found.dedup_by_key(|m| m.0);
            found
        };
        let candidates = [
            narrow(&|m| m.1 == LabelKind::Pref && m.2 == subject),
            narrow(&|m| m.1 == LabelKind::Pref),
            narrow(&|m| m.2 == subject),
            narrow(&|_| true),
        ];
        for found in &candidates {
            if let [m] = found[..] {
                return Ok((m.0, Via::Label, Some(m.3)));
            }
            if found.len() > 1 {
                return Err(Unresolved::Ambiguous(found.iter().map(|m| m.0).collect()));
            }
        }
        Err(Unresolved::Unknown)
    }

    /// Follow `isReplacedBy` from a deprecated concept while it has exactly one replacement.
    fn replacement(&self, named: ConceptId, via: Via, language: Option<&'v str>) -> Resolved<'v> {
        let mut id = named;
        for _ in 0..MAX_REPLACEMENTS {
            match self.vocab.get(id) {
                Some(c) if c.deprecated && c.replaced_by.len() == 1 => id = c.replaced_by[0],
                _ => break,
            }
        }
        Resolved { concept: id, replaced: (id != named).then_some(named), via, language }
    }
}

/// Counts of how a corpus's subjects resolved, for the report a training run prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectReport {
    /// Subjects resolved, by how.
    pub by_uri: usize,
    /// Resolved by notation.
    pub by_notation: usize,
    /// Resolved by a label.
    pub by_label: usize,
    /// Of those, subjects that named a deprecated concept and were mapped to its replacement.
    pub replaced: usize,
    /// Subjects that name a deprecated concept without a single replacement (kept as they are).
    pub deprecated_kept: usize,
    /// Subjects resolved by a label, per language of the label.
    pub label_languages: BTreeMap<String, usize>,
    /// Subjects that named no concept, with how often each occurred.
    pub unknown: BTreeMap<String, usize>,
    /// Subjects whose label fits several concepts, with how often each occurred.
    pub ambiguous: BTreeMap<String, usize>,
}

impl SubjectReport {
    /// Count one subject's resolution.
    pub fn record(&mut self, vocab: &Vocabulary, subject: &str, r: &Result<Resolved<'_>, Unresolved>) {
        match r {
            Ok(res) => {
                match res.via {
                    Via::Uri => self.by_uri += 1,
                    Via::Notation => self.by_notation += 1,
                    Via::Label => self.by_label += 1,
                }
                if let Some(l) = res.language {
                    *self.label_languages.entry(l.to_owned()).or_default() += 1;
                }
                self.replaced += usize::from(res.replaced.is_some());
                self.deprecated_kept += usize::from(vocab.get(res.concept).is_some_and(|c| c.deprecated));
            }
            Err(Unresolved::Unknown) => *self.unknown.entry(subject.trim().to_owned()).or_default() += 1,
            Err(Unresolved::Ambiguous(_)) => *self.ambiguous.entry(subject.trim().to_owned()).or_default() += 1,
        }
    }

    /// Subjects resolved.
    pub fn resolved(&self) -> usize {
        self.by_uri + self.by_notation + self.by_label
    }

    /// The language most subjects given as labels were written in, if any were.
    pub fn main_label_language(&self) -> Option<&str> {
        self.label_languages.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(l, _)| l.as_str())
    }

    /// Subject occurrences that named no single concept.
    pub fn unresolved(&self) -> usize {
        self.unknown.values().sum::<usize>() + self.ambiguous.values().sum::<usize>()
    }
}
