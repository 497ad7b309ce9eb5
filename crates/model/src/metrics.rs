//! Evaluation metrics for multi-label tagging, as pure functions.
//!
//! * micro P/R/F1 pool every (document, label) decision; macro P/R/F1 average per-label figures over the labels
//!   that occur in the gold tags of the evaluated set (a label predicted but never in the gold set does not
//!   enter the macro average; a gold label the model never saw counts as missed everywhere);
//! * P@k and nDCG@k are averaged over documents that have at least one gold label, with binary relevance;
//!   P@k divides by k even when fewer than k labels are ranked;
//! * [`AnnifMetrics`] are the ranking figures as Annif's `annif eval` computes them (its `eval.py`), so the two
//!   tools can be compared: every document counts (nDCG is 1 for a document without gold labels, the others
//!   0), P@k divides by the number of labels ranked within the first k, and F1@5 is the per-document F1 of the
//!   first five labels, averaged over documents.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Per-label figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelReport {
    /// Label name.
    pub label: String,
    /// Gold occurrences.
    pub support: usize,
    /// Times predicted.
    pub predicted: usize,
    /// Correct predictions.
    pub true_positives: usize,
    /// Precision (0 when never predicted).
    pub precision: f64,
    /// Recall (0 when never in gold).
    pub recall: f64,
    /// F1 (0 when both are 0).
    pub f1: f64,
}

/// Figures for a whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Documents evaluated.
    pub docs: usize,
    /// Distinct labels in the gold tags.
    pub labels: usize,
    /// Micro-averaged precision.
    pub micro_precision: f64,
    /// Micro-averaged recall.
    pub micro_recall: f64,
    /// Micro-averaged F1.
    pub micro_f1: f64,
    /// Macro-averaged precision over gold labels.
    pub macro_precision: f64,
    /// Macro-averaged recall over gold labels.
    pub macro_recall: f64,
    /// Macro-averaged F1 over gold labels.
    pub macro_f1: f64,
    /// Precision at 1, 3, 5 of the ranking.
    pub p_at_1: f64,
    /// Precision at 3.
    pub p_at_3: f64,
    /// Precision at 5.
    pub p_at_5: f64,
    /// nDCG at 1.
    pub ndcg_at_1: f64,
    /// nDCG at 3.
    pub ndcg_at_3: f64,
    /// nDCG at 5.
    pub ndcg_at_5: f64,
    /// Ranking figures as Annif computes them.
    #[serde(default)]
    pub annif: AnnifMetrics,
    /// Per-label figures, gold labels first (by support, then name), then labels only predicted.
    pub per_label: Vec<LabelReport>,
}

/// Ranking figures defined as in Annif's `annif eval` (see the module docs), averaged over all documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnnifMetrics {
    /// Per-document F1 of the first five ranked labels (Annif's "F1@5").
    pub f1_at_5: f64,
    /// Precision of the first ranked label ("Precision@1").
    pub p_at_1: f64,
    /// Precision of the first three ("Precision@3").
    pub p_at_3: f64,
    /// Precision of the first five ("Precision@5").
    pub p_at_5: f64,
    /// Recall of the first five (share of the document's gold labels among them; Annif has no such figure, it
    /// is defined the same way).
    pub r_at_5: f64,
    /// nDCG of the first five ("NDCG@5").
    pub ndcg_at_5: f64,
    /// nDCG of the first ten ("NDCG@10").
    pub ndcg_at_10: f64,
}

