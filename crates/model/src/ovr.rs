//! The one-vs-rest classifier: fitting (linfa `Fit`), scoring (linfa `PredictInplace`) and the decision rule.

use crate::calibrate::{Platt, f1_threshold};
use crate::data::{LabelSets, SparseRecords};
use crate::params::ValidOvrParams;
use crate::solver::{Block, LANES, LaneMask, Loss, Problem, Rng, Solution, SolverSettings, lanes_for, solve_block};
use crate::{ModelError, metrics};
use linfa::DatasetBase;
use linfa::traits::{Fit, PredictInplace};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tagger_features::{CsrMatrix, SparseRow, SubsetFit};

/// How tags are chosen from label probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionRule {
    /// Keep at most this many tags (0 = no limit).
    pub top_k: usize,
    /// Never keep a tag below this probability (applies after the per-label thresholds).
    pub min_score: f32,
    /// When no label passes its threshold, keep the single best label anyway.
    pub at_least_one: bool,
    /// Drop a chosen label that never appeared together with the best-scoring label in any training
    /// document (labels of unrelated domains rarely belong together).
    pub require_cooccurrence: bool,
}

impl Default for DecisionRule {
    fn default() -> Self {
        Self { top_k: 0, min_score: 0.0, at_least_one: true, require_cooccurrence: true }
    }
}

/// What a caller asks for at prediction time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Decision {
    /// The model's calibrated rule (per-label thresholds, its top-k, min score, at-least-one).
    #[default]
    ModelRule,
    /// The `k` best labels by probability, ignoring thresholds, optionally above a floor.
    TopK {
        /// How many.
        k: usize,
        /// Probability floor.
        min_score: Option<f32>,
    },
    /// The model's rule with a different probability floor.
    MinScore(f32),
}

impl Decision {
    /// The decision callers ask for with the usual two options: `top_k > 0` means the k best labels (above
    /// `min_score` if given); otherwise the model's rule, with `min_score` as its floor if given.
    pub fn from_options(top_k: usize, min_score: Option<f32>) -> Decision {
        match (top_k, min_score) {
            (k, m) if k > 0 => Decision::TopK { k, min_score: m },
            (_, Some(m)) => Decision::MinScore(m),
            _ => Decision::ModelRule,
        }
    }
}

/// Held-out (cross-validated) figures recorded at training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// Folds used; 1 means one held-out slice (large corpora, see `holdout_above`).
    pub folds: usize,
    /// Micro-F1 of the model's decision rule on out-of-fold probabilities.
    pub micro_f1: f64,
    /// Micro-averaged precision of the same.
    pub micro_precision: f64,
    /// Micro-averaged recall of the same.
    pub micro_recall: f64,
    /// Micro-F1 with the served thresholds, tuned on these same held-out scores: optimistic (by 0.03 with 2,000
    /// labels on 2,000 documents), but with less noise; training compares `min_df` values and the pilot compares
    /// feature sets on it, since their optimism is alike.
    #[serde(default)]
    pub tuned_micro_f1: f64,
    /// Macro-F1 of the same.
    pub macro_f1: f64,
    /// P@1 of the same.
    pub p_at_1: f64,
}

/// A fitted one-vs-rest linear classifier with per-label calibration and thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OvrModel {
    n_features: usize,
    n_labels: usize,
    bias: f32,
    /// Bias weight of each label.
    label_bias: Vec<f32>,
    /// Weights stored feature-major (`feature → [(label, weight)]`), so scoring a sparse row touches only the
    /// features it has.
    weights: CsrMatrix,
    /// Derived for scoring, never stored: dense copies of the rows that hold many labels, and per-label raw-score
    /// floors.
    #[serde(skip)]
    cache: ScoringCache,
    calibration: Vec<Platt>,
    thresholds: Vec<f32>,
    /// False for labels without a positive training example: they are never scored above 0.
    trained: Vec<bool>,
    /// For each label, the labels it shares at least one training document with (sorted).
    cooccur: Vec<Vec<u32>>,
    /// The decision rule.
    pub rule: DecisionRule,
    /// Held-out figures, when folds were used.
    pub cv: Option<CvReport>,
    /// Hyper-parameters used (stored in the fields of model format 5, see `params::stored`).
    #[serde(with = "crate::params::stored")]
    pub params: ValidOvrParams,
    /// Out-of-fold probabilities of the calibration documents, kept from training for fitting an ensemble over
    /// this model; never stored.
    #[serde(skip)]
    out_of_fold: OutOfFoldSlot,
}

/// Out-of-fold probabilities from training: for each calibration document, its best labels.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfFold {
    /// Training documents (positions in the training order) that have held-out probabilities.
    pub docs: Vec<u32>,
    /// The calibration fold of each: its probabilities come from a model fitted on the documents of the other
    /// folds (with one held-out slice, on the documents outside it).
    pub fold: Vec<u32>,
    /// For each of them, up to [`OOF_TOP`] `(label, probability)` pairs with probability above 0, best first.
    pub top: Vec<Vec<(u32, f32)>>,
}

/// Labels kept per document in [`OutOfFold`].
pub const OOF_TOP: usize = 50;

/// A training by-product: equal models are equal whether or not they still hold it.
#[derive(Debug, Clone, Default)]
struct OutOfFoldSlot(Option<std::sync::Arc<OutOfFold>>);

impl PartialEq for OutOfFoldSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// What scoring reads, derived from the weights. Rows of the weight matrix with weights for at least a quarter
/// of the labels (the frequent words, which almost every document has and which carry weights for many labels)
/// are copied into dense label vectors: adding such a row to the scores is a contiguous, vectorised multiply-add
/// instead of a scatter through label ids. The other rows are read with their label ids narrowed to `u16` when
/// the labels fit, 6 bytes per weight instead of 8 (scoring at thesaurus scale is bound by reading weights). The
/// quarter was measured on `kirjastonhoitaja` (3,931 labels), against an eighth: 351 dense rows become 75, and the
/// batch scoring of its training documents took ~20% less time with the narrow ids. Built on first use, densest
/// rows first, within a budget of the sparse weights' own size, so scoring never needs more than twice the
/// model's weight memory. The additions happen in the same order with the same values (absent labels add 0),
/// so scores are bit for bit the sparse path's.
#[derive(Default)]
struct ScoringCache(std::sync::OnceLock<Scoring>);

#[derive(Clone)]
struct Scoring {
    /// For each feature, its row in `values`, or `u32::MAX` when the row stays sparse.
    slot: Vec<u32>,
    /// Every weight's label id as `u16`, in the weight matrix's order, when the labels fit (else empty).
    narrow: Vec<u16>,
    /// For each feature, where its row starts in `narrow` (with a final end), when `narrow` is not empty.
    starts: Vec<usize>,
    /// `rows × n_labels` weights, row-major.
    values: Vec<f32>,
    /// For each label, a raw score below which its probability is certainly under its threshold (see
    /// [`raw_floor`]).
    raw_floor: Vec<f32>,
    /// For each label, the calibration's slope and offset, or 0 and +∞ for an untrained label: `-(a·s + b)` is
    /// the logit its probability increases with, −∞ when the label is never scored.
    logit_a: Vec<f32>,
    logit_b: Vec<f32>,
}

/// A raw score below which `platt.prob(s) < threshold` for certain: the score where the probability crosses the
/// threshold, less a margin far wider than the rounding of that computation; −∞ when the probability does not
/// rise with the score. Scores at or above it are checked exactly, so it only saves `exp` calls.
fn raw_floor(platt: &Platt, threshold: f32) -> f32 {
    let (a, b, t) = (f64::from(platt.a), f64::from(platt.b), f64::from(threshold));
    // NaN anywhere fails every comparison and lands here too.
    let rises = a < 0.0 && t > 0.0 && t < 1.0;
    if !rises {
        return f32::NEG_INFINITY;
    }
    let cross = ((1.0 / t - 1.0).ln() - b) / a;
    let floor = cross - 1e-3 * (1.0 + cross.abs());
    if floor.is_finite() { floor as f32 } else { f32::NEG_INFINITY }
}

