//! Turning raw decision values into probabilities (Platt scaling) and choosing per-label thresholds (SCut),
//! both from out-of-fold decision values, never from the documents the weights were trained on.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// `p(s) = 1 / (1 + exp(a·s + b))`, fitted by Platt's method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope (negative when higher scores mean more likely).
    pub a: f32,
    /// Offset.
    pub b: f32,
}

impl Platt {
    /// The identity-like default used when no held-out scores exist: the logistic of the raw score.
    pub const LOGISTIC: Platt = Platt { a: -1.0, b: 0.0 };

    /// Probability for a decision value.
    #[inline]
    pub fn prob(&self, s: f32) -> f32 {
        let t = self.a * s + self.b;
        // Written to avoid overflow of exp for large |t|.
        if t >= 0.0 {
            let e = (-t).exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + t.exp())
        }
    }

    /// Fit on decision values and their truth, with Platt's smoothed targets, by Newton's method with
    /// backtracking (Lin, Lin & Weng, "A note on Platt's probabilistic outputs", 2007).
    pub fn fit(scores: &[f64], truth: &[bool]) -> Platt {
        let n_pos = truth.iter().filter(|&&t| t).count() as f64;
        let n_neg = truth.len() as f64 - n_pos;
        if n_pos == 0.0 || n_neg == 0.0 {
            return Platt::LOGISTIC;
        }
        let hi = (n_pos + 1.0) / (n_pos + 2.0);
        let lo = 1.0 / (n_neg + 2.0);
        let t: Vec<f64> = truth.iter().map(|&p| if p { hi } else { lo }).collect();
        let (mut a, mut b) = (0.0f64, ((n_neg + 1.0) / (n_pos + 1.0)).ln());
        let f = |a: f64, b: f64| -> f64 {
            scores
                .iter()
                .zip(&t)
                .map(|(&s, &ti)| {
                    let fa = s * a + b;
                    if fa >= 0.0 { ti * fa + (-fa).exp().ln_1p() } else { (ti - 1.0) * fa + fa.exp().ln_1p() }
                })
                .sum()
        };
        let mut fval = f(a, b);
        let sigma = 1e-12;
        for _ in 0..100 {
            let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
            for (&s, &ti) in scores.iter().zip(&t) {
                let fa = s * a + b;
                let (p, q) = if fa >= 0.0 {
                    let e = (-fa).exp();
                    (e / (1.0 + e), 1.0 / (1.0 + e))
                } else {
                    let e = fa.exp();
                    (1.0 / (1.0 + e), e / (1.0 + e))
                };
                let d2 = p * q;
                h11 += s * s * d2;
                h22 += d2;
                h21 += s * d2;
                let d1 = ti - p;
                g1 += s * d1;
                g2 += d1;
            }
            if g1.abs() < 1e-5 && g2.abs() < 1e-5 {
                break;
            }
            let det = h11 * h22 - h21 * h21;
            let da = -(h22 * g1 - h21 * g2) / det;
            let db = -(-h21 * g1 + h11 * g2) / det;
            let gd = g1 * da + g2 * db;
            let mut step = 1.0;
            let mut moved = false;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = f(na, nb);
                if nf < fval + 1e-4 * step * gd {
                    a = na;
                    b = nb;
                    fval = nf;
                    moved = true;
                    break;
                }
                step /= 2.0;
            }
            if !moved {
                break;
            }
        }
        Platt { a: a as f32, b: b as f32 }
    }
}

/// The documents a cut can usefully fall among: those whose probability is at least the lowest of a positive's
/// (ties included), sorted by probability, highest first (ties by document), and the highest probability of the
/// others (`None` when there are none). A cut below every positive only adds false positives, so F1 (of the
/// label, or corpus-wide with the other labels fixed) is strictly lower there than just below the last positive:
/// scanning these candidates finds exactly the cut a scan of every document finds, in O(n + m log m) instead of
/// O(n log n) (m candidates; with thousands of rare labels, m is mostly a handful).
fn candidates(p: &[f32], positives: impl Iterator<Item = usize>) -> (Vec<usize>, Option<f32>) {
    let floor = positives.map(|d| p[d]).fold(f32::INFINITY, f32::min);
    let mut order: Vec<usize> = Vec::new();
    let mut below: Option<f32> = None;
    for (d, &v) in p.iter().enumerate() {
        if v >= floor {
            order.push(d);
        } else {
            below = Some(below.map_or(v, |b: f32| b.max(v)));
        }
    }
    order.sort_unstable_by(|&i, &j| p[j].total_cmp(&p[i]).then(i.cmp(&j)));
    (order, below)
}

