//! The label index: every label of the chosen languages, tokenized by the document pipeline (so stems meet
//! stems), as a set of token ids; and matching of those sets against the sentences of a text.
//!
//! A label matches a sentence when all its tokens occur in the sentence, in any order (as Annif's MLLM and Maui
//! match). This is set containment over stems, not substring search, which is why the index is keyed by each
//! label's rarest token instead of an Aho-Corasick automaton over label strings: an automaton finds contiguous
//! strings, and neither word order nor inflection is contiguous.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tagger_tokenize::{Tokenizer, TokenizerConfig};
use tagger_vocab::{ConceptId, LabelKind, Vocabulary};

/// One indexed label as stored in a model: the index is rebuilt from these on load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedLabel {
    /// The concept.
    pub concept: ConceptId,
    /// Whether it is a preferred label.
    pub pref: bool,
    /// The label text as the vocabulary gives it.
    pub text: String,
}

/// A distinct token set of one concept.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub concept: ConceptId,
    /// Sorted, distinct token ids.
    pub tokens: Box<[u32]>,
    pub pref: bool,
    /// How many concepts have a label with exactly these tokens (1 = unambiguous).
    pub ambiguity: u32,
}

/// The label index of a vocabulary.
#[derive(Debug, Clone)]
pub struct LabelIndex {
    tokenizer: Tokenizer,
    labels: Vec<IndexedLabel>,
    dictionary: FxHashMap<String, u32>,
    pub(crate) terms: Vec<Term>,
    /// Terms by their rarest token (fewest labels use it), so each sentence token looks at few terms: the terms
    /// keyed by token `k` are written one after another in `key_terms[key_start[k]..key_start[k + 1]]`, each as
    /// its index, concept, token count (with [`PREF`] for a preferred label) and tokens. Matching reads
    /// nothing else, so a sentence token's terms are one place in memory, not a cache miss for each term and
    /// each token list.
    key_start: Vec<u32>,
    key_terms: Vec<u32>,
}

/// The bit of a `key_terms` token count that marks a preferred label.
const PREF: u32 = 1 << 31;

/// One term as `key_terms` holds it.
#[derive(Debug, Clone, Copy)]
struct Keyed<'a> {
    term: u32,
    concept: ConceptId,
    pref: bool,
    /// Sorted, distinct token ids.
    tokens: &'a [u32],
}

impl Keyed<'_> {
    /// Longest label first, then preferred, then the lower term number (deterministic).
    fn rank(&self) -> (usize, bool, std::cmp::Reverse<u32>) {
        (self.tokens.len(), self.pref, std::cmp::Reverse(self.term))
    }
}

/// One concept matched in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentenceMatch {
    /// The matching term (index into the index's terms).
    pub(crate) term: u32,
    /// Sentence number, from 0.
    pub sentence: u32,
    /// Whether a longer label of another concept, matched in the same sentence, contains all its tokens
    /// (`library` inside `public library`).
    pub subsumed: bool,
    /// Byte spans in the original text of the tokens that matched (the first occurrence in the sentence of each).
    pub spans: Vec<(usize, usize)>,
}

/// What matching found in a text.
#[derive(Debug, Clone, Default)]
pub struct TextMatches {
    /// Sentences in the text (at least 1 when the text has a token).
    pub sentences: u32,
    /// Tokens in the text.
    pub tokens: u32,
    /// Matches in sentence order.
    pub matches: Vec<SentenceMatch>,
}

/// Label matching over a stream of tokens (see [`LabelIndex::matcher`]).
#[derive(Debug)]
pub struct Matcher<'a> {
    index: &'a LabelIndex,
    text: &'a str,
    out: TextMatches,
    /// (token id, start, end) of the current sentence's known tokens.
    sentence: Vec<(u32, usize, usize)>,
    scratch: Scratch,
    last_end: usize,
    any: bool,
}

impl Matcher<'_> {
    /// The next token of the text: its normalised form and byte span, as the tokenizer gives them, in order.
    pub fn token(&mut self, tok: &str, start: usize, end: usize) {
        let id = self.index.token_id(tok);
        self.token_id(id, start, end);
    }

    /// [`Matcher::token`] for a token whose id ([`LabelIndex::token_id`]) the caller already knows: `None` for a
    /// token no label has.
    pub fn token_id(&mut self, id: Option<u32>, start: usize, end: usize) {
        if self.any && self.text.get(self.last_end..start).is_some_and(|gap| gap.chars().any(ends_sentence)) {
            self.index.match_sentence(&self.sentence, self.out.sentences, &mut self.out.matches, &mut self.scratch);
            self.sentence.clear();
            self.out.sentences += 1;
        }
        self.any = true;
        self.last_end = end;
        self.out.tokens += 1;
        if let Some(id) = id {
            self.sentence.push((id, start, end));
        }
    }

    /// What the tokens matched.
    pub fn finish(mut self) -> TextMatches {
        if self.any {
            self.index.match_sentence(&self.sentence, self.out.sentences, &mut self.out.matches, &mut self.scratch);
            self.out.sentences += 1;
        }
        self.out
    }
}