/// The `k` best `(logit, label)` of `logits` (label = index; all of them when `k` is 0), in no particular
/// order: best by `total_cmp`, ties to the lower label; −∞ marks a label never chosen.
///
/// A threshold comes first, from a sample of every [`SAMPLE_STRIDE`]-th logit: its `j`-th best, `j` chosen so
/// that about `2k` logits reach it. The labels at or above it are kept (and every NaN, which the order ranks
/// at an end), and if at least `k` of them rank at or above it, every label left out has `k` better ones: the
/// `k` best are among those kept. Otherwise a lower sample quantile is tried, down to every label. One pass
/// over the logits, instead of a selection that kept the best seen so far and cut back whenever it had `2k`
/// (those cut-backs were a tenth of tagging's instructions on `kirjastonhoitaja`).
fn top_logits(logits: &[f32], k: usize) -> Vec<(f32, u32)> {
    let by = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let chosen = |x: f32| x != f32::NEG_INFINITY;
    if k == 0 {
        return logits.iter().enumerate().filter(|&(_, &x)| chosen(x)).map(|(l, &x)| (x, l as u32)).collect();
    }
    let mut sample: Vec<f32> =
        logits.iter().step_by(SAMPLE_STRIDE).copied().filter(|&x| chosen(x) && !x.is_nan()).collect();
    let mut j = (2 * k).div_ceil(SAMPLE_STRIDE);
    loop {
        let floor = if j <= sample.len() {
            *sample.select_nth_unstable_by(j - 1, |a, b| b.total_cmp(a)).1
        } else {
            f32::NEG_INFINITY
        };
        // Blocks with nothing at or above the floor (and no NaN) are passed over at once.
        let mut kept: Vec<(f32, u32)> = Vec::with_capacity(4 * k);
        let mut reaching = 0usize;
        const BLOCK: usize = 16;
        for (b, block) in logits.chunks(BLOCK).enumerate() {
            if !block.iter().fold(false, |any, &x| any | (x >= floor) | x.is_nan()) {
                continue;
            }
            for (i, &x) in block.iter().enumerate() {
                if x.is_nan() || (chosen(x) && x >= floor) {
                    kept.push((x, (b * BLOCK + i) as u32));
                    // A NaN below every number (negative, under `total_cmp`) does not rank above the floor.
                    reaching += usize::from(!(x.is_nan() && x.is_sign_negative()));
                }
            }
        }
        if reaching >= k || floor == f32::NEG_INFINITY {
            if kept.len() > k {
                kept.select_nth_unstable_by(k - 1, by);
                kept.truncate(k);
            }
            return kept;
        }
        j *= 4;
    }
}

/// Bytes a stored weight takes when scoring reads it (a `u16` label id and an `f32`).
const BYTES_PER_WEIGHT: usize = 6;

/// Above this many bytes of weights, [`OvrModel::map_decision_values`] scores a batch of documents at once, so that
/// each weight row is read from memory once per batch; below, one document at a time, so that its scores stay
/// in the nearest cache (a batch of 16 documents at 3,931 labels is a quarter of a megabyte of scores).
/// Measured 2026-12-02 (`tagger eval --threads 1`, the two ways run at the same time on the two cores, median
/// ratio of 6 to 12 pairs): one at a time is 5% faster on kirjastonhoitaja (629k weights, 3.8 MB) and 13% on
/// Reuters; the batch is 4% faster on a synthetic 10k-document, 5,000-label model (6.1M weights, 37 MB) and
/// 6% on a 100k-document one (183 MB model). The bound lies between, nearer the measured small models.
const BATCH_WEIGHT_BYTES: usize = 8 << 20;

/// The stride of [`top_logits`]'s sample.
const SAMPLE_STRIDE: usize = 16;

impl Scoring {
    /// Add `v ×` the weights of feature `j` to one document's scores `out` (`n_labels` long).
    #[inline]
    fn add_row(&self, weights: &CsrMatrix, j: usize, v: f32, out: &mut [f32]) {
        let n = out.len();
        let slot = self.slot[j];
        if slot != u32::MAX {
            let w = &self.values[slot as usize * n..(slot as usize + 1) * n];
            for (o, &wl) in out.iter_mut().zip(w) {
                *o += wl * v;
            }
        } else if self.narrow.is_empty() {
            let w = weights.row(j);
            for (&l, &wl) in w.indices.iter().zip(w.data) {
                out[l as usize] += wl * v;
            }
        } else {
            let labels = &self.narrow[self.starts[j]..self.starts[j + 1]];
            // Four weights a step (fewer loop instructions), in the same order as one at a time.
            let data = weights.row(j).data;
            let (labels4, data4) = (labels.chunks_exact(4), data.chunks_exact(4));
            let (rest_labels, rest_data) = (labels4.remainder(), data4.remainder());
            for (l, w) in labels4.zip(data4) {
                out[usize::from(l[0])] += w[0] * v;
                out[usize::from(l[1])] += w[1] * v;
                out[usize::from(l[2])] += w[2] * v;
                out[usize::from(l[3])] += w[3] * v;
            }
            for (&l, &wl) in rest_labels.iter().zip(rest_data) {
                out[usize::from(l)] += wl * v;
            }
        }
    }
}

impl ScoringCache {
    fn get(
        &self,
        weights: &CsrMatrix,
        n_labels: usize,
        calibration: &[Platt],
        thresholds: &[f32],
        trained: &[bool],
    ) -> &Scoring {
        self.0.get_or_init(|| {
            let narrow = n_labels <= usize::from(u16::MAX) + 1;
            let raw_floor = calibration.iter().zip(thresholds).map(|(p, &t)| raw_floor(p, t)).collect();
            let logits = calibration
                .iter()
                .zip(trained)
                .map(|(p, &trained)| if trained { (p.a, p.b) } else { (0.0, f32::INFINITY) })
                .unzip();
            Scoring::build(weights, n_labels, narrow, raw_floor, logits)
        })
    }
}

impl Scoring {
    /// The dense rows and (with `narrow`, which needs every label id to fit in `u16`) the narrow label ids of
    /// `weights`, with the per-label raw floors and logit slopes/offsets computed by the caller.
    fn build(
        weights: &CsrMatrix,
        n_labels: usize,
        narrow: bool,
        raw_floor: Vec<f32>,
        (logit_a, logit_b): (Vec<f32>, Vec<f32>),
    ) -> Scoring {
        let mut candidates: Vec<(usize, usize)> = weights
            .rows()
            .enumerate()
            .filter(|(_, r)| n_labels >= 16 && r.indices.len() * 4 >= n_labels)
            .map(|(j, r)| (r.indices.len(), j))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        // Budget: as many dense floats as the sparse matrix has (index + value) bytes.
        let budget = weights.nnz() * 2;
        let keep = (budget / n_labels.max(1)).min(candidates.len());
        let mut chosen: Vec<usize> = candidates[..keep].iter().map(|&(_, j)| j).collect();
        chosen.sort_unstable();
        let mut slot = vec![u32::MAX; weights.n_rows()];
        let mut values = vec![0.0f32; chosen.len() * n_labels];
        for (k, &j) in chosen.iter().enumerate() {
            slot[j] = k as u32;
            let row = weights.row(j);
            let dense = &mut values[k * n_labels..(k + 1) * n_labels];
            for (&l, &w) in row.indices.iter().zip(row.data) {
                dense[l as usize] = w;
            }
        }
        let (mut ids, mut starts) = (Vec::new(), Vec::new());
        if narrow {
            ids.reserve_exact(weights.nnz());
            starts.reserve_exact(weights.n_rows() + 1);
            for r in weights.rows() {
                starts.push(ids.len());
                // Label ids are below `n_labels` (checked on load), which fits `u16` when `narrow` is asked.
                ids.extend(r.indices.iter().map(|&l| l as u16));
            }
            starts.push(ids.len());
        }
        Scoring { slot, narrow: ids, starts, values, raw_floor, logit_a, logit_b }
    }
}

impl Clone for ScoringCache {
    fn clone(&self) -> Self {
        ScoringCache(self.0.clone())
    }
}

impl PartialEq for ScoringCache {
    /// A cache: equal models are equal whether or not it has been built.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ScoringCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "ScoringCache(built)" } else { "ScoringCache(not built)" })
    }
}

/// What fitting one label leaves for assembling the model; stored only in the shard files of a label-sharded
/// training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LabelFit {
    /// Kept weights (`|w| ≥ prune_below`), by increasing feature.
    weights: Vec<(u32, f32)>,
    bias: f64,
    platt: Platt,
    threshold: f32,
    trained: bool,
    oof: Option<Vec<f32>>,
}

fn mix(seed: u64, label: usize, fold: usize) -> u64 {
    let mut r = Rng::new(seed ^ (label as u64).wrapping_mul(0x100_0000_01B3) ^ ((fold as u64) << 48));
    r.next_u64()
}

/// Salt of the negative samples' seeds (see [`sample_negatives`]).
const SAMPLE_SEED: u64 = 0x5A3D_1E0F_99C2_7B41;

/// The rows one fit of a block trains on when `rows` hold more than `max` rows that are negative in every lane
/// (`ys[d] == 0`) and `max > 0`: every row positive in some lane (weight 1) and `max` of the negatives drawn
/// at random without replacement, each weighted `negatives / max` so that the negatives' share of the loss keeps
/// its expected value (sorted by row). `None`: the fit trains on `rows` as they are.
fn sample_negatives(rows: &[u32], ys: &[LaneMask], max: usize, seed: u64) -> Option<(Vec<u32>, Vec<f32>)> {
    if max == 0 {
        return None;
    }
    let mut negatives: Vec<u32> = rows.iter().copied().filter(|&d| ys[d as usize] == 0).collect();
    if negatives.len() <= max {
        return None;
    }
    let weight = negatives.len() as f32 / max as f32;
    let mut rng = Rng::new(seed);
    for i in 0..max {
        let j = i + rng.below(negatives.len() - i);
        negatives.swap(i, j);
    }
    negatives.truncate(max);
    let mut kept: Vec<(u32, f32)> = rows
        .iter()
        .filter(|&&d| ys[d as usize] != 0)
        .map(|&d| (d, 1.0))
        .chain(negatives.into_iter().map(|d| (d, weight)))
        .collect();
    kept.sort_unstable_by_key(|&(d, _)| d);
    Some(kept.into_iter().unzip())
}