/// Ranking figures as Annif computes them, from gold labels and rankings (best first; up to 10 used).
pub fn annif_metrics<S: AsRef<str>>(gold: &[Vec<S>], ranked: &[Vec<S>]) -> AnnifMetrics {
    let mut m = AnnifMetrics::default();
    if gold.is_empty() {
        return m;
    }
    let empty: Vec<S> = Vec::new();
    for (d, g) in gold.iter().enumerate() {
        let r = ranked.get(d).unwrap_or(&empty);
        let mut seen: Vec<&str> = Vec::with_capacity(10);
        let hits: Vec<bool> = r
            .iter()
            .map(AsRef::as_ref)
            .filter(|l| {
                // A label ranked twice counts once, as in Annif's subject vectors.
                let new = !seen.contains(l);
                seen.push(l);
                new
            })
            .take(10)
            .map(|l| g.iter().any(|x| x.as_ref() == l))
            .collect();
        let mut gold_set: Vec<&str> = g.iter().map(AsRef::as_ref).collect();
        gold_set.sort_unstable();
        gold_set.dedup();
        let n_gold = gold_set.len();
        let top = |k: usize| (hits.len().min(k), hits.iter().take(k).filter(|&&h| h).count());
        let (n1, h1) = top(1);
        let (n3, h3) = top(3);
        let (n5, h5) = top(5);
        m.p_at_1 += ratio(h1, n1);
        m.p_at_3 += ratio(h3, n3);
        m.p_at_5 += ratio(h5, n5);
        m.r_at_5 += ratio(h5, n_gold);
        m.f1_at_5 += ratio(2 * h5, n5 + n_gold);
        let ndcg = |k: usize| -> f64 {
            let idcg: f64 = (0..k.min(n_gold)).map(|i| 1.0 / (i as f64 + 2.0).log2()).sum();
            if idcg == 0.0 {
                return 1.0;
            }
            let dcg: f64 =
                hits.iter().take(k).enumerate().filter(|(_, h)| **h).map(|(i, _)| 1.0 / (i as f64 + 2.0).log2()).sum();
            dcg / idcg
        };
        m.ndcg_at_5 += ndcg(5);
        m.ndcg_at_10 += ndcg(10);
    }
    let n = gold.len() as f64;
    for x in [
        &mut m.f1_at_5,
        &mut m.p_at_1,
        &mut m.p_at_3,
        &mut m.p_at_5,
        &mut m.r_at_5,
        &mut m.ndcg_at_5,
        &mut m.ndcg_at_10,
    ] {
        *x /= n;
    }
    m
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Evaluate label decisions and rankings against gold labels (all by name).
///
/// `selected[d]` are the tags chosen for document `d`; `ranked[d]` is its full ranking, best first (the first 5
/// entries are used, the first 10 for [`AnnifMetrics`]).
pub fn evaluate<'a, S: AsRef<str>>(gold: &'a [Vec<S>], selected: &'a [Vec<S>], ranked: &'a [Vec<S>]) -> Report {
    let mut ids: HashMap<&'a str, usize> = HashMap::new();
    let mut names: Vec<&'a str> = Vec::new();
    let mut id = |s: &'a S| -> usize {
        let s = s.as_ref();
        *ids.entry(s).or_insert_with(|| {
            names.push(s);
            names.len() - 1
        })
    };
    let mut support: Vec<usize> = Vec::new();
    let mut predicted: Vec<usize> = Vec::new();
    let mut tp: Vec<usize> = Vec::new();
    let grow = |v: &mut Vec<usize>, i: usize| {
        if v.len() <= i {
            v.resize(i + 1, 0);
        }
    };
    let (mut rank_docs, mut p_at, mut ndcg_at) = (0usize, [0.0f64; 3], [0.0f64; 3]);
    for (d, gold_d) in gold.iter().enumerate() {
        let g: Vec<usize> = gold_d.iter().map(&mut id).collect();
        let s: Vec<usize> = selected.get(d).map_or(Vec::new(), |v| v.iter().map(&mut id).collect());
        for &l in &g {
            grow(&mut support, l);
            support[l] += 1;
        }
        for &l in &s {
            grow(&mut predicted, l);
            predicted[l] += 1;
            if g.contains(&l) {
                grow(&mut tp, l);
                tp[l] += 1;
            }
        }
        if g.is_empty() {
            continue;
        }
        rank_docs += 1;
        let r: Vec<usize> = ranked.get(d).map_or(Vec::new(), |v| v.iter().take(5).map(&mut id).collect());
        for (slot, k) in [1usize, 3, 5].into_iter().enumerate() {
            let hits: Vec<bool> = r.iter().take(k).map(|l| g.contains(l)).collect();
            p_at[slot] += hits.iter().filter(|&&h| h).count() as f64 / k as f64;
            let dcg: f64 =
                hits.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| 1.0 / (i as f64 + 2.0).log2()).sum();
            let idcg: f64 = (0..k.min(g.len())).map(|i| 1.0 / (i as f64 + 2.0).log2()).sum();
            ndcg_at[slot] += dcg / idcg;
        }
    }
    let n = names.len();
    for v in [&mut support, &mut predicted, &mut tp] {
        v.resize(n, 0);
    }
    let (sum_tp, sum_pred, sum_gold) = (tp.iter().sum(), predicted.iter().sum(), support.iter().sum());
    let micro_precision = ratio(sum_tp, sum_pred);
    let micro_recall = ratio(sum_tp, sum_gold);
    let mut per_label: Vec<LabelReport> = (0..n)
        .map(|l| {
            let (p, r) = (ratio(tp[l], predicted[l]), ratio(tp[l], support[l]));
            LabelReport {
                label: names[l].to_owned(),
                support: support[l],
                predicted: predicted[l],
                true_positives: tp[l],
                precision: p,
                recall: r,
                f1: f1(p, r),
            }
        })
        .collect();
    per_label.sort_by(|a, b| {
        (b.support > 0).cmp(&(a.support > 0)).then(b.support.cmp(&a.support)).then(a.label.cmp(&b.label))
    });
    let gold_labels: Vec<&LabelReport> = per_label.iter().filter(|l| l.support > 0).collect();
    let m = gold_labels.len();
    let mean = |f: fn(&LabelReport) -> f64| {
        if m == 0 { 0.0 } else { gold_labels.iter().map(|l| f(l)).sum::<f64>() / m as f64 }
    };
    let avg = |x: f64| if rank_docs == 0 { 0.0 } else { x / rank_docs as f64 };
    Report {
        docs: gold.len(),
        labels: m,
        micro_precision,
        micro_recall,
        micro_f1: f1(micro_precision, micro_recall),
        macro_precision: mean(|l| l.precision),
        macro_recall: mean(|l| l.recall),
        macro_f1: mean(|l| l.f1),
        p_at_1: avg(p_at[0]),
        p_at_3: avg(p_at[1]),
        p_at_5: avg(p_at[2]),
        ndcg_at_1: avg(ndcg_at[0]),
        ndcg_at_3: avg(ndcg_at[1]),
        ndcg_at_5: avg(ndcg_at[2]),
        annif: annif_metrics(gold, ranked),
        per_label,
    }
}