/// The highest probability (1 for none, so that a threshold above it is 1).
fn top(p: &[f32]) -> f32 {
    p.iter().copied().reduce(f32::max).unwrap_or(1.0)
}

/// The F1-optimal threshold (SCut) on held-out probabilities, and the F1 it reaches there.
///
/// The threshold is placed halfway between the last accepted and the first rejected probability. When no cut
/// gives any true positive, the threshold is set just above the highest probability seen, so the label is only
/// predicted by the "at least one tag" rule.
pub fn f1_threshold(probs: &[f32], truth: &[bool]) -> (f32, f32) {
    let n_pos = truth.iter().filter(|&&t| t).count();
    if n_pos == 0 {
        return ((top(probs) + 1.0) / 2.0, 0.0);
    }
    let (order, below) = candidates(probs, (0..probs.len()).filter(|&d| truth[d]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut best_f1, mut best_k) = (0.0f32, 0usize);
    for (k, &i) in order.iter().enumerate() {
        if truth[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        // Only cut between distinct values.
        let next_differs = order.get(k + 1).is_none_or(|&j| probs[j] < probs[i]);
        if next_differs {
            let f1 = 2.0 * tp as f32 / (tp + fp + n_pos) as f32;
            if f1 > best_f1 {
                best_f1 = f1;
                best_k = k + 1;
            }
        }
    }
    if best_k == 0 {
        return ((top(probs) + 1.0) / 2.0, 0.0);
    }
    let last_in = probs[order[best_k - 1]];
    let first_out = order.get(best_k).map(|&j| probs[j]).or(below).unwrap_or(0.0);
    ((last_in + first_out) / 2.0, best_f1)
}

/// Move each label's threshold, in turn, to the cut of its held-out probabilities that maximises the
/// corpus-wide micro-F1 given every other label's current threshold (two passes of coordinate ascent).
///
/// `probs[l]` holds label `l`'s held-out probabilities for every document (empty for untrained labels) and
/// `positives[l]` the documents where it is gold.
pub fn micro_f1_thresholds(probs: &[&[f32]], positives: &[&[u32]], thresholds: &mut [f32]) {
    let n_labels = probs.len();
    // Per label: the candidate documents (see `candidates`) by probability, their gold flags, the highest
    // probability below them, and the highest probability of all.
    #[allow(clippy::type_complexity, reason = "a local tuple, named by the comment above")]
    let sorted: Vec<(Vec<usize>, Vec<bool>, Option<f32>, f32)> = (0..n_labels)
        .into_par_iter()
        .map(|l| {
            let p = probs[l];
            let mut gold = vec![false; p.len()];
            for &d in positives[l] {
                if let Some(g) = gold.get_mut(d as usize) {
                    *g = true;
                }
            }
            let (order, below) = candidates(p, (0..p.len()).filter(|&d| gold[d]));
            let flags = order.iter().map(|&d| gold[d]).collect();
            (order, flags, below, top(p))
        })
        .collect();
    // True and false positives of label `l` at threshold `t`, over every document.
    let counts = |l: usize, t: f32| -> (usize, usize) {
        let p = probs[l];
        let mut pos: Vec<usize> = positives[l].iter().map(|&d| d as usize).filter(|&d| d < p.len()).collect();
        pos.sort_unstable();
        pos.dedup();
        let tp = pos.iter().filter(|&&d| p[d] >= t).count();
        let selected = p.iter().filter(|&&v| v >= t).count();
        (tp, selected - tp)
    };
    let total_pos: usize = positives.iter().map(|p| p.len()).sum();
    let mut cur: Vec<(usize, usize)> = (0..n_labels).into_par_iter().map(|l| counts(l, thresholds[l])).collect();
    let (mut tp_all, mut fp_all) = cur.iter().fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1));
    for _pass in 0..2 {
        for l in 0..n_labels {
            let p = probs[l];
            if p.is_empty() {
                continue;
            }
            let (order, flags, below, top) = &sorted[l];
            let (tp_rest, fp_rest) = (tp_all - cur[l].0, fp_all - cur[l].1);
            let f1 = |tp: usize, fp: usize| {
                let t = tp_rest + tp;
                2.0 * t as f64 / (2 * t + fp_rest + fp + (total_pos - t)) as f64
            };
            // Start from "select nothing": threshold above every probability.
            let (mut best, mut best_t, mut best_c) = (f1(0, 0), (top + 1.0) / 2.0, (0, 0));
            let (mut tp, mut fp) = (0, 0);
            for k in 0..order.len() {
                if flags[k] {
                    tp += 1;
                } else {
                    fp += 1;
                }
                let here = p[order[k]];
                // After the last candidate comes the highest probability below them all, which is lower.
                let next = order.get(k + 1).map(|&d| p[d]).or(*below);
                if next.is_some_and(|nx| nx >= here) {
                    continue;
                }
                let f = f1(tp, fp);
                if f > best + 1e-12 {
                    best = f;
                    best_t = (here + next.unwrap_or(0.0)) / 2.0;
                    best_c = (tp, fp);
                }
            }
            thresholds[l] = best_t;
            tp_all = tp_rest + best_c.0;
            fp_all = fp_rest + best_c.1;
            cur[l] = best_c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_cases() {
        let check = |probs: &[f32], truth: &[bool], t: f32, f1: f32| {
            let (gt, gf) = f1_threshold(probs, truth);
            assert!((gt - t).abs() < 1e-6 && (gf - f1).abs() < 1e-6, "{probs:?}: got ({gt}, {gf}) want ({t}, {f1})");
        };
        check(&[0.9, 0.8, 0.3, 0.1], &[true, true, false, false], 0.55, 1.0);
        check(&[0.9, 0.8, 0.3, 0.1], &[true, false, true, false], 0.2, 0.8);
        check(&[0.9, 0.2], &[false, false], 0.95, 0.0);
        check(&[0.5, 0.5, 0.1], &[true, false, false], 0.3, 2.0 / 3.0);
    }

    /// The full scans the candidate search replaced: every document sorted, every cut tried.
    fn f1_threshold_full(probs: &[f32], truth: &[bool]) -> (f32, f32) {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&i, &j| probs[j].total_cmp(&probs[i]).then(i.cmp(&j)));
        let n_pos = truth.iter().filter(|&&t| t).count();
        let (mut tp, mut fp, mut best_f1, mut best_k) = (0usize, 0usize, 0.0f32, 0usize);
        for (k, &i) in order.iter().enumerate() {
            if truth[i] {
                tp += 1;
            } else {
                fp += 1;
            }
            if order.get(k + 1).is_none_or(|&j| probs[j] < probs[i]) {
                let f1 = 2.0 * tp as f32 / (tp + fp + n_pos) as f32;
                if f1 > best_f1 {
                    best_f1 = f1;
                    best_k = k + 1;
                }
            }
        }
        if best_k == 0 {
            let top = order.first().map_or(1.0, |&i| probs[i]);
            return ((top + 1.0) / 2.0, 0.0);
        }
        let first_out = order.get(best_k).map_or(0.0, |&j| probs[j]);
        ((probs[order[best_k - 1]] + first_out) / 2.0, best_f1)
    }

    fn micro_full(probs: &[&[f32]], positives: &[&[u32]], thresholds: &mut [f32]) {
        let n_labels = probs.len();
        let sorted: Vec<(Vec<usize>, Vec<bool>)> = (0..n_labels)
            .map(|l| {
                let p = probs[l];
                let mut order: Vec<usize> = (0..p.len()).collect();
                order.sort_by(|&i, &j| p[j].total_cmp(&p[i]).then(i.cmp(&j)));
                let mut gold = vec![false; p.len()];
                positives[l].iter().for_each(|&d| gold[d as usize] = true);
                let flags = order.iter().map(|&d| gold[d]).collect();
                (order, flags)
            })
            .collect();
        let counts = |l: usize, t: f32| {
            let (order, flags) = &sorted[l];
            let (mut tp, mut fp) = (0, 0);
            for (k, &d) in order.iter().enumerate() {
                if probs[l][d] < t {
                    break;
                }
                if flags[k] { tp += 1 } else { fp += 1 }
            }
            (tp, fp)
        };
        let total_pos: usize = positives.iter().map(|p| p.len()).sum();
        let mut cur: Vec<(usize, usize)> = (0..n_labels).map(|l| counts(l, thresholds[l])).collect();
        let (mut tp_all, mut fp_all) = cur.iter().fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1));
        for _ in 0..2 {
            for l in 0..n_labels {
                let (order, flags) = &sorted[l];
                if order.is_empty() {
                    continue;
                }
                let p = probs[l];
                let (tp_rest, fp_rest) = (tp_all - cur[l].0, fp_all - cur[l].1);
                let f1 = |tp: usize, fp: usize| {
                    let t = tp_rest + tp;
                    2.0 * t as f64 / (2 * t + fp_rest + fp + (total_pos - t)) as f64
                };
                let (mut best, mut best_t, mut best_c) = (f1(0, 0), (p[order[0]] + 1.0) / 2.0, (0, 0));
                let (mut tp, mut fp) = (0, 0);
                for k in 0..order.len() {
                    if flags[k] {
                        tp += 1
                    } else {
                        fp += 1
                    }
                    let here = p[order[k]];
                    let next = order.get(k + 1).map(|&d| p[d]);
                    if next.is_some_and(|nx| nx >= here) {
                        continue;
                    }
                    let f = f1(tp, fp);
                    if f > best + 1e-12 {
                        best = f;
                        best_t = (here + next.unwrap_or(0.0)) / 2.0;
                        best_c = (tp, fp);
                    }
                }
                thresholds[l] = best_t;
                tp_all = tp_rest + best_c.0;
                fp_all = fp_rest + best_c.1;
                cur[l] = best_c;
            }
        }
    }

    #[test]
    fn candidate_search_finds_the_cuts_of_a_full_scan() {
        // Random held-out probabilities on a coarse grid (many ties), rare and frequent labels, some without
        // positives: the thresholds must be exactly those of scanning every document.
        let mut rng = crate::solver::Rng::new(7);
        for case in 0..200 {
            let n = 1 + rng.below(60);
            let n_labels = 1 + rng.below(8);
            let grid = [4, 10, 1000][case % 3] as u64;
            let probs: Vec<Vec<f32>> = (0..n_labels)
                .map(|_| (0..n).map(|_| (rng.next_u64() % (grid + 1)) as f32 / grid as f32).collect())
                .collect();
            let positives: Vec<Vec<u32>> =
                (0..n_labels).map(|l| (0..n as u32).filter(|_| rng.below(10) < l % 4).collect()).collect();
            for l in 0..n_labels {
                let truth: Vec<bool> = (0..n as u32).map(|d| positives[l].contains(&d)).collect();
                assert_eq!(f1_threshold(&probs[l], &truth), f1_threshold_full(&probs[l], &truth), "case {case}");
            }
            let p: Vec<&[f32]> = probs.iter().map(Vec::as_slice).collect();
            let ys: Vec<&[u32]> = positives.iter().map(Vec::as_slice).collect();
            let start: Vec<f32> = (0..n_labels).map(|l| [0.5, 0.3, 0.9][l % 3]).collect();
            let (mut fast, mut full) = (start.clone(), start);
            micro_f1_thresholds(&p, &ys, &mut fast);
            micro_full(&p, &ys, &mut full);
            assert_eq!(fast, full, "case {case}");
        }
    }

    #[test]
    fn micro_thresholds_drop_a_label_that_only_adds_false_positives() {
        // Label 0 is clean; label 1's scores are noise with one positive ranked last.
        let p0 = [0.9f32, 0.8, 0.2, 0.1];
        let p1 = [0.7f32, 0.6, 0.5, 0.4];
        let pos0 = [0u32, 1];
        let pos1 = [3u32];
        let mut t = [0.5f32, 0.3];
        micro_f1_thresholds(&[&p0, &p1], &[&pos0, &pos1], &mut t);
        assert!(t[0] > 0.2 && t[0] <= 0.8, "{t:?}");
        assert!(t[1] > 0.7, "label 1 should be switched off: {t:?}");
    }

    #[test]
    fn platt_is_monotone_and_calibrated_on_a_clean_split() {
        let scores: Vec<f64> = (0..200).map(|i| (i as f64 - 100.0) / 20.0).collect();
        let truth: Vec<bool> = (0..200).map(|i| i >= 100).collect();
        let p = Platt::fit(&scores, &truth);
        assert!(p.a < 0.0);
        assert!(p.prob(3.0) > 0.95 && p.prob(-3.0) < 0.05, "{p:?}");
        assert!(p.prob(1.0) > p.prob(0.5));
    }
}