/// Keep the held-out probability matrix (docs × labels) for the CV report only below this many cells.
const MAX_OOF_CELLS: usize = 50_000_000;

/// What every step of one classifier fit shares, cheap to compute: each label's positive documents, the
/// calibration folds and documents, and the blocks of labels the solver fits together.
struct Plan {
    n: usize,
    n_labels: usize,
    positives: Vec<Vec<u32>>,
    folds: usize,
    holdout: bool,
    all: Vec<u32>,
    fold_of: Vec<usize>,
    splits: Vec<(Vec<u32>, Vec<u32>)>,
    calib: Vec<u32>,
    calib_pos: Vec<u32>,
    keep_oof: bool,
    /// Labels per block (see [`lanes_for`]).
    lanes: usize,
    /// Labels with examples, in blocks of `lanes` solved together (see `solver`); a block's seed comes from its
    /// first label, so its result depends neither on how many threads share the blocks nor on which process of a
    /// sharded training fits it.
    trained: Vec<usize>,
}

impl Plan {
    fn n_blocks(&self) -> usize {
        self.trained.len().div_ceil(self.lanes)
    }

    fn block(&self, b: usize) -> &[usize] {
        &self.trained[b * self.lanes..((b + 1) * self.lanes).min(self.trained.len())]
    }
}

/// The label fits of some blocks of one classifier fit: what one shard of a label-sharded training computes
/// (see [`ValidOvrParams::fit_blocks`]); shards together give every block once, from which
/// [`ValidOvrParams::fit_from_blocks`] assembles the model a single fit would have given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BlockFits {
    /// `(block, fits of its labels)`, by increasing block.
    blocks: Vec<(u32, Vec<LabelFit>)>,
}

impl BlockFits {
    /// The blocks held, in increasing order.
    pub fn block_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.blocks.iter().map(|(b, _)| *b)
    }

    /// Labels fitted, over all blocks held.
    pub fn n_labels(&self) -> usize {
        self.blocks.iter().map(|(_, f)| f.len()).sum()
    }

    /// Put the blocks of several parts together (in block order; duplicates are kept, and refused on assembly).
    pub fn join(parts: Vec<BlockFits>) -> BlockFits {
        let mut blocks: Vec<(u32, Vec<LabelFit>)> = parts.into_iter().flat_map(|p| p.blocks).collect();
        blocks.sort_by_key(|(b, _)| *b);
        BlockFits { blocks }
    }
}

impl ValidOvrParams {
    fn plan(&self, ds: &DatasetBase<SparseRecords, LabelSets>) -> Result<Plan, ModelError> {
        let x = &ds.records.rows;
        let sets = ds.targets.sets();
        let (n, n_labels) = (x.n_rows(), ds.targets.n_labels());
        if n == 0 || n != sets.len() {
            return Err(ModelError::InvalidData(format!("{n} rows and {} label sets", sets.len())));
        }
        let mut positives: Vec<Vec<u32>> = vec![Vec::new(); n_labels];
        for (d, s) in sets.iter().enumerate() {
            for &l in s {
                positives[l as usize].push(d as u32);
            }
        }
        let folds = if self.cv_folds >= 2 && n >= 2 * self.cv_folds { self.cv_folds } else { 0 };
        // Large corpora calibrate on one held-out slice and serve the model fitted on the rest: one fit per label
        // instead of folds + 1.
        let holdout = folds > 0 && self.holdout_above > 0 && n > self.holdout_above;
        let mut perm: Vec<u32> = (0..n as u32).collect();
        if folds > 0 {
            Rng::new(self.seed).shuffle(&mut perm);
        }
        let all: Vec<u32> = (0..n as u32).collect();
        // The calibration fold of each document (with one held-out slice: 0 for the slice, 1 for the rest).
        let mut fold_of = vec![0usize; if folds > 0 { n } else { 0 }];
        // With one held-out slice: its size.
        let h = self.holdout_docs.min(n / 10).max(1);
        if holdout {
            perm[h..].iter().for_each(|&d| fold_of[d as usize] = 1);
        } else if folds > 0 {
            for (k, &d) in perm.iter().enumerate() {
                fold_of[d as usize] = k % folds;
            }
        }
        // (training rows, held-out rows) of each calibration split, both sorted.
        let splits: Vec<(Vec<u32>, Vec<u32>)> = if holdout {
            let (mut test, mut train) = (perm[..h].to_vec(), perm[h..].to_vec());
            test.sort_unstable();
            train.sort_unstable();
            vec![(train, test)]
        } else if folds > 0 {
            (0..folds).map(|f| all.iter().copied().partition(|&d| fold_of[d as usize] != f)).collect()
        } else {
            Vec::new()
        };
        // The calibration documents (every held-out row) and each document's position among them.
        let calib: Vec<u32> = if holdout {
            splits[0].1.clone()
        } else if folds > 0 {
            all.clone()
        } else {
            Vec::new()
        };
        let mut calib_pos = vec![u32::MAX; if folds > 0 { n } else { 0 }];
        for (k, &d) in calib.iter().enumerate() {
            calib_pos[d as usize] = k as u32;
        }
        let keep_oof = folds > 0 && calib.len().saturating_mul(n_labels) <= MAX_OOF_CELLS;
        let trained: Vec<usize> = (0..n_labels).filter(|&l| !positives[l].is_empty()).collect();
        let lanes = lanes_for(x);
        Ok(Plan {
            n,
            n_labels,
            positives,
            folds,
            holdout,
            all,
            fold_of,
            splits,
            calib,
            calib_pos,
            keep_oof,
            lanes,
            trained,
        })
    }

    /// How many blocks of labels the solver fits for this dataset (labels with at least one positive document,
    /// [`lanes_for`] them to a block, in label order).
    pub fn n_blocks(&self, ds: &DatasetBase<SparseRecords, LabelSets>) -> Result<usize, ModelError> {
        Ok(self.plan(ds)?.n_blocks())
    }

    /// The positive documents of each block's labels, a measure of its share of the solving work (see
    /// [`crate::assign_blocks`]).
    pub fn block_positives(&self, ds: &DatasetBase<SparseRecords, LabelSets>) -> Result<Vec<u64>, ModelError> {
        let plan = self.plan(ds)?;
        Ok((0..plan.n_blocks()).map(|b| plan.block(b).iter().map(|&l| plan.positives[l].len() as u64).sum()).collect())
    }

    /// Fit only the given blocks of labels (see [`ValidOvrParams::n_blocks`]): one shard of a label-sharded
    /// training.
    pub fn fit_blocks(
        &self,
        ds: &DatasetBase<SparseRecords, LabelSets>,
        blocks: &[u32],
    ) -> Result<BlockFits, ModelError> {
        let plan = self.plan(ds)?;
        let mut blocks = blocks.to_vec();
        blocks.sort_unstable();
        blocks.dedup();
        if let Some(&b) = blocks.iter().find(|&&b| b as usize >= plan.n_blocks()) {
            return Err(ModelError::InvalidData(format!("block {b} asked for, the fit has {}", plan.n_blocks())));
        }
        let fits = self.solve(ds, &plan, &blocks);
        Ok(BlockFits { blocks: blocks.into_iter().zip(fits?).collect() })
    }

    /// The model from the fits of every block (the parts of all shards, see [`BlockFits::join`]): the same model,
    /// bit for bit, that [`Fit::fit`] gives on the same dataset. Missing, duplicate or misshapen blocks are refused.
    pub fn fit_from_blocks(
        &self,
        ds: &DatasetBase<SparseRecords, LabelSets>,
        fits: BlockFits,
    ) -> Result<OvrModel, ModelError> {
        let plan = self.plan(ds)?;
        let n_blocks = plan.n_blocks();
        let mut by_block: Vec<Option<Vec<LabelFit>>> = vec![None; n_blocks];
        for (b, f) in fits.blocks {
            let slot = by_block
                .get_mut(b as usize)
                .ok_or_else(|| ModelError::InvalidData(format!("block {b} given, the fit has {n_blocks}")))?;
            if slot.is_some() {
                return Err(ModelError::InvalidData(format!("block {b} given twice")));
            }
            if f.len() != plan.block(b as usize).len() {
                return Err(ModelError::InvalidData(format!(
                    "block {b} holds {} labels, the fit has {}",
                    f.len(),
                    plan.block(b as usize).len()
                )));
            }
            *slot = Some(f);
        }
        let missing: Vec<usize> = by_block.iter().enumerate().filter(|(_, f)| f.is_none()).map(|(b, _)| b).collect();
        if !missing.is_empty() {
            return Err(ModelError::InvalidData(format!(
                "{} of {n_blocks} blocks missing (first: block {})",
                missing.len(),
                missing[0]
            )));
        }
        self.assemble(ds, &plan, by_block.into_iter().flatten().collect())
    }

