//! The figures the report plots, as pure functions of the evaluated documents.

use crate::EvalDoc;
use std::collections::{HashMap, HashSet};

/// Micro precision, recall and F1 if every ranked label scoring at least `threshold` were chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdPoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Labels chosen at this threshold.
    pub chosen: usize,
}

/// The precision/recall curve of one global threshold on the ranked scores, at thresholds 0, 0.01, …, 1.
/// Recall counts every gold label, also those outside the ranking (which no threshold can reach). Thresholds at
/// which nothing is chosen have precision 0.
pub fn threshold_curve(docs: &[EvalDoc]) -> Vec<ThresholdPoint> {
    let gold_total: usize = docs.iter().map(|d| distinct(&d.gold).len()).sum();
    // Every ranked (score, is it gold) once.
    let mut scored: Vec<(f32, bool)> = Vec::new();
    for d in docs {
        let gold = distinct(&d.gold);
        let mut seen = HashSet::new();
        for (label, score) in &d.ranked {
            if seen.insert(label.as_str()) {
                scored.push((*score, gold.contains(label.as_str())));
            }
        }
    }
    (0..=100)
        .map(|i| {
            let threshold = f64::from(i) / 100.0;
            let (mut chosen, mut hits) = (0usize, 0usize);
            for &(s, g) in &scored {
                if f64::from(s) >= threshold {
                    chosen += 1;
                    hits += usize::from(g);
                }
            }
            let precision = ratio(hits, chosen);
            let recall = ratio(hits, gold_total);
            ThresholdPoint { threshold, precision, recall, f1: f1(precision, recall), chosen }
        })
        .collect()
}

/// One bin of the reliability diagram: ranked labels whose score fell in `[lo, hi)` (the last bin includes 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean score of the labels in the bin.
    pub mean_score: f64,
    /// Share of them that are gold labels of their document.
    pub hit_rate: f64,
}

/// Reliability of the scores as probabilities: ranked labels in `bins` equal-width score bins, each with its
/// mean score and the share that were right. Calibrated scores lie on the diagonal.
pub fn reliability(docs: &[EvalDoc], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sum = vec![0.0f64; bins];
    let mut count = vec![0usize; bins];
    let mut hits = vec![0usize; bins];
    for d in docs {
        let gold = distinct(&d.gold);
        let mut seen = HashSet::new();
        for (label, score) in &d.ranked {
            if !seen.insert(label.as_str()) || !score.is_finite() {
                continue;
            }
            let s = f64::from(score.clamp(0.0, 1.0));
            let b = ((s * bins as f64) as usize).min(bins - 1);
            sum[b] += s;
            count[b] += 1;
            hits[b] += usize::from(gold.contains(label.as_str()));
        }
    }
    (0..bins)
        .map(|b| ReliabilityBin {
            lo: b as f64 / bins as f64,
            hi: (b + 1) as f64 / bins as f64,
            count: count[b],
            mean_score: if count[b] > 0 { sum[b] / count[b] as f64 } else { 0.0 },
            hit_rate: ratio(hits[b], count[b]),
        })
        .collect()
}

/// Expected calibration error: the count-weighted mean gap between a bin's mean score and its hit rate.
pub fn calibration_error(bins: &[ReliabilityBin]) -> f64 {
    let total: usize = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    bins.iter().map(|b| b.count as f64 * (b.mean_score - b.hit_rate).abs()).sum::<f64>() / total as f64
}

/// P@k and nDCG@k of the ranking for k = 1..=`k_max`, averaged over the documents that have gold labels
/// (binary relevance; P@k divides by k).
pub fn ranking_at(docs: &[EvalDoc], k_max: usize) -> Vec<(usize, f64, f64)> {
    let judged: Vec<&EvalDoc> = docs.iter().filter(|d| !d.gold.is_empty()).collect();
    (1..=k_max)
        .map(|k| {
            if judged.is_empty() {
                return (k, 0.0, 0.0);
            }
            let (mut p, mut ndcg) = (0.0, 0.0);
            for d in &judged {
                let gold = distinct(&d.gold);
                let mut seen = HashSet::new();
                let hits: Vec<bool> = d
                    .ranked
                    .iter()
                    .filter(|(l, _)| seen.insert(l.as_str()))
                    .take(k)
                    .map(|(l, _)| gold.contains(l.as_str()))
                    .collect();
                p += hits.iter().filter(|&&h| h).count() as f64 / k as f64;
                let dcg: f64 = hits.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| discount(i)).sum();
                let idcg: f64 = (0..k.min(gold.len())).map(discount).sum();
                ndcg += if idcg > 0.0 { dcg / idcg } else { 0.0 };
            }
            let n = judged.len() as f64;
            (k, p / n, ndcg / n)
        })
        .collect()
}

