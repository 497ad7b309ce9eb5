//! A model trained with a vocabulary: its labels are concept URIs, and answers name concepts in the language a
//! caller asks for.

use crate::ModelError;
use crate::tagger::TaggerModel;
use tagger_vocab::{Concept, ConceptId, Resolver, SubjectReport, Vocabulary};

/// The vocabulary a model answers with, and the language it answers in by default.
#[derive(Debug, Clone)]
pub(crate) struct ModelConcepts {
    pub(crate) vocab: Vocabulary,
    pub(crate) language: String,
    /// For each label id, its concept.
    pub(crate) of_label: Vec<ConceptId>,
    /// The label id of each concept that has one.
    pub(crate) label_of_concept: rustc_hash::FxHashMap<ConceptId, u32>,
}

impl ModelConcepts {
    pub(crate) fn new(vocab: Vocabulary, language: String, labels: &[String]) -> Result<ModelConcepts, ModelError> {
        let of_label = labels
            .iter()
            .map(|uri| {
                vocab.id_of(uri).ok_or_else(|| {
                    ModelError::InvalidData(format!("label {uri:?} is not the URI of a concept of the vocabulary"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let label_of_concept = of_label.iter().enumerate().map(|(l, &c)| (c, l as u32)).collect();
        Ok(ModelConcepts { vocab, language, of_label, label_of_concept })
    }
}

impl TaggerModel {
    /// Attach the vocabulary the model's labels come from: every label must be a concept URI (train on subjects
    /// resolved with [`resolve_subjects`](crate::resolve_subjects)). `language` is the language answers use by default.
    pub fn with_vocabulary(mut self, vocab: Vocabulary, language: &str) -> Result<TaggerModel, ModelError> {
        self.concepts = Some(ModelConcepts::new(vocab, language.to_ascii_lowercase(), &self.labels)?);
        Ok(self)
    }

    /// The vocabulary the model answers with, if it was trained with one.
    pub fn vocabulary(&self) -> Option<&Vocabulary> {
        self.concepts.as_ref().map(|c| &c.vocab)
    }

    /// The language answers use when the caller asks for none (the model's language), if it has a vocabulary.
    pub fn language(&self) -> Option<&str> {
        self.concepts.as_ref().map(|c| c.language.as_str())
    }

    /// The concept of tag `id`, if the model has a vocabulary: a label's concept, or for ids from
    /// `labels().len()` on (concepts the lexical backend found that no training document had), the concept
    /// `id - labels().len()`.
    pub fn concept(&self, id: u32) -> Option<&Concept> {
        let c = self.concepts.as_ref()?;
        match c.of_label.get(id as usize) {
            Some(&concept) => c.vocab.get(concept),
            None => c.vocab.get(id.checked_sub(self.labels.len() as u32)?),
        }
    }

    /// The name of tag `id` as training knew it: the label (a concept URI for vocabulary models), or the URI of
    /// a concept only the lexical backend proposes. Empty for an unknown id.
    pub fn tag_name(&self, id: u32) -> &str {
        match self.labels.get(id as usize) {
            Some(l) => l,
            None => self.concept(id).map_or("", |c| c.uri.as_str()),
        }
    }

    /// The tag id of a name as [`TaggerModel::tag_name`] gives it, if the model knows it.
    pub fn tag_id(&self, name: &str) -> Option<u32> {
        if let Some(l) = self.labels.iter().position(|l| l == name) {
            return Some(l as u32);
        }
        let c = self.concepts.as_ref()?;
        Some(self.labels.len() as u32 + c.vocab.id_of(name)?)
    }

    /// The name to show for label `id`: with a vocabulary, the concept's preferred label in `language` (empty:
    /// the model's language), falling back to the model's language and then to any label of the concept;
    /// without one, the label as it was in the training corpus.
    pub fn display_label(&self, id: u32, language: &str) -> &str {
        match (self.concept(id), &self.concepts) {
            (Some(concept), Some(c)) => {
                let asked = if language.is_empty() { c.language.as_str() } else { language };
                concept.display_label(&[asked, c.language.as_str()])
            }
            _ => self.tag_name(id),
        }
    }
}

/// Map subjects as a corpus gives them to label names of a model trained with a vocabulary: a URI (`<URI>` or
/// bare), notation or label of any language becomes the concept's URI (a deprecated concept its replacement),
/// each once, in order; subjects that name no concept are dropped and counted in `report`.
pub fn resolve_subjects(resolver: &Resolver<'_>, subjects: &[String], report: &mut SubjectReport) -> Vec<String> {
    let vocab = resolver.vocabulary();
    let mut out: Vec<String> = Vec::with_capacity(subjects.len());
    for s in subjects {
        let r = resolver.resolve(s);
        report.record(vocab, s, &r);
        if let Ok(r) = r
            && let Some(c) = vocab.get(r.concept)
            && !out.contains(&c.uri)
        {
            out.push(c.uri.clone());
        }
    }
    out
}