/// Buffers reused from sentence to sentence.
#[derive(Debug, Default)]
struct Scratch {
    /// The sentence's distinct token ids, sorted.
    present: Vec<u32>,
    best: FxHashMap<ConceptId, u32>,
}

/// Characters that end a sentence when they stand between two tokens.
fn ends_sentence(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '\n' | '。' | '！' | '？' | '；')
}

/// Drop a trailing parenthesised qualifier (`kuusi (puu)` → `kuusi`), if what remains is not empty.
fn without_qualifier(label: &str) -> Option<&str> {
    let t = label.trim_end();
    if !t.ends_with(')') {
        return None;
    }
    let open = t.rfind('(')?;
    let head = t[..open].trim_end();
    (!head.is_empty()).then_some(head)
}

impl LabelIndex {
    /// Index the labels of `vocab` in `languages` (BCP 47 tags; a label `en-gb` counts as `en`), of every
    /// non-deprecated concept, tokenized by `tokenizer`. Hidden labels are included when `hidden` is set. A
    /// label with a parenthesised qualifier is indexed both whole and without the qualifier.
    pub fn build(
        vocab: &Vocabulary,
        languages: &[String],
        hidden: bool,
        tokenizer: TokenizerConfig,
    ) -> Result<LabelIndex, tagger_tokenize::TokenizeError> {
        let wanted = |l: &str| {
            let primary = l.split(['-', '_']).next().unwrap_or(l);
            languages.iter().any(|w| w.eq_ignore_ascii_case(l) || w.eq_ignore_ascii_case(primary))
        };
        let mut labels = Vec::new();
        for (id, c) in vocab.concepts().iter().enumerate() {
            if c.deprecated {
                continue;
            }
            for l in &c.labels {
                if wanted(&l.language) && (hidden || l.kind != LabelKind::Hidden) {
                    labels.push(IndexedLabel {
                        concept: id as ConceptId,
                        pref: l.kind == LabelKind::Pref,
                        text: l.text.clone(),
                    });
                }
            }
        }
        Self::from_labels(labels, tokenizer)
    }