/// Label pairs most often confused: within a document, a gold label the decision missed and a label it chose
/// wrongly; counted over documents, most frequent first (ties by name), at most `top`.
pub fn confusions(docs: &[EvalDoc], top: usize) -> Vec<(String, String, usize)> {
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for d in docs {
        let gold = distinct(&d.gold);
        let chosen = distinct(&d.selected);
        let mut missed: Vec<&str> = gold.difference(&chosen).copied().collect();
        let mut wrong: Vec<&str> = chosen.difference(&gold).copied().collect();
        missed.sort_unstable();
        wrong.sort_unstable();
        for &m in &missed {
            for &w in &wrong {
                *counts.entry((m, w)).or_insert(0) += 1;
            }
        }
    }
    let mut out: Vec<(String, String, usize)> =
        counts.into_iter().map(|((m, w), c)| (m.to_owned(), w.to_owned(), c)).collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)).then_with(|| a.1.cmp(&b.1)));
    out.truncate(top);
    out
}

fn distinct(labels: &[String]) -> HashSet<&str> {
    labels.iter().map(String::as_str).collect()
}

fn discount(rank: usize) -> f64 {
    1.0 / (rank as f64 + 2.0).log2()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(gold: &[&str], selected: &[&str], ranked: &[(&str, f32)]) -> EvalDoc {
        EvalDoc {
            gold: gold.iter().map(|s| (*s).to_owned()).collect(),
            selected: selected.iter().map(|s| (*s).to_owned()).collect(),
            ranked: ranked.iter().map(|(l, s)| ((*l).to_owned(), *s)).collect(),
        }
    }

    fn docs() -> Vec<EvalDoc> {
        vec![
            doc(&["a", "b"], &["a", "c"], &[("a", 0.9), ("c", 0.6), ("b", 0.3), ("d", 0.05)]),
            doc(&["c"], &["a"], &[("a", 0.7), ("c", 0.65), ("b", 0.1)]),
            doc(&[], &["d"], &[("d", 0.2)]),
        ]
    }

    #[test]
    fn threshold_curve_counts_every_gold_label() {
        let curve = threshold_curve(&docs());
        assert_eq!(curve.len(), 101);
        // At 0 every ranked label is chosen: 8 chosen, 3 of the 3 gold labels found.
        assert_eq!((curve[0].chosen, curve[0].precision, curve[0].recall), (8, 3.0 / 8.0, 1.0));
        // At 0.6: a (0.9) and c (0.6) of doc 0, a (0.7) and c (0.65) of doc 1; a is right in doc 0, c in doc 1.
        let at = curve[60];
        assert_eq!((at.chosen, at.precision, at.recall), (4, 0.5, 2.0 / 3.0));
        assert_eq!(curve[100].chosen, 0);
        assert_eq!(curve[100].precision, 0.0);
    }

    #[test]
    fn reliability_bins_scores_and_hit_rates() {
        let bins = reliability(&docs(), 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 8);
        // 0.6, 0.65 and 0.7 (0.69999… as an f32) share bin 6: c wrong in doc 0, c right and a wrong in doc 1.
        assert_eq!((bins[6].count, bins[6].hit_rate), (3, 1.0 / 3.0));
        assert!((bins[6].mean_score - 0.65).abs() < 1e-6);
        // 0.9 is 0.89999… as an f32: bin 8.
        assert_eq!((bins[8].count, bins[8].hit_rate), (1, 1.0));
        // A perfectly calibrated set has no error; this one has some.
        assert!(calibration_error(&bins) > 0.0);
        let perfect = vec![doc(&["a"], &["a"], &[("a", 1.0), ("b", 0.0)])];
        assert_eq!(calibration_error(&reliability(&perfect, 10)), 0.0);
    }

    #[test]
    fn ranking_figures_skip_documents_without_gold() {
        let r = ranking_at(&docs(), 3);
        // P@1: doc 0 right (a), doc 1 wrong (a) → 0.5; the third document has no gold labels.
        assert_eq!(r[0], (1, 0.5, 0.5));
        // P@2: doc 0 1/2, doc 1 1/2 (c second).
        assert_eq!(r[1].1, 0.5);
        // nDCG@3 of doc 0: hits at ranks 1 and 3 over ideal ranks 1 and 2.
        let d0 = (1.0 + 1.0 / 4f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        let d1 = (1.0 / 3f64.log2()) / 1.0;
        assert!((r[2].2 - (d0 + d1) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn confusions_pair_missed_gold_with_wrong_choices() {
        let c = confusions(&docs(), 10);
        // Doc 0 missed b and chose c wrongly; doc 1 missed c and chose a wrongly; doc 2 has no gold to miss.
        assert_eq!(c, vec![("b".into(), "c".into(), 1), ("c".into(), "a".into(), 1)]);
        let twice = [docs(), docs()].concat();
        assert_eq!(confusions(&twice, 1), vec![("b".into(), "c".into(), 2)]);
    }
}