/// Recall within the first `k` ranked labels of the gold subjects that `seen` does not hold (subjects no
/// training document had), pooled over documents: `(recall, such subjects)`; recall is 0 when there are none.
pub fn unseen_recall_at<S: AsRef<str>>(
    gold: &[Vec<S>],
    ranked: &[Vec<S>],
    seen: &dyn Fn(&str) -> bool,
    k: usize,
) -> (f64, usize) {
    let (mut hits, mut total) = (0usize, 0usize);
    for (g, r) in gold.iter().zip(ranked) {
        for s in g.iter().map(AsRef::as_ref).filter(|s| !seen(s)) {
            total += 1;
            hits += usize::from(r.iter().take(k).any(|x| x.as_ref() == s));
        }
    }
    (if total == 0 { 0.0 } else { hits as f64 / total as f64 }, total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unseen_recall_counts_only_subjects_training_never_had() {
        let gold = vec![vec!["a", "x"], vec!["y", "b"], vec!["z"]];
        let ranked = vec![vec!["x", "a"], vec!["b", "c", "d", "e", "f", "y"], vec![]];
        let seen = |s: &str| matches!(s, "a" | "b");
        // x found in the top 5, y ranked 6th, z not at all.
        let (r, n) = super::unseen_recall_at(&gold, &ranked, &seen, 5);
        assert_eq!(n, 3);
        assert!((r - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(super::unseen_recall_at(&gold[..0], &ranked[..0], &seen, 5), (0.0, 0));
    }

    use super::*;

    fn v(x: &[&[&'static str]]) -> Vec<Vec<&'static str>> {
        x.iter().map(|d| d.to_vec()).collect()
    }

    #[test]
    fn hand_computed_example() {
        let gold = v(&[&["a", "b"], &["a"], &["c"]]);
        let sel = v(&[&["a"], &["a", "b"], &["d"]]);
        let ranked = v(&[&["a", "c", "b"], &["a", "b"], &["d", "c"]]);
        let r = evaluate(&gold, &sel, &ranked);
        // tp=2, predicted=4, gold=4.
        assert!((r.micro_precision - 0.5).abs() < 1e-12 && (r.micro_recall - 0.5).abs() < 1e-12);
        // Gold labels a (P=1, R=1), b (P=0, R=0), c (P=0, R=0): macro-F1 = 1/3; d is not a gold label.
        assert_eq!(r.labels, 3);
        assert!((r.macro_f1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.p_at_1 - 2.0 / 3.0).abs() < 1e-12);
        // P@3: doc1 2/3, doc2 1/3, doc3 1/3.
        assert!((r.p_at_3 - (4.0 / 3.0) / 3.0).abs() < 1e-12);
        // nDCG@3 of doc3: hit at rank 2 -> (1/log2 3) / 1.
        let d3 = 1.0 / 3f64.log2();
        let d1 = (1.0 + 1.0 / 2f64) / (1.0 + 1.0 / 3f64.log2());
        assert!((r.ndcg_at_3 - (d1 + 1.0 + d3) / 3.0).abs() < 1e-12, "{}", r.ndcg_at_3);
        assert_eq!(r.per_label[0].label, "a");
        assert_eq!(r.per_label.last().unwrap().label, "d");
    }

    #[test]
    fn annif_figures_by_hand() {
        // Doc 1: gold {a, b}, ranked a x b y z w: top-5 hits a, b.
        // Doc 2: gold {c}, ranked only d (one label ranked).
        // Doc 3: no gold labels, ranked e.
        let gold = v(&[&["a", "b"], &["c"], &[]]);
        let ranked = v(&[&["a", "x", "b", "y", "z", "w"], &["d"], &["e"]]);
        let m = annif_metrics(&gold, &ranked);
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        // P@1: 1, 0 (1 ranked), 0 -> 1/3. P@3: 2/3, 0/1, 0/1 -> 2/9. P@5: 2/5, 0, 0.
        close(m.p_at_1, 1.0 / 3.0);
        close(m.p_at_3, 2.0 / 9.0);
        close(m.p_at_5, 2.0 / 15.0);
        // R@5: 1, 0, 0 (no gold: 0, as sklearn's recall with zero division).
        close(m.r_at_5, 1.0 / 3.0);
        // F1@5: 2*2/(5+2), 0, 0.
        close(m.f1_at_5, (4.0 / 7.0) / 3.0);
        // nDCG@5: doc 1 hits at ranks 1 and 3 over ideal ranks 1 and 2; doc 2: 0; doc 3 (no gold): 1.
        let d1 = (1.0 + 1.0 / 4f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        close(m.ndcg_at_5, (d1 + 0.0 + 1.0) / 3.0);
        close(m.ndcg_at_10, m.ndcg_at_5);
        assert_eq!(annif_metrics::<&str>(&[], &[]), AnnifMetrics::default());
    }

    #[test]
    fn perfect_and_empty() {
        let gold = v(&[&["x"], &["y", "z"]]);
        let r = evaluate(&gold, &gold, &gold);
        assert_eq!((r.micro_f1, r.macro_f1, r.p_at_1, r.ndcg_at_5), (1.0, 1.0, 1.0, 1.0));
        let none: Vec<Vec<&str>> = vec![vec![], vec![]];
        let r = evaluate(&gold, &none, &none);
        assert_eq!((r.micro_f1, r.macro_f1, r.p_at_1), (0.0, 0.0, 0.0));
    }
}