    /// Rebuild an index from stored labels.
    pub fn from_labels(
        labels: Vec<IndexedLabel>,
        tokenizer: TokenizerConfig,
    ) -> Result<LabelIndex, tagger_tokenize::TokenizeError> {
        let tokenizer = Tokenizer::new(tokenizer)?;
        let mut dictionary: FxHashMap<String, u32> = FxHashMap::default();
        // (concept, tokens) → pref, over both forms of each label.
        let mut sets: FxHashMap<(ConceptId, Box<[u32]>), bool> = FxHashMap::default();
        for l in &labels {
            for text in std::iter::once(l.text.as_str()).chain(without_qualifier(&l.text)) {
                let mut ids: Vec<u32> = Vec::new();
                tokenizer.for_each_token(text, |t, _, _| {
                    let next = dictionary.len() as u32;
                    ids.push(*dictionary.entry(t.to_owned()).or_insert(next));
                });
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    continue;
                }
                let pref = sets.entry((l.concept, ids.into_boxed_slice())).or_insert(false);
                *pref |= l.pref;
            }
        }
        let mut concepts_of_set: FxHashMap<&[u32], u32> = FxHashMap::default();
        for (_, tokens) in sets.keys() {
            *concepts_of_set.entry(tokens).or_insert(0) += 1;
        }
        let mut terms: Vec<Term> = sets
            .iter()
            .map(|((concept, tokens), pref)| Term {
                concept: *concept,
                tokens: tokens.clone(),
                pref: *pref,
                ambiguity: concepts_of_set[&tokens[..]],
            })
            .collect();
        // A deterministic order whatever the hash map's.
        terms.sort_unstable_by(|a, b| a.concept.cmp(&b.concept).then_with(|| a.tokens.cmp(&b.tokens)));
        let mut token_use = vec![0u32; dictionary.len()];
        for t in &terms {
            for &k in t.tokens.iter() {
                token_use[k as usize] += 1;
            }
        }
        // (key, term) in key order, terms increasing within a key.
        let mut keyed: Vec<(u32, u32)> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.tokens.iter().copied().min_by_key(|&k| (token_use[k as usize], k)).unwrap_or(0), i as u32))
            .collect();
        keyed.sort_unstable();
        let mut key_start = vec![0u32; dictionary.len() + 1];
        let mut key_terms = Vec::with_capacity(keyed.len() * 5);
        for &(k, ti) in &keyed {
            let t = &terms[ti as usize];
            // A label has far fewer than 2^31 tokens, and the index far fewer than 2^32 of them in all.
            key_start[k as usize + 1] += 3 + t.tokens.len() as u32;
            key_terms.extend([ti, t.concept, t.tokens.len() as u32 | if t.pref { PREF } else { 0 }]);
            key_terms.extend_from_slice(&t.tokens);
        }
        for k in 1..key_start.len() {
            key_start[k] += key_start[k - 1];
        }
        Ok(LabelIndex { tokenizer, labels, dictionary, terms, key_start, key_terms })
    }

    /// The labels the index was built from.
    pub fn labels(&self) -> &[IndexedLabel] {
        &self.labels
    }

    /// The tokenizer labels and texts go through.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The id of a token in the labels' dictionary (`None` when no label has it), for [`Matcher::token_id`].
    #[inline]
    pub fn token_id(&self, tok: &str) -> Option<u32> {
        self.dictionary.get(tok).copied()
    }

    /// Distinct (concept, token set) pairs indexed.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether no label could be indexed.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The concept a match is for.
    pub fn concept_of(&self, m: &SentenceMatch) -> ConceptId {
        self.terms[m.term as usize].concept
    }

    /// Find every indexed label in `text`: per sentence, each concept at most once (by its longest matching
    /// label, preferred labels first among equals).
    pub fn find(&self, text: &str) -> TextMatches {
        let mut m = self.matcher(text);
        self.tokenizer.for_each_token(text, |tok, start, end| m.token(tok, start, end));
        m.finish()
    }

    /// A matcher fed the tokens of `text` one by one, for a caller that tokenizes `text` anyway with this
    /// index's tokenizer configuration (the tagger's vectorizer): [`LabelIndex::find`] without tokenizing twice.
    pub fn matcher<'a>(&'a self, text: &'a str) -> Matcher<'a> {
        Matcher {
            index: self,
            text,
            out: TextMatches::default(),
            sentence: Vec::new(),
            scratch: Scratch::default(),
            last_end: 0,
            any: false,
        }
    }

    /// The term written at `at` in `key_terms`, and where the next one starts (`None` past the end).
    fn keyed_at(&self, at: usize) -> Option<(Keyed<'_>, usize)> {
        let &[term, concept, count] = self.key_terms.get(at..at + 3)? else { return None };
        let end = at + 3 + (count & !PREF) as usize;
        let tokens = self.key_terms.get(at + 3..end)?;
        Some((Keyed { term, concept, pref: count & PREF != 0, tokens }, end))
    }

    fn match_sentence(
        &self,
        sentence: &[(u32, usize, usize)],
        number: u32,
        out: &mut Vec<SentenceMatch>,
        scratch: &mut Scratch,
    ) {
        if sentence.is_empty() {
            return;
        }
        let Scratch { present, best } = scratch;
        present.clear();
        present.extend(sentence.iter().map(|t| t.0));
        present.sort_unstable();
        present.dedup();
        // Best term per concept in this sentence, by its place in `key_terms`.
        best.clear();
        for &id in present.iter() {
            let (Some(&from), Some(&to)) = (self.key_start.get(id as usize), self.key_start.get(id as usize + 1))
            else {
                continue;
            };
            let mut at = from as usize;
            while at < to as usize {
                let Some((t, next)) = self.keyed_at(at) else { break };
                let here = at as u32;
                at = next;
                if !t.tokens.iter().all(|k| present.binary_search(k).is_ok()) {
                    continue;
                }
                best.entry(t.concept)
                    .and_modify(|b| {
                        if self.keyed_at(*b as usize).is_none_or(|(other, _)| t.rank() > other.rank()) {
                            *b = here;
                        }
                    })
                    .or_insert(here);
            }
        }
        let mut found: Vec<Keyed<'_>> =
            best.values().filter_map(|&at| self.keyed_at(at as usize)).map(|(t, _)| t).collect();
        found.sort_unstable_by_key(|t| t.concept);
        for term in &found {
            let subsumed = found.iter().any(|o| {
                o.concept != term.concept
                    && o.tokens.len() > term.tokens.len()
                    && term.tokens.iter().all(|k| o.tokens.binary_search(k).is_ok())
            });
            let mut spans = term
                .tokens
                .iter()
                .filter_map(|k| sentence.iter().find(|t| t.0 == *k).map(|t| (t.1, t.2)))
                .collect::<Vec<_>>();
            spans.sort_unstable();
            out.push(SentenceMatch { term: term.term, sentence: number, subsumed, spans });
        }
    }
}
