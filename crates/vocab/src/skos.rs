//! SKOS in Turtle or N-Triples, parsed by `oxttl`. Only the statements tagger uses are read; everything else
//! (scope notes, mappings to other vocabularies, schemes) is skipped.

use crate::build::{Fact, VocabFormat};
use crate::{Label, LabelKind, VocabError};
use oxrdf::{Subject, Term, Triple};
use oxttl::TurtleParseError;
use std::path::Path;

const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const OWL_DEPRECATED: &str = "http://www.w3.org/2002/07/owl#deprecated";
const DCT_IS_REPLACED_BY: &str = "http://purl.org/dc/terms/isReplacedBy";

pub(crate) fn read(
    path: &Path,
    format: VocabFormat,
    reader: impl std::io::Read,
    emit: &mut dyn FnMut(&str, Fact),
) -> Result<(), VocabError> {
    let triples: Box<dyn Iterator<Item = Result<Triple, TurtleParseError>>> = match format {
        VocabFormat::NTriples => Box::new(oxttl::NTriplesParser::new().for_reader(reader)),
        _ => Box::new(oxttl::TurtleParser::new().for_reader(reader)),
    };
    for t in triples {
        let t = t.map_err(|e| match e {
            TurtleParseError::Io(error) => VocabError::Io { path: path.to_owned(), error },
            TurtleParseError::Syntax(e) => {
                let at = e.location().start;
                let line = usize::try_from(at.line).unwrap_or(usize::MAX).saturating_add(1);
                VocabError::format(path, line, format!("column {}: {}", at.column + 1, e.message()))
            }
        })?;
        statement(path, t, emit)?;
    }
    Ok(())
}

fn statement(path: &Path, t: Triple, emit: &mut dyn FnMut(&str, Fact)) -> Result<(), VocabError> {
    // Blank nodes and quoted triples cannot be concepts that a document is indexed with.
    let Subject::NamedNode(subject) = &t.subject else { return Ok(()) };
    let uri = subject.as_str();
    let predicate = t.predicate.as_str();
    let bad = |what: &str| VocabError::Content {
        path: path.to_owned(),
        message: format!("<{uri}> <{predicate}>: {what}, found {}", t.object),
    };
    // YKL writes some links as the string "<URI>"; the intent is plain, so that form is read as the IRI.
    let iri = || match &t.object {
        Term::NamedNode(n) => Ok(n.as_str().to_owned()),
        Term::Literal(l) if l.value().trim().starts_with('<') => {
            crate::tsv::clean_uri(l.value()).map(str::to_owned).ok_or_else(|| bad("expected a concept IRI"))
        }
        _ => Err(bad("expected a concept IRI")),
    };
    if predicate == RDF_TYPE {
        if matches!(&t.object, Term::NamedNode(n) if n.as_str() == "http://www.w3.org/2004/02/skos/core#Concept") {
            emit(uri, Fact::IsConcept);
        }
        return Ok(());
    }
    if predicate == OWL_DEPRECATED {
        let Term::Literal(l) = &t.object else { return Err(bad("expected a boolean literal")) };
        let value = match l.value().trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("expected true or false")),
        };
        emit(uri, Fact::Deprecated(value));
        return Ok(());
    }
    if predicate == DCT_IS_REPLACED_BY {
        emit(uri, Fact::ReplacedBy(iri()?));
        return Ok(());
    }
    let Some(local) = predicate.strip_prefix(SKOS) else { return Ok(()) };
    let kind = match local {
        "prefLabel" => LabelKind::Pref,
        "altLabel" => LabelKind::Alt,
        "hiddenLabel" => LabelKind::Hidden,
        "notation" => {
            let Term::Literal(l) = &t.object else { return Err(bad("expected a literal")) };
            let n = l.value().trim();
            if !n.is_empty() {
                emit(uri, Fact::Notation(n.to_owned()));
            }
            return Ok(());
        }
        "broader" => {
            emit(uri, Fact::Broader(iri()?));
            return Ok(());
        }
        "narrower" => {
            emit(uri, Fact::Narrower(iri()?));
            return Ok(());
        }
        "related" => {
            emit(uri, Fact::Related(iri()?));
            return Ok(());
        }
        _ => return Ok(()),
    };
    let Term::Literal(l) = &t.object else { return Err(bad("expected a literal label")) };
    let text = l.value().trim();
    if text.is_empty() {
        return Err(bad("empty label"));
    }
    let language = l.language().unwrap_or_default().to_ascii_lowercase();
    emit(uri, Fact::Label(Label { language, kind, text: text.to_owned() }));
    Ok(())
}
