//! A deterministic generator of labelled corpora in the users' format: test fixtures when `../shared/data` is
//! absent, and UN-like corpora of any size for benchmarks.
//!
//! Words follow a Zipf distribution over a vocabulary of CJK-like words (or Latin-like ones); label frequencies
//! follow a power law; each label owns a set of signature words (drawn from one shared mid-frequency range, so
//! labels share words) that documents carrying it use more often, so the task is learnable; how strongly each of
//! a document's labels shows varies (exponential weights), so minor labels are hard to spot. Documents are produced one at a time (an iterator), so a corpus of any size can be
//! streamed to disk.

use crate::Document;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of documents.
    pub docs: usize,
    /// Size of the label set.
    pub labels: usize,
    /// Mean labels per document (at least one each).
    pub labels_per_doc: f64,
    /// Mean tokens per document.
    pub tokens_per_doc: usize,
    /// Vocabulary size.
    pub vocabulary: usize,
    /// Zipf exponent of word frequencies.
    pub zipf: f64,
    /// Power-law exponent of label frequencies.
    pub label_skew: f64,
    /// Signature words per label.
    pub signature_words: usize,
    /// Share of a document's tokens drawn from its labels' signature words.
    pub signal: f64,
    /// CJK-like words (true) or Latin-like words (false).
    pub han: bool,
    /// Join words with spaces (pre-segmented) or not (unsegmented; Han only).
    pub segmented: bool,
    /// Seed.
    pub seed: u64,
}

impl Default for SynthConfig {
    /// UN-like defaults: 2,000 labels, ~13 labels and ~700 tokens per document.
    fn default() -> Self {
        Self {
            docs: 1000,
            labels: 2000,
            labels_per_doc: 13.0,
            tokens_per_doc: 700,
            vocabulary: 50_000,
            zipf: 1.07,
            label_skew: 1.0,
            signature_words: 30,
            signal: 0.12,
            han: true,
            segmented: true,
            seed: 1,
        }
    }
}

/// xorshift64*: small and fixed, so a seed names the same corpus forever.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Sample from cumulative weights by binary search.
fn pick(cum: &[f64], u: f64) -> usize {
    let x = u * cum.last().copied().unwrap_or(0.0);
    cum.partition_point(|&c| c <= x).min(cum.len().saturating_sub(1))
}

fn cumulative(n: usize, exponent: f64) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|r| {
            acc += 1.0 / ((r + 1) as f64).powf(exponent);
            acc
        })
        .collect()
}

/// The streaming generator; see [`SynthConfig`].
#[derive(Debug, Clone)]
pub struct Synth {
    cfg: SynthConfig,
    words: Vec<String>,
    word_cum: Vec<f64>,
    label_cum: Vec<f64>,
    signatures: Vec<Vec<u32>>,
    rng: XorShift,
    next_doc: usize,
}

fn make_word(i: usize, han: bool, rng: &mut XorShift) -> String {
    let len = if han { 1 + (rng.next() % 3) as usize } else { 3 + (rng.next() % 6) as usize };
    let mut w: String = (0..len)
        .map(|_| {
            if han {
                char::from_u32(0x4E00 + (rng.next() % 0x5000) as u32).unwrap_or('中')
            } else {
                (b'a' + (rng.next() % 26) as u8) as char
            }
        })
        .collect();
    // Suffix-free uniqueness: append the index in the word's own alphabet when needed.
    if !han {
        w.push_str(&format!("{i:x}").replace(|c: char| c.is_ascii_digit(), "q"));
    }
    w
}

impl Synth {
    /// A generator for this configuration.
    pub fn new(cfg: SynthConfig) -> Self {
        let mut rng = XorShift(cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(cfg.vocabulary);
        while words.len() < cfg.vocabulary.max(1) {
            let w = make_word(words.len(), cfg.han, &mut rng);
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let v = words.len();
        // Signature words come from the middle of the frequency range: frequent enough to be seen, rare enough
        // to be informative.
        let signatures = (0..cfg.labels.max(1))
            .map(|_| {
                (0..cfg.signature_words.max(1))
                    .map(|_| (v / 50 + (rng.next() as usize % (v / 2).max(1))) as u32)
                    .collect()
            })
            .collect();
        Self {
            word_cum: cumulative(v, cfg.zipf),
            label_cum: cumulative(cfg.labels.max(1), cfg.label_skew),
            words,
            signatures,
            rng,
            next_doc: 0,
            cfg,
        }
    }

    /// The label name of label `i`: `SUBJECT 0042`-style (with a space, as UNBIS descriptors have).
    pub fn label_name(i: usize) -> String {
        format!("SUBJECT {i:04}")
    }
}

impl Iterator for Synth {
    type Item = Document;

    fn next(&mut self) -> Option<Document> {
        if self.next_doc >= self.cfg.docs {
            return None;
        }
        let d = self.next_doc;
        self.next_doc += 1;
        let rng = &mut self.rng;
        // Labels: 1 + a binomial-like count around the mean.
        let extra = (self.cfg.labels_per_doc - 1.0).max(0.0);
        let n_labels = 1 + (0..(2.0 * extra).ceil() as usize).filter(|_| rng.unit() < 0.5).count();
        let mut labels: Vec<usize> = Vec::with_capacity(n_labels);
        for _ in 0..n_labels * 4 {
            if labels.len() == n_labels {
                break;
            }
            let l = pick(&self.label_cum, rng.unit());
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        // How strongly each label shows in this document: exponential weights, so some labels of a document are
        // barely mentioned (as minor subjects of real documents are).
        let mut strength: Vec<f64> = Vec::with_capacity(labels.len());
        let mut acc = 0.0;
        for _ in &labels {
            acc += -(1.0 - rng.unit()).ln();
            strength.push(acc);
        }
        let n_tokens = (self.cfg.tokens_per_doc as f64 * (0.5 + rng.unit())).round().max(1.0) as usize;
        let sep = if self.cfg.segmented || !self.cfg.han { " " } else { "" };
        let mut text = String::with_capacity(n_tokens * 8);
        for t in 0..n_tokens {
            let w = if rng.unit() < self.cfg.signal {
                let sig = &self.signatures[labels[pick(&strength, rng.unit())]];
                sig[(rng.next() as usize) % sig.len()] as usize
            } else {
                pick(&self.word_cum, rng.unit())
            };
            if t > 0 {
                text.push_str(sep);
            }
            text.push_str(&self.words[w]);
        }
        labels.sort_unstable();
        Some(Document {
            id: format!("{d:07}.txt"),
            labels: Some(labels.into_iter().map(Synth::label_name).collect()),
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped_as_configured() {
        let cfg = SynthConfig {
            docs: 200,
            labels: 50,
            labels_per_doc: 4.0,
            tokens_per_doc: 100,
            vocabulary: 2000,
            ..SynthConfig::default()
        };
        let a: Vec<Document> = Synth::new(cfg.clone()).collect();
        let b: Vec<Document> = Synth::new(cfg).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 200);
        let mean_labels = a.iter().map(|d| d.labels.as_ref().map_or(0, Vec::len)).sum::<usize>() as f64 / 200.0;
        let mean_tokens = a.iter().map(|d| d.text.split(' ').count()).sum::<usize>() as f64 / 200.0;
        assert!((3.0..5.0).contains(&mean_labels), "{mean_labels}");
        assert!((80.0..120.0).contains(&mean_tokens), "{mean_tokens}");
        assert!(a.iter().all(|d| d.labels.as_ref().is_some_and(|l| !l.is_empty())));
    }
}