    /// Solve the given blocks (sorted, in range), returning their label fits in the same order.
    fn solve(
        &self,
        ds: &DatasetBase<SparseRecords, LabelSets>,
        plan: &Plan,
        blocks: &[u32],
    ) -> Result<Vec<Vec<LabelFit>>, ModelError> {
        if blocks.is_empty() {
            return Ok(Vec::new());
        }
        let x = &ds.records.rows;
        let Plan { n, folds, holdout, ref all, ref splits, ref calib, ref calib_pos, keep_oof, ref positives, .. } =
            *plan;
        let bias = f64::from(self.bias);
        let sq_norms_of = |x: &CsrMatrix| sq_norms(x, bias);
        // What each fold's own vectorizer would change in the rows (see `SparseRecords::refit`); the rows
        // themselves are rebuilt per block of labels when needed (one pass over them, small next to the solver's
        // passes), so memory holds at most one extra copy per thread. Not with one held-out slice: its model is
        // the one served, with the vectorizer of the whole corpus, and at that size (tens of thousands of
        // documents) the terms only the slice brings in are a negligible share of any row.
        let subsets: Vec<SubsetFit> = match &ds.records.refit {
            Some(r) if !holdout => splits.iter().map(|(train, _)| r.subset(x, train)).collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let full_norms = sq_norms_of(x);
        // Small corpora rebuild each fold's rows once, up front; large ones per block of labels, to keep one extra
        // copy per thread at most (a rebuild is one pass over the rows; per block, its 1,230 rebuilds were about 3%
        // of a profile's samples on `kirjastonhoitaja`).
        let prebuilt: Vec<(CsrMatrix, Vec<f64>)> =
            if subsets.len().saturating_mul(x.nnz()).saturating_mul(8) <= PREBUILT_FOLD_BYTES {
                subsets
                    .par_iter()
                    .map(|s| s.apply(x))
                    .map(|r| {
                        let q = sq_norms_of(&r);
                        (r, q)
                    })
                    .collect()
            } else {
                Vec::new()
            };

        let c = f64::from(self.c);
        blocks
            .par_iter()
            .map(|&b| plan.block(b as usize))
            .map(|block| {
                let lanes = block.len();
                let mut ys: Vec<LaneMask> = vec![0; n];
                for (b, &l) in block.iter().enumerate() {
                    for &d in &positives[l] {
                        ys[d as usize] |= 1 << b;
                    }
                }
                // The fold fits may stop earlier than the fit on every document (`fold_tol_scale`).
                let fold_tol_scale = f64::from(self.fold_tol_scale.unwrap_or(1.0));
                let solve_on = |x: &CsrMatrix,
                                sq_norms: &[f64],
                                rows: &[u32],
                                row_weight: Option<&[f32]>,
                                ys: &[LaneMask],
                                fold: usize,
                                init: Option<&[f64]>,
                                keep_alpha: bool| {
                    let p = Problem {
                        x,
                        rows,
                        ys,
                        lanes,
                        sq_norms,
                        bias,
                        c_pos: c * f64::from(self.positive_weight),
                        c_neg: c,
                        row_weight,
                        prior: None,
                        init,
                    };
                    let settings = SolverSettings {
                        loss: self.loss,
                        tol: f64::from(self.tol) * if fold > 0 { fold_tol_scale } else { 1.0 },
                        max_iter: self.max_iter,
                        seed: mix(self.seed, block[0], fold),
                        keep_alpha,
                    };
                    solve_block(&p, &settings)
                };
                let average = folds > 0 && self.average_folds && !holdout;
                // What the block serves: the fit on every document (with one held-out slice, the fit on the
                // rest), or the average of the fold fits.
                // The full fit's dual values warm-start the fold fits: a fold's rows are a subset of the full fit's
                // (`all` is every row, in order, so row d's duals are at d), and its optimum lies near theirs. The
                // stopping test is the same, so it is the same fit reached in fewer passes: on `kirjastonhoitaja`
                // fold fits took 5–6 passes instead of 7–9 and the classifier 22.5 → 18.9 s (3 alternated runs);
                // 5-fold `tagger cv` micro-F1 0.4258 → 0.4262, validate F1@5 0.4301 → 0.4310.
                // The rows a fit trains on: with more negatives (rows positive in no lane of the block) than
                // `max_negatives`, every positive row and a weighted sample of the negatives.
                let sample = |rows: &[u32], fold: usize| {
                    sample_negatives(rows, &ys, self.max_negatives, mix(self.seed ^ SAMPLE_SEED, block[0], fold))
                };
                let full_sample = (!holdout && !average).then(|| sample(all, 0)).flatten();
                // Warm starts index the full fit's duals by document, so they need the full fit on every row.
                let warm = folds > 0 && self.loss == Loss::SquaredHinge && full_sample.is_none();
                let mut full: Option<Block> = (!holdout && !average).then(|| match &full_sample {
                    Some((rows, weight)) => {
                        let yr: Vec<LaneMask> = rows.iter().map(|&d| ys[d as usize]).collect();
                        solve_on(x, &full_norms, rows, Some(weight), &yr, 0, None, false)
                    }
                    // `all` is every row in order: the rows' labels are `ys` itself.
                    None => solve_on(x, &full_norms, all, None, &ys, 0, None, warm),
                });
                // The running mean of the fold fits, when served.
                let mut averaged: Option<Block> = None;
                let mut scores = vec![vec![0.0f64; calib.len()]; lanes];
                for (f, (train, test)) in splits.iter().enumerate() {
                    let refitted = if prebuilt.is_empty() { subsets.get(f).map(|s| s.apply(x)) } else { None };
                    let (fx, fold_norms) = match (&refitted, prebuilt.get(f)) {
                        (Some(r), _) => (r, std::borrow::Cow::Owned(sq_norms_of(r))),
                        (None, Some((r, q))) => (r, std::borrow::Cow::Borrowed(q)),
                        (None, None) => (x, std::borrow::Cow::Borrowed(&full_norms)),
                    };
                    let sampled = sample(train, f + 1);
                    let (rows, weight) = match &sampled {
                        Some((rows, weight)) => (rows.as_slice(), Some(weight.as_slice())),
                        None => (train.as_slice(), None),
                    };
                    let yf: Vec<LaneMask> = rows.iter().map(|&d| ys[d as usize]).collect();
                    let init: Option<Vec<f64>> = full.as_ref().filter(|b| !b.alpha.is_empty()).map(|b| {
                        rows.iter()
                            .flat_map(|&d| &b.alpha[d as usize * LANES..(d as usize + 1) * LANES])
                            .copied()
                            .collect()
                    });
                    let mut fold = solve_on(fx, &fold_norms, rows, weight, &yf, f + 1, init.as_deref(), false);
                    // Held-out scores from the weights a stored model keeps: pruning shifts scores, and the
                    // calibration must see the shift the served model will have.
                    fold.prune(f64::from(self.prune_below));
                    for &d in test {
                        let s = fold.decisions(fx, d as usize, bias);
                        for (b, lane) in scores.iter_mut().enumerate() {
                            lane[calib_pos[d as usize] as usize] = s[b];
                        }
                    }
                    if average {
                        averaged.get_or_insert_with(|| Block::zeros_like(&fold)).add_scaled(1.0 / folds as f64, &fold);
                    }
                    if holdout {
                        full = Some(fold);
                    }
                }
                // Pruned here, block by block, so that dense weight vectors never pile up for every label.
                let below = f64::from(self.prune_below);
                let Some(block) = full.as_ref().or(averaged.as_ref()) else {
                    return Err(ModelError::InvalidData("no fit to serve (no calibration fold)".into()));
                };
                let served: Vec<(Vec<(u32, f32)>, f64)> =
                    block.kept_weights(below).into_iter().enumerate().map(|(b, w)| (w, block.bias(b))).collect();
                Ok(served
                    .into_iter()
                    .zip(scores)
                    .enumerate()
                    .map(|(b, ((weights, bias), scores))| {
                        let (platt, threshold, oof) = if folds > 0 {
                            let y: Vec<bool> = calib.iter().map(|&d| (ys[d as usize] >> b) & 1 == 1).collect();
                            let platt = Platt::fit(&scores, &y);
                            let probs: Vec<f32> = scores.iter().map(|&s| platt.prob(s as f32)).collect();
                            let t = scut_fbr(&probs, &y, self.fbr);
                            (platt, t, keep_oof.then_some(probs))
                        } else {
                            (Platt::LOGISTIC, 0.5, None)
                        };
                        LabelFit { weights, bias, platt, threshold, trained: true, oof }
                    })
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>, _>>()
    }

    /// The model from every block's label fits, in block order.
    fn assemble(
        &self,
        ds: &DatasetBase<SparseRecords, LabelSets>,
        plan: &Plan,
        block_fits: Vec<Vec<LabelFit>>,
    ) -> Result<OvrModel, ModelError> {
        let x = &ds.records.rows;
        let sets = ds.targets.sets();
        let bias = f64::from(self.bias);
        let Plan {
            n_labels,
            folds,
            holdout,
            ref fold_of,
            ref calib,
            ref calib_pos,
            keep_oof,
            ref positives,
            lanes,
            ref trained,
            ..
        } = *plan;
        let mut fits: Vec<LabelFit> = (0..n_labels)
            .map(|_| LabelFit {
                weights: Vec::new(),
                bias: 0.0,
                platt: Platt::LOGISTIC,
                threshold: 1.0,
                trained: false,
                oof: None,
            })
            .collect();
        for (block, block_fit) in trained.chunks(lanes).zip(block_fits) {
            for (&l, f) in block.iter().zip(block_fit) {
                fits[l] = f;
            }
        }

        // Assemble the feature-major weight matrix from the label-major pruned weights.
        let n_features = x.n_cols();
        let mut by_label = CsrMatrix::new(n_features);
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for f in &mut fits {
            idx.clear();
            val.clear();
            for &(j, w) in &f.weights {
                idx.push(j);
                val.push(w);
            }
            by_label.push_row(&idx, &val);
            f.weights = Vec::new();
        }
        let weights = by_label.transpose();
        drop(by_label);
        let mut model = OvrModel {
            n_features,
            n_labels,
            bias: self.bias,
            label_bias: fits.iter().map(|f| (f.bias * bias) as f32).collect(),
            weights,
            cache: ScoringCache::default(),
            calibration: fits.iter().map(|f| f.platt).collect(),
            thresholds: fits.iter().map(|f| f.threshold).collect(),
            trained: fits.iter().map(|f| f.trained).collect(),
            cooccur: cooccurrence(sets, n_labels),
            rule: DecisionRule::default(),
            cv: None,
            params: self.clone(),
            out_of_fold: OutOfFoldSlot::default(),
        };
        if keep_oof {
            // Positives and label sets of the calibration documents, numbered by position among them.
            let calib_positives: Vec<Vec<u32>> = positives
                .iter()
                .map(|ds| ds.iter().map(|&d| calib_pos[d as usize]).filter(|&k| k != u32::MAX).collect())
                .collect();
            if self.thresholds == crate::params::ThresholdObjective::MicroF1 {
                let oof: Vec<&[f32]> = fits.iter().map(|f| f.oof.as_deref().unwrap_or(&[])).collect();
                let ys: Vec<&[u32]> = calib_positives.iter().map(Vec::as_slice).collect();
                crate::calibrate::micro_f1_thresholds(&oof, &ys, &mut model.thresholds);
            }
            let calib_sets: Vec<Vec<u32>> = calib.iter().map(|&d| sets[d as usize].clone()).collect();
            let oof: Vec<&[f32]> = fits.iter().map(|f| f.oof.as_deref().unwrap_or(&[])).collect();
            let top = (0..calib.len())
                .into_par_iter()
                .map(|k| {
                    let mut best: Vec<(u32, f32)> = oof
                        .iter()
                        .enumerate()
                        .filter_map(|(l, p)| p.get(k).filter(|&&p| p > 0.0).map(|&p| (l as u32, p)))
                        .collect();
                    let by = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                    if best.len() > OOF_TOP {
                        best.select_nth_unstable_by(OOF_TOP - 1, by);
                        best.truncate(OOF_TOP);
                    }
                    best.sort_unstable_by(by);
                    best
                })
                .collect();
            let fold = calib.iter().map(|&d| fold_of[d as usize] as u32).collect();
            model.out_of_fold = OutOfFoldSlot(Some(std::sync::Arc::new(OutOfFold { docs: calib.clone(), fold, top })));
            model.cv = Some(model.cv_report(&oof, &calib_positives, &calib_sets, if holdout { 1 } else { folds }));
        }
        Ok(model)
    }
}

impl Fit<SparseRecords, LabelSets, ModelError> for ValidOvrParams {
    type Object = OvrModel;

    fn fit(&self, ds: &DatasetBase<SparseRecords, LabelSets>) -> Result<OvrModel, ModelError> {
        let plan = self.plan(ds)?;
        let blocks: Vec<u32> = (0..plan.n_blocks() as u32).collect();
        let fits = self.solve(ds, &plan, &blocks)?;
        self.assemble(ds, &plan, fits)
    }
}

/// Salt of the solver seeds of incremental learning (a learn step's coordinate order is not a training's).
const LEARN_SEED: u64 = 0x6c65_6172_6e00;

/// Each row's squared norm with the bias feature: the diagonal of the dual problem's kernel.
fn sq_norms(x: &CsrMatrix, bias: f64) -> Vec<f64> {
    x.rows().map(|r| r.data.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + bias * bias).collect()
}

/// A refitted label: its index, its weights as (feature, weight) pairs, its bias.
type Refitted = (usize, Vec<(u32, f32)>, f32);

impl OvrModel {
    /// Incremental learning (see [`crate::TaggerModel::learn`]): every label this model has weights for is refitted
    /// on the rows `x` with labels `sets`, regularised towards its current weights (the solver's `prior`: the
    /// change is what the rows call for, the rest of the model stays as training left it), and keeps its
    /// calibration and threshold; the labels of `added` (ids, increasing) — new ones from `n_labels()` on, or
    /// known ones that had no training example — take the weights, calibration and threshold of `fitted`, a
    /// model fitted on the same rows for those labels alone (its label `k` is `added[k]`). `n_labels` is the new
    /// label count. Squared hinge only.
    pub(crate) fn learned(
        &self,
        x: &CsrMatrix,
        sets: &[Vec<u32>],
        n_labels: usize,
        added: &[u32],
        fitted: Option<&OvrModel>,
    ) -> Result<OvrModel, ModelError> {
        let p = &self.params;
        if p.loss != crate::Loss::SquaredHinge {
            return Err(ModelError::InvalidParams("incremental learning needs the squared-hinge loss".into()));
        }
        if x.n_cols() != self.n_features || x.n_rows() != sets.len() || n_labels < self.n_labels {
            return Err(ModelError::InvalidData("rows, label sets and model disagree".into()));
        }
        if fitted.map_or(0, |f| f.n_labels) != added.len() {
            return Err(ModelError::InvalidData("the added labels' model does not match them".into()));
        }
        let bias = f64::from(self.bias);
        let n = x.n_rows();
        let sq_norms: Vec<f64> = sq_norms(x, bias);
        let mut positives: Vec<Vec<u32>> = vec![Vec::new(); n_labels];
        for (d, s) in sets.iter().enumerate() {
            for &l in s {
                positives
                    .get_mut(l as usize)
                    .ok_or_else(|| ModelError::InvalidData(format!("label {l}")))?
                    .push(d as u32);
            }
        }
        // Label-major copies of the current weights, for the prior's decision values and the sum w₀ + v.
        let by_label = self.weights.transpose();
        let refit: Vec<usize> = (0..self.n_labels).filter(|&l| self.trained[l]).collect();
        let rows: Vec<u32> = (0..n as u32).collect();
        let c = f64::from(p.c);
        let below = f64::from(p.prune_below);
        let refitted: Vec<Refitted> = refit
            .par_chunks(LANES)
            .flat_map_iter(|block| {
                let lanes = block.len();
                let mut ys: Vec<LaneMask> = vec![0; n];
                for (b, &l) in block.iter().enumerate() {
                    for &d in &positives[l] {
                        ys[d as usize] |= 1 << b;
                    }
                }
                let mut prior = vec![0.0f64; n * LANES];
                for (d, out) in prior.chunks_mut(LANES).enumerate() {
                    let row = x.row(d);
                    for (b, &l) in block.iter().enumerate() {
                        out[b] = f64::from(self.label_bias[l]) + sparse_dot(by_label.row(l), row);
                    }
                }
                let problem = Problem {
                    x,
                    rows: &rows,
                    ys: &ys,
                    lanes,
                    sq_norms: &sq_norms,
                    bias,
                    c_pos: c * f64::from(p.positive_weight),
                    c_neg: c,
                    row_weight: None,
                    prior: Some(&prior),
                    init: None,
                };
                let settings = SolverSettings {
                    loss: p.loss,
                    tol: f64::from(p.tol),
                    max_iter: p.max_iter,
                    seed: mix(p.seed ^ LEARN_SEED, block[0], 0),
                    keep_alpha: false,
                };
                let change = solve_block(&problem, &settings);
                let out: Vec<Refitted> = block
                    .iter()
                    .enumerate()
                    .map(|(b, &l)| {
                        let v = change.solution(b);
                        let mut w = v.weights;
                        let old = by_label.row(l);
                        for (&j, &o) in old.indices.iter().zip(old.data) {
                            w[j as usize] += f64::from(o);
                        }
                        let kept = Solution { weights: w, bias: 0.0, iterations: 0 }.kept_weights(below);
                        (l, kept, self.label_bias[l] + (v.bias * bias) as f32)
                    })
                    .collect();
                out
            })
            .collect();
        let mut weights: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_labels];
        let mut label_bias = self.label_bias.clone();
        label_bias.resize(n_labels, 0.0);
        let mut calibration = self.calibration.clone();
        calibration.resize(n_labels, Platt::LOGISTIC);
        let mut thresholds = self.thresholds.clone();
        thresholds.resize(n_labels, 1.0);
        let mut trained = self.trained.clone();
        trained.resize(n_labels, false);
        for (l, w, b) in refitted {
            weights[l] = w;
            label_bias[l] = b;
        }
        if let Some(f) = fitted {
            let f_by_label = f.weights.transpose();
            for (k, &l) in added.iter().enumerate() {
                let l = l as usize;
                let row = f_by_label.row(k);
                weights[l] = row.indices.iter().copied().zip(row.data.iter().copied()).collect();
                label_bias[l] = f.label_bias[k];
                calibration[l] = f.calibration[k];
                thresholds[l] = f.thresholds[k];
                trained[l] = f.trained[k];
            }
        }
        let mut by_label = CsrMatrix::new(self.n_features);
        for w in &weights {
            let (idx, val): (Vec<u32>, Vec<f32>) = w.iter().copied().unzip();
            by_label.push_row(&idx, &val);
        }
        let mut cooccur = self.cooccur.clone();
        cooccur.resize(n_labels, Vec::new());
        for (l, with) in cooccurrence(sets, n_labels).into_iter().enumerate() {
            if !with.is_empty() {
                cooccur[l].extend(with);
                cooccur[l].sort_unstable();
                cooccur[l].dedup();
            }
        }
        Ok(OvrModel {
            n_features: self.n_features,
            n_labels,
            bias: self.bias,
            label_bias,
            weights: by_label.transpose(),
            cache: ScoringCache::default(),
            calibration,
            thresholds,
            trained,
            cooccur,
            rule: self.rule,
            cv: None,
            params: self.params.clone(),
            out_of_fold: OutOfFoldSlot::default(),
        })
    }
}

/// `aᵀb` of two sparse rows (indices increasing).
fn sparse_dot(a: SparseRow<'_>, b: SparseRow<'_>) -> f64 {
    let (mut i, mut j, mut s) = (0, 0, 0.0f64);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += f64::from(a.data[i]) * f64::from(b.data[j]);
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Above this many bytes of rebuilt fold rows, folds are rebuilt per block of labels instead of once.
const PREBUILT_FOLD_BYTES: usize = 256 << 20;

/// A label's SCutFBR threshold on held-out probabilities: its F1-optimal cut, raised above every probability
/// seen when even that F1 stays below `fbr` (so the label is then only chosen by the "at least one" rule).
fn scut_fbr(probs: &[f32], y: &[bool], fbr: f32) -> f32 {
    let (mut t, best_f1) = f1_threshold(probs, y);
    if best_f1 < fbr {
        let top = probs.iter().copied().fold(0.0f32, f32::max);
        t = t.max((top + 1.0) / 2.0);
    }
    t
}

/// For each label, the sorted labels it shares a document with.
fn cooccurrence(sets: &[Vec<u32>], n_labels: usize) -> Vec<Vec<u32>> {
    let mut with: Vec<Vec<u32>> = vec![Vec::new(); n_labels];
    for s in sets {
        for &a in s {
            with[a as usize].extend(s.iter().copied().filter(|&b| b != a));
        }
    }
    for w in &mut with {
        w.sort_unstable();
        w.dedup();
    }
    with
}

impl OvrModel {
    /// Thresholds tuned, as training tunes them, on the held-out probabilities of the calibration documents
    /// `docs` only (positions among them; `probs[l]` and `positives[l]` cover every calibration document).
    fn thresholds_on(&self, probs: &[&[f32]], positives: &[Vec<u32>], docs: &[u32]) -> Vec<f32> {
        let n = probs.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut pos_in = vec![u32::MAX; n];
        for (k, &d) in docs.iter().enumerate() {
            pos_in[d as usize] = k as u32;
        }
        let sub: Vec<Vec<f32>> = probs
            .iter()
            .map(|p| if p.is_empty() { Vec::new() } else { docs.iter().map(|&d| p[d as usize]).collect() })
            .collect();
        let sub_pos: Vec<Vec<u32>> = positives
            .iter()
            .map(|ps| ps.iter().map(|&d| pos_in[d as usize]).filter(|&k| k != u32::MAX).collect())
            .collect();
        let mut thresholds: Vec<f32> = (0..probs.len())
            .map(|l| {
                if sub[l].is_empty() {
                    return self.thresholds[l];
                }
                let mut y = vec![false; docs.len()];
                sub_pos[l].iter().for_each(|&k| y[k as usize] = true);
                scut_fbr(&sub[l], &y, self.params.fbr)
            })
            .collect();
        if self.params.thresholds == crate::params::ThresholdObjective::MicroF1 {
            let p: Vec<&[f32]> = sub.iter().map(Vec::as_slice).collect();
            let ys: Vec<&[u32]> = sub_pos.iter().map(Vec::as_slice).collect();
            crate::calibrate::micro_f1_thresholds(&p, &ys, &mut thresholds);
        }
        thresholds
    }

    /// The held-out report: every calibration document is tagged from its out-of-fold probabilities with
    /// thresholds tuned on the *other* calibration documents (10 seeded groups), so the figure does not include
    /// the optimism of thresholds fitted to the very documents they are scored on (with many rare labels, e.g.
    /// 2,000 labels on 2,000 documents, that optimism alone was 0.03 micro-F1). The served thresholds are the
    /// ones tuned on all of them, so the estimate is, if anything, slightly cautious.
    fn cv_report(&mut self, probs_of: &[&[f32]], positives: &[Vec<u32>], sets: &[Vec<u32>], folds: usize) -> CvReport {
        let n = sets.len();
        let groups = 10.min(n).max(1);
        let mut order: Vec<u32> = (0..n as u32).collect();
        Rng::new(self.params.seed ^ 0x7468_7265_7368).shuffle(&mut order);
        let mut group_of = vec![0usize; n];
        for (k, &d) in order.iter().enumerate() {
            group_of[d as usize] = k % groups;
        }
        let served = self.thresholds.clone();
        let fill = |d: usize, probs: &mut [f32]| {
            for (l, p) in probs_of.iter().enumerate() {
                probs[l] = p.get(d).copied().unwrap_or(0.0);
            }
        };
        let names = |tags: Vec<(u32, f32)>| -> Vec<String> { tags.into_iter().map(|(l, _)| l.to_string()).collect() };
        let gold: Vec<Vec<String>> = sets.iter().map(|s| s.iter().map(|l| l.to_string()).collect()).collect();
        let mut probs = vec![0.0f32; self.n_labels];
        let tuned: Vec<Vec<String>> = (0..n)
            .map(|d| {
                fill(d, &mut probs);
                names(self.decide(&probs, Decision::ModelRule))
            })
            .collect();
        let tuned_micro_f1 = metrics::evaluate(&gold, &tuned, &tuned).micro_f1;
        let mut selected = vec![Vec::new(); n];
        let mut ranked = vec![Vec::new(); n];
        for g in 0..groups {
            let (others, mine): (Vec<u32>, Vec<u32>) = (0..n as u32).partition(|&d| group_of[d as usize] != g);
            self.thresholds =
                if groups > 1 { self.thresholds_on(probs_of, positives, &others) } else { served.clone() };
            for d in mine.into_iter().map(|d| d as usize) {
                fill(d, &mut probs);
                selected[d] = names(self.decide(&probs, Decision::ModelRule));
                ranked[d] = names(self.decide(&probs, Decision::TopK { k: 5, min_score: None }));
            }
        }
        self.thresholds = served;
        // The scoring cache holds floors derived from the thresholds.
        self.cache = ScoringCache::default();
        let r = metrics::evaluate(&gold, &selected, &ranked);
        CvReport {
            folds,
            micro_f1: r.micro_f1,
            micro_precision: r.micro_precision,
            micro_recall: r.micro_recall,
            tuned_micro_f1,
            macro_f1: r.macro_f1,
            p_at_1: r.p_at_1,
        }
    }

    /// The out-of-fold probabilities of training, while the model still holds them (a freshly fitted model
    /// with calibration folds; never a loaded one).
    pub fn out_of_fold(&self) -> Option<&OutOfFold> {
        self.out_of_fold.0.as_deref()
    }

    /// Drop the out-of-fold probabilities.
    pub fn forget_out_of_fold(&mut self) {
        self.out_of_fold = OutOfFoldSlot::default();
    }

    /// Whether `label` has weights (it had a positive training example).
    pub fn is_trained(&self, label: usize) -> bool {
        self.trained.get(label).copied().unwrap_or(false)
    }

    /// Number of labels.
    pub fn n_labels(&self) -> usize {
        self.n_labels
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Stored (non-pruned) weights.
    pub fn n_weights(&self) -> usize {
        self.weights.nnz()
    }

    /// Per-label thresholds on probability.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }

    /// Whether each label had training examples.
    pub fn trained(&self) -> &[bool] {
        &self.trained
    }

    /// The weight of `feature` for `label` (0 when pruned or absent).
    pub fn weight(&self, feature: u32, label: u32) -> f32 {
        if feature as usize >= self.n_features {
            return 0.0;
        }
        let r = self.weights.row(feature as usize);
        r.indices.binary_search(&label).map_or(0.0, |k| r.data[k])
    }

    /// Build the tables scoring uses now rather than on first use, so that a model just loaded tags its first
    /// documents as fast as the rest ([`TaggerModel::prepare`](crate::TaggerModel::prepare) calls it).
    pub fn prepare(&self) {
        self.scoring();
    }

    /// What scoring reads, built on first use.
    fn scoring(&self) -> &Scoring {
        self.cache.get(&self.weights, self.n_labels, &self.calibration, &self.thresholds, &self.trained)
    }

    /// Raw decision values `wᵀx + b` of one row into `out` (length `n_labels`).
    pub fn decision_values(&self, row: SparseRow<'_>, out: &mut [f32]) {
        out.copy_from_slice(&self.label_bias);
        let scoring = self.scoring();
        for (&j, &v) in row.indices.iter().zip(row.data) {
            if (j as usize) < self.n_features {
                scoring.add_row(&self.weights, j as usize, v, out);
            }
        }
    }

    /// The tags of one row under `decision` (see [`tag_scores`](Self::tag_scores)). `scratch` holds at least
    /// `2 × n_labels` floats.
    pub fn tag_row(&self, row: SparseRow<'_>, decision: Decision, scratch: &mut Vec<f32>) -> Vec<(u32, f32)> {
        let n = self.n_labels;
        scratch.resize(2 * n, 0.0);
        let (raw, probs) = scratch.split_at_mut(n);
        self.decision_values(row, raw);
        self.tag_scores(raw, decision, probs)
    }

    /// The tags of several rows (scored as [`map_decision_values`](Self::map_decision_values) does).
    pub fn tag_rows(&self, rows: &[SparseRow<'_>], decision: Decision) -> Vec<Vec<(u32, f32)>> {
        let mut probs = vec![0.0f32; self.n_labels];
        self.map_decision_values(rows, |_, raw| self.tag_scores(raw, decision, &mut probs))
    }

    /// `f(i, raw)` for each row `i` and its raw decision values, in order. A model whose weights fit the
    /// caches ([`BATCH_WEIGHT_BYTES`]) scores one document at a time, and `f` reads its scores while the core's
    /// nearest cache still holds them; a larger one scores the rows as a batch
    /// ([`with_decision_values`](Self::with_decision_values)), reading each weight row from memory once.
    /// The values are the same either way, bit for bit.
    pub fn map_decision_values<T>(&self, rows: &[SparseRow<'_>], mut f: impl FnMut(usize, &[f32]) -> T) -> Vec<T> {
        let n = self.n_labels;
        if self.weights.nnz() * BYTES_PER_WEIGHT > BATCH_WEIGHT_BYTES {
            return self.with_decision_values(rows, |raw| {
                raw.chunks_exact(n.max(1)).take(rows.len()).enumerate().map(|(i, r)| f(i, r)).collect()
            });
        }
        let mut raw = vec![0.0f32; n];
        rows.iter()
            .enumerate()
            .map(|(i, &row)| {
                self.decision_values(row, &mut raw);
                f(i, &raw)
            })
            .collect()
    }

    /// Call `f` with the raw decision values of `rows` (`rows.len() × n_labels`, row-major), computed into a
    /// buffer the thread keeps: a batch's buffer is hundreds of kilobytes, and allocating it afresh for every
    /// batch made the allocator hand the memory back and the kernel zero new pages each time (a fifth of the
    /// tagging time in a profile of `kirjastonhoitaja`).
    pub fn with_decision_values<T>(&self, rows: &[SparseRow<'_>], f: impl FnOnce(&[f32]) -> T) -> T {
        thread_local! {
            static RAW: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        // Taken out of the cell, so that a nested call (none today) would allocate instead of panicking.
        let mut raw = RAW.with(|r| std::mem::take(&mut *r.borrow_mut()));
        raw.clear();
        // Each document starts from the biases (written once, not zeroed first).
        for _ in rows {
            raw.extend_from_slice(&self.label_bias);
        }
        self.add_decision_values(rows, &mut raw);
        let out = f(&raw);
        RAW.with(|r| *r.borrow_mut() = raw);
        out
    }

    /// The tags for raw decision values `raw`: the same as [`decide`](Self::decide) on their probabilities, but
    /// under the model's own rule it computes the probability (an `exp` each) only of labels whose raw score can
    /// reach their threshold, and of every label only when none does (for "at least one tag"). `probs` is
    /// scratch space of `n_labels` floats.
    pub fn tag_scores(&self, raw: &[f32], decision: Decision, probs: &mut [f32]) -> Vec<(u32, f32)> {
        if !matches!(decision, Decision::ModelRule) {
            self.calibrate_into(raw, probs);
            return self.decide(probs, decision);
        }
        let floors = &self.scoring().raw_floor;
        let mut any = false;
        for (l, (p, &s)) in probs.iter_mut().zip(raw).enumerate() {
            // Below its floor a label's probability is under its threshold: it cannot be chosen, so 0 stands in.
            if self.trained[l] && s >= floors[l] {
                *p = self.calibration[l].prob(s);
                any |= *p >= self.thresholds[l];
            } else {
                *p = 0.0;
            }
        }
        if !any {
            // Nothing passes: "at least one tag" needs the best probability of all.
            self.calibrate_into(raw, probs);
        }
        self.decide(probs, decision)
    }

    /// Label `l`'s probability for raw score `s` (0 for a label without training examples).
    #[inline]
    fn calibrated(&self, l: usize, s: f32) -> f32 {
        if self.trained[l] { self.calibration[l].prob(s) } else { 0.0 }
    }

    fn calibrate_into(&self, raw: &[f32], probs: &mut [f32]) {
        for (l, (p, &s)) in probs.iter_mut().zip(raw).enumerate() {
            *p = self.calibrated(l, s);
        }
    }

    /// Raw decision values of several rows into `out` (`rows.len() × n_labels`, row after row), one feature at a
    /// time: each weight row is read from memory once for the whole batch rather than once per document (at
    /// thesaurus scale scoring is bound by reading weights: a frequent word's row holds thousands of them).
    /// Each document still receives its features' contributions in increasing feature order, so its values
    /// are bit for bit those of [`decision_values`](Self::decision_values).
    pub fn decision_values_batch(&self, rows: &[SparseRow<'_>], out: &mut [f32]) {
        for o in out.chunks_exact_mut(self.n_labels.max(1)).take(rows.len()) {
            o.copy_from_slice(&self.label_bias);
        }
        self.add_decision_values(rows, out);
    }

    /// [`decision_values_batch`](Self::decision_values_batch) on `out` already holding the biases.
    fn add_decision_values(&self, rows: &[SparseRow<'_>], out: &mut [f32]) {
        let n = self.n_labels;
        let mut entries: Vec<(u32, u32, f32)> = Vec::with_capacity(rows.iter().map(|r| r.indices.len()).sum());
        for (d, r) in rows.iter().enumerate() {
            for (&j, &v) in r.indices.iter().zip(r.data) {
                if (j as usize) < self.n_features {
                    entries.push((j, d as u32, v));
                }
            }
        }
        // Each row's features are increasing and the rows went in in order, so a stable sort on the feature
        // alone gives (feature, document) order, and it finds the rows' runs and merges them (callgrind: 10k
        // fewer instructions a document than sorting on both fields, unstably).
        entries.sort_by_key(|&(j, _, _)| j);
        let scoring = self.scoring();
        for &(j, d, v) in &entries {
            scoring.add_row(&self.weights, j as usize, v, &mut out[d as usize * n..(d as usize + 1) * n]);
        }
    }

    /// The `k` trained labels of highest probability with probability above 0, best first (ties by label id),
    /// from raw decision values. The calibration's sigmoid is one increasing function of `-(a·s + b)` for every
    /// label, so the labels are ranked on that and only the `k` best pay for an `exp`.
    pub fn best_probabilities(&self, raw: &[f32], k: usize) -> Vec<(u32, f32)> {
        let scoring = self.scoring();
        let n = raw.len().min(self.n_labels);
        // Every logit at once (a loop the compiler vectorises); untrained labels get −∞ and are skipped, as a
        // probability of 0 would be.
        let logits: Vec<f32> = raw[..n]
            .iter()
            .zip(&scoring.logit_a[..n])
            .zip(&scoring.logit_b[..n])
            .map(|((&s, &a), &b)| -(a * s + b))
            .collect();
        let order = top_logits(&logits, k);
        let mut out: Vec<(u32, f32)> = order
            .into_iter()
            .map(|(_, l)| (l, self.calibrated(l as usize, raw[l as usize])))
            .filter(|&(_, p)| p > 0.0)
            .collect();
        out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    fn calibrate_all(&self, scores: &mut [f32]) {
        for (l, s) in scores.iter_mut().enumerate() {
            *s = self.calibrated(l, *s);
        }
    }

    /// Calibrated probabilities of one row into `out` (length `n_labels`).
    pub fn probabilities(&self, row: SparseRow<'_>, out: &mut [f32]) {
        self.decision_values(row, out);
        self.calibrate_all(out);
    }

    /// Apply a decision to one document's probabilities: the chosen `(label, probability)` pairs, best first
    /// (ties broken by label id, so the order is deterministic).
    pub fn decide(&self, probs: &[f32], decision: Decision) -> Vec<(u32, f32)> {
        // Best first, ties by label id: one total order used by every rule.
        let better = |a: &u32, b: &u32| probs[*b as usize].total_cmp(&probs[*a as usize]).then(a.cmp(b));
        let pick = |l: &u32| (*l, probs[*l as usize]);
        let trained = (0..probs.len() as u32).filter(|&l| self.trained.get(l as usize).copied().unwrap_or(false));
        match decision {
            Decision::TopK { k, min_score } => {
                let mut order: Vec<u32> = trained.collect();
                // Only the k best need ordering.
                if k > 0 && k < order.len() {
                    order.select_nth_unstable_by(k - 1, better);
                    order.truncate(k);
                }
                order.sort_unstable_by(better);
                order.truncate(k);
                order.iter().filter(|&&l| min_score.is_none_or(|m| probs[l as usize] >= m)).map(pick).collect()
            }
            Decision::ModelRule | Decision::MinScore(_) => {
                let floor = match decision {
                    Decision::MinScore(m) => m,
                    _ => self.rule.min_score,
                };
                let passes =
                    |l: &u32| probs[*l as usize] >= self.thresholds[*l as usize] && probs[*l as usize] >= floor;
                let mut chosen: Vec<u32> = trained.clone().filter(passes).collect();
                chosen.sort_unstable_by(better);
                let mut out: Vec<(u32, f32)> = chosen.iter().map(pick).collect();
                if self.rule.require_cooccurrence
                    && let Some(&(best, _)) = out.first()
                {
                    let with = &self.cooccur[best as usize];
                    out.retain(|&(l, _)| l == best || with.binary_search(&l).is_ok());
                }
                if self.rule.top_k > 0 {
                    out.truncate(self.rule.top_k);
                }
                if out.is_empty()
                    && self.rule.at_least_one
                    && let Some(best) = trained.min_by(better)
                    && probs[best as usize] >= floor
                {
                    out.push(pick(&best));
                }
                out
            }
        }
    }

    /// Check internal consistency after loading.
    pub fn validate(&self) -> Result<(), String> {
        let l = self.n_labels;
        if self.label_bias.len() != l
            || self.calibration.len() != l
            || self.thresholds.len() != l
            || self.trained.len() != l
        {
            return Err("per-label arrays disagree with the label count".into());
        }
        if self.cooccur.len() != l || self.cooccur.iter().flatten().any(|&m| m as usize >= l) {
            return Err("co-occurrence table disagrees with the label count".into());
        }
        if self.weights.n_rows() != self.n_features || self.weights.n_cols() != l {
            return Err("weight matrix shape disagrees with features × labels".into());
        }
        self.weights.validate()?;
        if self.thresholds.iter().chain(&self.label_bias).any(|v| !v.is_finite()) {
            return Err("non-finite threshold or bias".into());
        }
        Ok(())
    }
}

/// Scores (calibrated probabilities, samples × labels) through linfa's `Predict`: `model.predict(&dataset)`.
impl PredictInplace<SparseRecords, Array2<f32>> for OvrModel {
    fn predict_inplace(&self, x: &SparseRecords, y: &mut Array2<f32>) {
        let mut buf = vec![0.0f32; self.n_labels];
        for (i, row) in x.rows.rows().enumerate() {
            if i >= y.nrows() || y.ncols() != self.n_labels {
                break;
            }
            self.probabilities(row, &mut buf);
            for (l, &p) in buf.iter().enumerate() {
                y[[i, l]] = p;
            }
        }
    }

    fn default_target(&self, x: &SparseRecords) -> Array2<f32> {
        Array2::zeros((x.rows.n_rows(), self.n_labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Logits with many ties, labels never chosen (−∞), infinities and NaNs of both signs.
    fn logit() -> impl Strategy<Value = f32> {
        prop_oneof![
            8 => (-40i32..40).prop_map(|x| x as f32 / 8.0),
            4 => -1e3f32..1e3,
            2 => Just(f32::NEG_INFINITY),
            1 => Just(f32::INFINITY),
            1 => Just(f32::NAN),
            1 => Just(-f32::NAN),
        ]
    }

    proptest! {
        /// The sampled threshold keeps exactly the `k` best a full sort ranks first (value by `total_cmp`, then
        /// lower label; −∞ never), whatever the ties, the NaNs and the sample's luck.
        #[test]
        fn top_logits_are_the_k_best_of_a_full_sort(logits in prop::collection::vec(logit(), 0..400), k in 0usize..80) {
            let by = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            let mut all: Vec<(f32, u32)> = logits
                .iter()
                .enumerate()
                .filter(|&(_, &x)| x != f32::NEG_INFINITY)
                .map(|(l, &x)| (x, l as u32))
                .collect();
            all.sort_by(by);
            if k > 0 {
                all.truncate(k);
            }
            let mut got = top_logits(&logits, k);
            got.sort_by(by);
            let bits = |v: &[(f32, u32)]| v.iter().map(|&(x, l)| (x.to_bits(), l)).collect::<Vec<_>>();
            prop_assert_eq!(bits(&got), bits(&all));
        }
    }

    /// Dense rows, narrow label ids and plain sparse rows each add exactly what the weight matrix holds, in
    /// feature order: the scores equal a reference computed from the matrix entry by entry, bit for bit.
    #[test]
    fn scoring_adds_each_row_as_the_weight_matrix_holds_it() {
        let n_labels = 40;
        let mut weights = CsrMatrix::new(n_labels);
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        // Row j holds every label with probability (j % 10 + 1) / 10: dense rows and sparse ones.
        for j in 0..60u32 {
            let (mut idx, mut val) = (Vec::new(), Vec::new());
            for l in 0..n_labels as u32 {
                if next() % 10 <= j % 10 {
                    idx.push(l);
                    val.push((next() % 2001) as f32 / 1000.0 - 1.0);
                }
            }
            weights.push_row(&idx, &val);
        }
        let docs: Vec<(Vec<u32>, Vec<f32>)> = (0..20)
            .map(|d| {
                let idx: Vec<u32> = (0..60).filter(|j| (j * 7 + d) % 5 == 0).collect();
                let val = idx.iter().map(|&j| 0.1 + (j % 13) as f32 / 7.0).collect();
                (idx, val)
            })
            .collect();
        for narrow in [true, false] {
            let scoring = Scoring::build(&weights, n_labels, narrow, Vec::new(), (Vec::new(), Vec::new()));
            let dense = scoring.slot.iter().filter(|&&s| s != u32::MAX).count();
            assert!(dense > 0 && dense < 60, "{dense} dense rows");
            assert_eq!(scoring.narrow.len(), if narrow { weights.nnz() } else { 0 });
            for (idx, val) in &docs {
                let mut got = vec![0.5f32; n_labels];
                let mut want = got.clone();
                for (&j, &v) in idx.iter().zip(val) {
                    scoring.add_row(&weights, j as usize, v, &mut got);
                    let row = weights.row(j as usize);
                    for (l, w) in want.iter_mut().enumerate() {
                        *w += row.indices.binary_search(&(l as u32)).map_or(0.0, |k| row.data[k]) * v;
                    }
                }
                assert_eq!(got, want, "narrow {narrow}");
            }
        }
    }

    /// The sample keeps every row positive in some lane, draws exactly `max` negatives (distinct, from the
    /// rows given), weights them to the negatives' total, and is fixed by its seed.
    #[test]
    fn a_negative_sample_keeps_the_positives_and_stands_for_every_negative() {
        let rows: Vec<u32> = (0..1000).filter(|d| d % 7 != 3).collect();
        let ys: Vec<LaneMask> = (0..1000u32).map(|d| if d % 10 == 0 { 0b101 } else { 0 }).collect();
        let positives = rows.iter().filter(|&&d| ys[d as usize] != 0).count();
        let negatives = rows.len() - positives;
        assert!(sample_negatives(&rows, &ys, 0, 1).is_none(), "0 means never");
        assert!(sample_negatives(&rows, &ys, negatives, 1).is_none(), "no more negatives than the cap");
        let (kept, weight) = sample_negatives(&rows, &ys, 200, 1).unwrap();
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
        assert!(kept.iter().all(|d| rows.contains(d)));
        assert_eq!(kept.iter().filter(|&&d| ys[d as usize] != 0).count(), positives);
        let sampled: Vec<f32> =
            kept.iter().zip(&weight).filter(|(d, _)| ys[**d as usize] == 0).map(|(_, w)| *w).collect();
        assert_eq!(sampled.len(), 200);
        assert!((sampled.iter().sum::<f32>() - negatives as f32).abs() < 1e-2);
        assert!(kept.iter().zip(&weight).all(|(d, w)| ys[*d as usize] == 0 || *w == 1.0));
        assert_eq!(sample_negatives(&rows, &ys, 200, 1), Some((kept.clone(), weight)));
        assert_ne!(sample_negatives(&rows, &ys, 200, 2).unwrap().0, kept, "another seed, another sample");
    }
}
