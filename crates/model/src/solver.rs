//! Dual coordinate descent for L2-regularised linear classifiers (Hsieh et al., ICML 2008; Yu, Huang & Lin,
//! MLJ 2011) — the algorithms behind liblinear's `-s 1` (L2-loss SVM, dual) and `-s 7` (logistic regression,
//! dual) — written against our sparse rows.
//!
//! Both solve, for one binary problem with labels `y_i ∈ {-1, +1}`,
//! `min_w ½‖w‖² + Σ_i C_i ξ(y_i wᵀx_i)` with `ξ(m) = max(0, 1 − m)²` (squared hinge) or `log(1 + e^(−m))`
//! (logistic). A bias is learnt as one extra feature of constant value `bias` (regularised, as in liblinear).
//! The order of coordinate updates comes from a seeded generator, so results are identical for a given seed on
//! any number of threads.

use serde::{Deserialize, Serialize};
use tagger_features::CsrMatrix;

/// The loss of the binary sub-problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Squared hinge (L2-loss SVM), like scikit-learn's `LinearSVC` and liblinear `-s 1`.
    SquaredHinge,
    /// Logistic loss (logistic regression), like liblinear `-s 7`.
    Logistic,
}

/// SplitMix64: a tiny, fixed pseudo-random generator (reproducible across versions of every dependency).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant for shuffling.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Labels solved together by one call of the squared-hinge solver: their weights are interleaved (as f32), so
/// one cache line holds a feature's weights for every lane and a pass over a row serves all of them at once.
pub(crate) const LANES: usize = 16;

/// One bit per lane of a block (`LANES` bits).
pub(crate) type LaneMask = u16;

/// Lanes per block for problems over the rows of `x`: [`LANES`], or half as many when the rows are long and the
/// interleaved weights (`n_cols × LANES` f32) outgrow a core's 1 MiB L2 cache. A pass over a row then waits on a
/// cache line of weights per feature, and halving the lanes halves those bytes; with short rows the lanes' own
/// per-row work dominates and more lanes share it. Measured on 2 cores (classifier seconds, 16 → 8 lanes):
/// `kirjastonhoitaja` (101 features a row, 54k columns) 30 → 24, CAIL2019 (1,372 a row) and Reuters (70)
/// slightly faster, `makupalat` (17 a row, 47k columns) 35 → 43, so short rows keep 16.
pub(crate) fn lanes_for(x: &CsrMatrix) -> usize {
    let long_rows = x.nnz() >= 32 * x.n_rows();
    let outgrow_l2 = x.n_cols().saturating_mul(LANES * 4) > 1 << 20;
    if long_rows && outgrow_l2 { LANES / 2 } else { LANES }
}

/// Up to [`LANES`] binary problems over the same subset of the rows of `x` (one per lane).
pub(crate) struct Problem<'a> {
    pub x: &'a CsrMatrix,
    /// Rows taking part (indices into `x`).
    pub rows: &'a [u32],
    /// Bit `b` of `ys[k]` is set when `rows[k]` is a positive example of lane `b`.
    pub ys: &'a [LaneMask],
    /// Lanes in use (1..=LANES).
    pub lanes: usize,
    /// Squared norm of each row of `x`, bias included.
    pub sq_norms: &'a [f64],
    /// Value of the constant bias feature (0 = no bias).
    pub bias: f64,
    /// Penalty for positive and negative examples.
    pub c_pos: f64,
    pub c_neg: f64,
    /// How many examples each row stands for (`row_weight[k]` for `rows[k]`, > 0; none = 1 each): its penalty is
    /// multiplied by it, as if it were repeated that many times — e.g. a sampled negative standing for the rows
    /// not sampled.
    pub row_weight: Option<&'a [f32]>,
    /// Decision values of a prior model (`prior[k * LANES + lane]` for `rows[k]`, bias included): when given, the
    /// solver fits the change `v` to that model's weights `w₀` — `min ½‖v‖² + C Σ ξ(y (w₀ + v)ᵀx)`, i.e. the
    /// problem regularised towards `w₀` instead of towards 0 — and the block holds `v` (incremental learning).
    /// Squared hinge only.
    pub prior: Option<&'a [f64]>,
    /// Dual values to start from (`init[k * LANES + lane]` for `rows[k]`, each ≥ 0; squared hinge only), e.g.
    /// those of a fit on a superset of the rows: the solver then starts at `w = Σ α y x` and needs fewer passes
    /// to reach the same stopping test.
    pub init: Option<&'a [f64]>,
}

impl Problem<'_> {
    #[inline]
    fn positive(&self, k: usize, lane: usize) -> bool {
        (self.ys[k] >> lane) & 1 == 1
    }

    /// The row weight of `rows[k]` (see [`Problem::row_weight`]).
    #[inline]
    fn weight(&self, k: usize) -> f64 {
        self.row_weight.map_or(1.0, |w| f64::from(w[k]))
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SolverSettings {
    pub loss: Loss,
    pub tol: f64,
    pub max_iter: usize,
    pub seed: u64,
    /// Return the final dual values in [`Block::alpha`] (squared hinge), to warm-start a related fit.
    pub keep_alpha: bool,
}

/// The solution of one lane: `weights[..n_features]` and the bias weight.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    pub weights: Vec<f64>,
    pub bias: f64,
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the solver tests"))]
    pub iterations: usize,
}

impl Solution {
    /// Whether a stored model keeps a weight: nonzero and `|w| ≥ below` (`prune_below`).
    fn kept(w: f64, below: f64) -> bool {
        w != 0.0 && w.abs() >= below
    }

    /// The weights a stored model keeps, as `(feature, weight)` by increasing feature.
    pub fn kept_weights(&self, below: f64) -> Vec<(u32, f32)> {
        self.weights
            .iter()
            .enumerate()
            .filter(|&(_, &w)| Self::kept(w, below))
            .map(|(j, &w)| (j as u32, w as f32))
            .collect()
    }

    #[cfg(test)]
    pub fn decision(&self, x: &CsrMatrix, row: usize, bias: f64) -> f64 {
        let r = x.row(row);
        let mut s = self.bias * bias;
        for (&j, &v) in r.indices.iter().zip(r.data) {
            s += self.weights[j as usize] * f64::from(v);
        }
        s
    }
}

/// The solutions of one block of lanes, weights kept interleaved as the solver left them (`w[feature × stride +
/// lane]`): pruning, held-out scores and the kept weights of every lane then take one pass over the weights,
/// instead of one strided pass per lane to copy each out (about 5% of a profile's samples on `kirjastonhoitaja`;
/// the training time did not measurably change). Arithmetic per lane is that of [`Solution`]: weights widened to
/// f64, row order.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    lanes: usize,
    stride: usize,
    /// Interleaved weights of the blocked squared-hinge solver (empty for the logistic one).
    w32: Vec<f32>,
    /// Interleaved weights of the logistic solver (empty for the squared-hinge one).
    w64: Vec<f64>,
    bias: Vec<f64>,
    iterations: Vec<usize>,
    /// The dual values (`alpha[k * LANES + lane]` for `rows[k]`) when [`SolverSettings::keep_alpha`] asked.
    pub alpha: Vec<f64>,
}

impl Block {
    /// An all-zero block of f64 weights shaped like `like`, to accumulate a mean of blocks in (see
    /// [`Block::add_scaled`]).
    pub fn zeros_like(like: &Block) -> Block {
        Block {
            lanes: like.lanes,
            stride: like.stride,
            w32: Vec::new(),
            w64: vec![0.0; like.n_features() * like.stride],
            bias: vec![0.0; like.lanes],
            iterations: vec![0; like.lanes],
            alpha: Vec::new(),
        }
    }

    /// `self += k × other` in every lane, weights and biases: `self` is a block of [`Block::zeros_like`] `other`.
    /// Each weight gets `k × w` added in f64, as a lane's [`Solution`] would.
    pub fn add_scaled(&mut self, k: f64, other: &Block) {
        if other.w64.is_empty() {
            self.w64.iter_mut().zip(&other.w32).for_each(|(acc, &w)| *acc += k * f64::from(w));
        } else {
            self.w64.iter_mut().zip(&other.w64).for_each(|(acc, &w)| *acc += k * w);
        }
        self.bias.iter_mut().zip(&other.bias).for_each(|(acc, &b)| *acc += k * b);
    }

    fn from_solutions(sols: Vec<Solution>) -> Block {
        let lanes = sols.len();
        let n = sols.first().map_or(0, |s| s.weights.len());
        let mut w64 = vec![0.0; n * lanes];
        for (b, s) in sols.iter().enumerate() {
            for (j, &v) in s.weights.iter().enumerate() {
                w64[j * lanes + b] = v;
            }
        }
        Block {
            lanes,
            stride: lanes.max(1),
            w32: Vec::new(),
            w64,
            bias: sols.iter().map(|s| s.bias).collect(),
            iterations: sols.iter().map(|s| s.iterations).collect(),
            alpha: Vec::new(),
        }
    }

    /// Number of lanes.
    #[cfg(test)]
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Bias weight of lane `b`.
    pub fn bias(&self, b: usize) -> f64 {
        self.bias[b]
    }

    fn n_features(&self) -> usize {
        self.w32.len().max(self.w64.len()).checked_div(self.stride).unwrap_or(0)
    }

    #[inline]
    fn at(&self, i: usize) -> f64 {
        if self.w64.is_empty() { f64::from(self.w32[i]) } else { self.w64[i] }
    }

    /// Zero, in every lane, the weights a stored model drops, so that scores computed from the block are the ones
    /// the stored model will give.
    pub fn prune(&mut self, below: f64) {
        self.w32.iter_mut().filter(|w| !Solution::kept(f64::from(**w), below)).for_each(|w| *w = 0.0);
        self.w64.iter_mut().filter(|w| !Solution::kept(**w, below)).for_each(|w| *w = 0.0);
    }

    /// The decision value of `row` in every lane (the first [`lanes`](Self::lanes) entries).
    pub fn decisions(&self, x: &CsrMatrix, row: usize, bias: f64) -> [f64; LANES] {
        let mut out = [0.0f64; LANES];
        for (b, o) in out.iter_mut().enumerate().take(self.lanes) {
            *o = self.bias[b] * bias;
        }
        let r = x.row(row);
        for (&j, &v) in r.indices.iter().zip(r.data) {
            let base = j as usize * self.stride;
            let v = f64::from(v);
            for (b, o) in out.iter_mut().enumerate().take(self.lanes) {
                *o += self.at(base + b) * v;
            }
        }
        out
    }

    /// The weights a stored model keeps, per lane (see [`Solution::kept_weights`]).
    pub fn kept_weights(&self, below: f64) -> Vec<Vec<(u32, f32)>> {
        let mut out = vec![Vec::new(); self.lanes];
        for j in 0..self.n_features() {
            for (b, kept) in out.iter_mut().enumerate() {
                let w = self.at(j * self.stride + b);
                if Solution::kept(w, below) {
                    kept.push((j as u32, w as f32));
                }
            }
        }
        out
    }

    /// Lane `b` as a [`Solution`] of its own.
    pub fn solution(&self, b: usize) -> Solution {
        Solution {
            weights: (0..self.n_features()).map(|j| self.at(j * self.stride + b)).collect(),
            bias: self.bias[b],
            iterations: self.iterations[b],
        }
    }
}

/// A weight type: f64 for the single-lane logistic solver, f32 for the blocked one (twice the lanes per cache
/// line; its rounding, ~1e-7 relative, is far below the solver's stopping tolerance).
trait Real: Copy + Default + From<f32> + Into<f64> + std::ops::AddAssign + std::ops::Mul<Output = Self> {
    fn of(v: f64) -> Self;
}

impl Real for f64 {
    fn of(v: f64) -> Self {
        v
    }
}

impl Real for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
}

/// `wᵀx` of one row for every lane (weights interleaved: `w[feature][lane]`; the bias weight last).
#[inline]
fn dots<T: Real, const L: usize>(w: &[[T; L]], wb: &[f64; L], x: &CsrMatrix, row: usize, bias: f64) -> [f64; L] {
    let r = x.row(row);
    let mut acc = [T::default(); L];
    for (&j, &v) in r.indices.iter().zip(r.data) {
        let (wj, v) = (&w[j as usize], T::from(v));
        for b in 0..L {
            acc[b] += wj[b] * v;
        }
    }
    let mut out = [0.0f64; L];
    for b in 0..L {
        out[b] = acc[b].into() + wb[b] * bias;
    }
    out
}

/// `w += a x` for every lane at once (lanes with `a = 0` are unchanged).
#[inline]
fn axpys<T: Real, const L: usize>(
    a: &[f64; L],
    w: &mut [[T; L]],
    wb: &mut [f64; L],
    x: &CsrMatrix,
    row: usize,
    bias: f64,
) {
    let r = x.row(row);
    let at = a.map(T::of);
    for (&j, &v) in r.indices.iter().zip(r.data) {
        let (wj, v) = (&mut w[j as usize], T::from(v));
        for b in 0..L {
            wj[b] += at[b] * v;
        }
    }
    for b in 0..L {
        wb[b] += a[b] * bias;
    }
}

/// Solve every lane of `p`; one solution per lane, in lane order.
#[cfg(test)]
pub(crate) fn solve(p: &Problem<'_>, s: &SolverSettings) -> Vec<Solution> {
    let block = solve_block(p, s);
    (0..block.lanes()).map(|b| block.solution(b)).collect()
}

/// Solve every lane of `p`, the weights left interleaved in a [`Block`].
pub(crate) fn solve_block(p: &Problem<'_>, s: &SolverSettings) -> Block {
    match s.loss {
        Loss::SquaredHinge if p.lanes == 1 => solve_l2_svm::<1>(p, s),
        Loss::SquaredHinge if p.lanes <= LANES / 2 => solve_l2_svm::<{ LANES / 2 }>(p, s),
        Loss::SquaredHinge => solve_l2_svm::<LANES>(p, s),
        Loss::Logistic => Block::from_solutions((0..p.lanes).map(|b| solve_logistic(p, b, s)).collect()),
    }
}

/// Hsieh et al. 2008, Algorithm 3 with shrinking, for the squared hinge (upper bound U = ∞, D_ii = 1/(2C)),
/// run for `L` independent problems that share the rows and their visiting order. Lanes are independent
/// (each has its own weights, dual variables, shrinking and stopping test); sharing the order only lets one
/// pass over a row compute every lane's gradient, which is where the time goes.
fn solve_l2_svm<const L: usize>(p: &Problem<'_>, s: &SolverSettings) -> Block {
    let n = p.rows.len();
    let lanes = p.lanes.min(L);
    let all: LaneMask = (0..lanes).fold(0, |m, b| m | 1 << b);
    let mut w = vec![[0.0f32; L]; p.x.n_cols()];
    let mut wb = [0.0f64; L];
    let mut alpha = vec![[0.0f64; L]; n];
    let (d_pos, d_neg) = (0.5 / p.c_pos, 0.5 / p.c_neg);
    let mut index: Vec<u32> = (0..n as u32).collect();
    // Lanes for which each row is still active (not shrunk), and lanes not yet converged.
    let mut mask = vec![all; n];
    let mut live = all;
    let mut active = n;
    let mut rng = Rng::new(s.seed);
    // With U = ∞ only the α = 0 shrinking test applies, so only the previous pass's largest gradient is kept.
    let mut pg_max_old = [f64::INFINITY; L];
    let mut shrunk = [false; L];
    let mut iterations = [0usize; L];
    if let Some(init) = p.init {
        // Start from the given duals: w = Σ α y x over the rows.
        for (k, a) in alpha.iter_mut().enumerate() {
            let mut step = [0.0f64; L];
            for b in 0..lanes {
                let v = init.get(k * LANES + b).copied().unwrap_or(0.0).max(0.0);
                a[b] = v;
                step[b] = if p.positive(k, b) { v } else { -v };
            }
            if step.iter().any(|&v| v != 0.0) {
                axpys(&step, &mut w, &mut wb, p.x, p.rows[k] as usize, p.bias);
            }
        }
    }
    let mut iter = 0;
    while iter < s.max_iter && live != 0 {
        let (mut pg_max, mut pg_min) = ([f64::NEG_INFINITY; L], [f64::INFINITY; L]);
        rng.shuffle(&mut index[..active]);
        let mut k = 0;
        while k < active {
            let i = index[k] as usize;
            let m = mask[i] & live;
            if m == 0 {
                active -= 1;
                index.swap(k, active);
                continue;
            }
            let row = p.rows[i] as usize;
            let g_all = dots(&w, &wb, p.x, row, p.bias);
            let wi = p.weight(i);
            let mut step = [0.0f64; L];
            let mut any = false;
            for b in 0..lanes {
                if m & (1 << b) == 0 {
                    continue;
                }
                let (yi, d) = if p.positive(i, b) { (1.0, d_pos / wi) } else { (-1.0, d_neg / wi) };
                let a = alpha[i][b];
                let prior = p.prior.map_or(0.0, |o| o[i * LANES + b]);
                let g = yi * (g_all[b] + prior) - 1.0 + a * d;
                let mut pg = 0.0;
                if a == 0.0 {
                    if g > pg_max_old[b] {
                        // Shrink: this example is very likely to stay at the bound for this lane.
                        mask[i] &= !(1 << b);
                        shrunk[b] = true;
                        continue;
                    } else if g < 0.0 {
                        pg = g;
                    }
                } else {
                    pg = g;
                }
                pg_max[b] = pg_max[b].max(pg);
                pg_min[b] = pg_min[b].min(pg);
                if pg.abs() > 1e-12 {
                    let new = (a - g / (p.sq_norms[row] + d)).max(0.0);
                    alpha[i][b] = new;
                    step[b] = (new - a) * yi;
                    any = true;
                }
            }
            if any {
                axpys(&step, &mut w, &mut wb, p.x, row, p.bias);
            }
            k += 1;
        }
        iter += 1;
        for b in 0..lanes {
            if live & (1 << b) == 0 {
                continue;
            }
            iterations[b] += 1;
            if pg_max[b] - pg_min[b] <= s.tol {
                if !shrunk[b] {
                    live &= !(1 << b);
                    continue;
                }
                // Converged on the shrunk set: check once more on every row.
                for m in &mut mask {
                    *m |= 1 << b;
                }
                shrunk[b] = false;
                active = n;
                pg_max_old[b] = f64::INFINITY;
            } else {
                pg_max_old[b] = if pg_max[b] <= 0.0 { f64::INFINITY } else { pg_max[b] };
            }
        }
    }
    Block {
        lanes,
        stride: L,
        w32: w.into_iter().flatten().collect(),
        w64: Vec::new(),
        bias: wb[..lanes].to_vec(),
        iterations: iterations[..lanes].to_vec(),
        alpha: if s.keep_alpha {
            alpha.iter().flat_map(|a| (0..LANES).map(move |b| if b < L { a[b] } else { 0.0 })).collect()
        } else {
            Vec::new()
        },
    }
}

/// Yu, Huang & Lin 2011 (liblinear `solve_l2r_lr_dual`): each coordinate's sub-problem is solved by a
/// safeguarded Newton method on the pair (α_i, C − α_i).
fn solve_logistic(p: &Problem<'_>, lane: usize, s: &SolverSettings) -> Solution {
    let n = p.rows.len();
    let mut w = vec![[0.0f64; 1]; p.x.n_cols()];
    let mut wb = [0.0f64; 1];
    let y: Vec<bool> = (0..n).map(|k| p.positive(k, lane)).collect();
    let upper: Vec<f64> =
        y.iter().enumerate().map(|(k, &pos)| p.weight(k) * if pos { p.c_pos } else { p.c_neg }).collect();
    // alpha[2i] is α_i, alpha[2i+1] is C_i − α_i.
    let mut alpha = vec![0.0f64; 2 * n];
    for i in 0..n {
        alpha[2 * i] = (1e-3 * upper[i]).min(1e-8);
        alpha[2 * i + 1] = upper[i] - alpha[2 * i];
        let yi = if y[i] { 1.0 } else { -1.0 };
        axpys(&[yi * alpha[2 * i]], &mut w, &mut wb, p.x, p.rows[i] as usize, p.bias);
    }
    let mut index: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(s.seed);
    let mut inner_eps = 1e-2f64;
    let inner_eps_min = s.tol.min(1e-8);
    let mut iter = 0;
    while iter < s.max_iter {
        rng.shuffle(&mut index);
        let mut newton_iters = 0usize;
        let mut gmax = 0.0f64;
        for &i in &index {
            let row = p.rows[i] as usize;
            let yi = if y[i] { 1.0 } else { -1.0 };
            let c = upper[i];
            let a = p.sq_norms[row];
            let b = yi * dots(&w, &wb, p.x, row, p.bias)[0];
            let (mut ind1, mut ind2, mut sign) = (2 * i, 2 * i + 1, 1.0);
            if 0.5 * a * (alpha[ind2] - alpha[ind1]) + b < 0.0 {
                ind1 = 2 * i + 1;
                ind2 = 2 * i;
                sign = -1.0;
            }
            let old = alpha[ind1];
            let mut z = old;
            if c - z < 0.5 * c {
                z *= 0.1;
            }
            let mut gp = a * (z - old) + sign * b + (z / (c - z)).ln();
            gmax = gmax.max(gp.abs());
            let mut inner = 0;
            while inner <= 100 {
                if gp.abs() < inner_eps {
                    break;
                }
                let gpp = a + c / (c - z) / z;
                let tmp = z - gp / gpp;
                z = if tmp <= 0.0 { z * 0.1 } else { tmp };
                gp = a * (z - old) + sign * b + (z / (c - z)).ln();
                newton_iters += 1;
                inner += 1;
            }
            if inner > 0 {
                alpha[ind1] = z;
                alpha[ind2] = c - z;
                axpys(&[sign * (z - old) * yi], &mut w, &mut wb, p.x, row, p.bias);
            }
        }
        iter += 1;
        if gmax < s.tol {
            break;
        }
        if newton_iters <= n / 10 {
            inner_eps = inner_eps_min.max(0.1 * inner_eps);
        }
    }
    Solution { weights: w.into_iter().map(|[v]| v).collect(), bias: wb[0], iterations: iter }
}

#[cfg(test)]
/// The primal objective `½‖w‖² + Σ C_i ξ(y_i wᵀx_i)` of a solution (used by tests and diagnostics).
pub(crate) fn primal_objective(p: &Problem<'_>, lane: usize, loss: Loss, sol: &Solution) -> f64 {
    let mut obj = 0.5 * (sol.weights.iter().map(|v| v * v).sum::<f64>() + sol.bias * sol.bias);
    for (k, &row) in p.rows.iter().enumerate() {
        let pos = p.positive(k, lane);
        let yi = if pos { 1.0 } else { -1.0 };
        let c = p.weight(k) * if pos { p.c_pos } else { p.c_neg };
        let m = yi * sol.decision(p.x, row as usize, p.bias);
        obj += c * match loss {
            Loss::SquaredHinge => (1.0 - m).max(0.0).powi(2),
            Loss::Logistic => (-m).exp().ln_1p(),
        };
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (CsrMatrix, Vec<bool>) {
        // Two separable clusters in 3 features.
        let mut x = CsrMatrix::new(3);
        let mut y = Vec::new();
        for i in 0..40 {
            let t = (i % 7) as f32 * 0.1;
            if i % 2 == 0 {
                x.push_row(&[0, 2], &[1.0 + t, 0.2]);
                y.push(true);
            } else {
                x.push_row(&[1, 2], &[1.0 - t * 0.5, 0.3]);
                y.push(false);
            }
        }
        (x, y)
    }

    #[test]
    fn both_losses_separate_a_toy_problem_and_converge() {
        let (x, y) = toy();
        let rows: Vec<u32> = (0..x.n_rows() as u32).collect();
        let sq: Vec<f64> = x.rows().map(|r| r.data.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() + 1.0).collect();
        let ys: Vec<LaneMask> = y.iter().map(|&b| LaneMask::from(b)).collect();
        let p = Problem {
            x: &x,
            rows: &rows,
            ys: &ys,
            lanes: 1,
            sq_norms: &sq,
            bias: 1.0,
            c_pos: 1.0,
            c_neg: 1.0,
            row_weight: None,
            prior: None,
            init: None,
        };
        for loss in [Loss::SquaredHinge, Loss::Logistic] {
            let s = SolverSettings { loss, tol: 1e-6, max_iter: 1000, seed: 7, keep_alpha: false };
            let sol = solve(&p, &s).remove(0);
            assert!(sol.iterations < 1000, "{loss:?} did not converge");
            for (k, &pos) in y.iter().enumerate() {
                assert_eq!(sol.decision(&x, k, 1.0) > 0.0, pos, "{loss:?} row {k}");
            }
            // A different seed reaches the same optimum (strictly convex problem).
            let other = solve(&p, &SolverSettings { seed: 99, ..s }).remove(0);
            let (a, b) = (primal_objective(&p, 0, loss, &sol), primal_objective(&p, 0, loss, &other));
            assert!((a - b).abs() < 1e-4 * a.max(1.0), "{loss:?}: {a} vs {b}");
        }
    }

    /// Oracle: on a small dense problem our dual logistic solver and linfa-logistic (L-BFGS on the primal)
    /// reach the same objective and the same decisions.
    #[test]
    fn logistic_matches_linfa_logistic() {
        use linfa::prelude::*;
        use linfa_logistic::LogisticRegression;
        use ndarray::{Array1, Array2};

        let (n, d) = (120usize, 6usize);
        let mut rng = Rng::new(3);
        let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let truth = [1.5, -2.0, 0.7, 0.0, 1.0, -0.5];
        let mut dense = Array2::<f64>::zeros((n, d));
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            for j in 0..d {
                dense[[i, j]] = unit() * 2.0 - 1.0;
            }
            let z: f64 = (0..d).map(|j| dense[[i, j]] * truth[j]).sum::<f64>() + 0.8 * (unit() - 0.5);
            y.push(z > 0.0);
        }
        let mut x = CsrMatrix::new(d);
        for i in 0..n {
            let idx: Vec<u32> = (0..d as u32).collect();
            let val: Vec<f32> = (0..d).map(|j| dense[[i, j]] as f32).collect();
            x.push_row(&idx, &val);
        }
        // Compare on exactly the f32-rounded data our rows hold.
        let dense = dense.mapv(|v| f64::from(v as f32));
        let c = 2.0;
        let rows: Vec<u32> = (0..n as u32).collect();
        let sq: Vec<f64> = x.rows().map(|r| r.data.iter().map(|v| f64::from(*v).powi(2)).sum()).collect();
        let ys: Vec<LaneMask> = y.iter().map(|&b| LaneMask::from(b)).collect();
        let p = Problem {
            x: &x,
            rows: &rows,
            ys: &ys,
            lanes: 1,
            sq_norms: &sq,
            bias: 0.0,
            c_pos: c,
            c_neg: c,
            row_weight: None,
            prior: None,
            init: None,
        };
        let ours = solve(
            &p,
            &SolverSettings { loss: Loss::Logistic, tol: 1e-8, max_iter: 10_000, seed: 1, keep_alpha: false },
        )
        .remove(0);

        let targets: Array1<&str> = y.iter().map(|&t| if t { "pos" } else { "neg" }).collect();
        let ds = Dataset::new(dense.clone(), targets);
        let theirs = LogisticRegression::default()
            .alpha(1.0 / c)
            .with_intercept(false)
            .max_iterations(2000)
            .gradient_tolerance(1e-10)
            .fit(&ds)
            .unwrap();
        let predicted = theirs.predict(&dense);
        // linfa orders the two classes itself; align the sign of its weights with the "pos" class.
        let w_theirs: Vec<f64> = theirs.params().to_vec();
        let z0: f64 = (0..d).map(|j| dense[[0, j]] * w_theirs[j]).sum();
        let sign = if (z0 > 0.0) == (predicted[0] == "pos") { 1.0 } else { -1.0 };
        let theirs_sol = Solution { weights: w_theirs.iter().map(|w| sign * w).collect(), bias: 0.0, iterations: 0 };
        let (a, b) =
            (primal_objective(&p, 0, Loss::Logistic, &ours), primal_objective(&p, 0, Loss::Logistic, &theirs_sol));
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "objective: ours {a}, linfa {b}");
        for i in 0..n {
            let mine = ours.decision(&x, i, 0.0) > 0.0;
            assert_eq!(mine, predicted[i] == "pos", "decision differs on row {i}");
        }
    }

    /// `n` random rows of up to `per_row` of `d` features (values 0.2–1.2), the lanes' labels from
    /// `positive(row, features, lane)` for lanes `0..lanes`, and the rows' squared norms with a bias of 1.
    fn random_problem(
        n: usize,
        d: usize,
        per_row: usize,
        seed: u64,
        lanes: usize,
        positive: impl Fn(usize, &[u32], usize) -> bool,
    ) -> (CsrMatrix, Vec<LaneMask>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut x = CsrMatrix::new(d);
        let mut ys: Vec<LaneMask> = vec![0; n];
        for (i, y) in ys.iter_mut().enumerate() {
            let mut idx: Vec<u32> = (0..per_row).map(|_| rng.below(d) as u32).collect();
            idx.sort_unstable();
            idx.dedup();
            let val: Vec<f32> = idx.iter().map(|_| 0.2 + (rng.below(100) as f32) / 100.0).collect();
            x.push_row(&idx, &val);
            for b in (0..lanes).filter(|&b| positive(i, &idx, b)) {
                *y |= 1 << b;
            }
        }
        let sq = x.rows().map(|r| r.data.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() + 1.0).collect();
        (x, ys, sq)
    }

    /// Lanes solved together are independent problems: each lane of a block reaches the optimum of its problem
    /// solved alone (same objective), whatever the other lanes hold, and a partly filled block works too.
    #[test]
    fn lanes_of_a_block_solve_their_own_problems() {
        let n = 300usize;
        // Lane b is positive when feature b (or b + 8) is present, with some label noise on odd rows.
        let (x, ys, sq) = random_problem(n, 40, 6, 11, LANES, |i, idx, b| {
            idx.iter().any(|&j| j as usize == b || j as usize == b + 8) != (i % 29 == b)
        });
        let rows: Vec<u32> = (0..n as u32).collect();
        let s = SolverSettings { loss: Loss::SquaredHinge, tol: 1e-5, max_iter: 5000, seed: 5, keep_alpha: false };
        for lanes in [LANES, LANES / 2, 3] {
            let block = Problem {
                x: &x,
                rows: &rows,
                ys: &ys,
                lanes,
                sq_norms: &sq,
                bias: 1.0,
                c_pos: 2.0,
                c_neg: 1.0,
                row_weight: None,
                prior: None,
                init: None,
            };
            let together = solve(&block, &s);
            assert_eq!(together.len(), lanes);
            for (b, sol) in together.iter().enumerate() {
                assert!(sol.iterations < 5000, "lane {b} did not converge");
                let alone_ys: Vec<LaneMask> = ys.iter().map(|&y| (y >> b) & 1).collect();
                let alone = Problem { ys: &alone_ys, lanes: 1, ..block };
                let single = solve(&alone, &s).remove(0);
                let (a, o) = (
                    primal_objective(&block, b, Loss::SquaredHinge, sol),
                    primal_objective(&alone, 0, Loss::SquaredHinge, &single),
                );
                assert!((a - o).abs() < 1e-5 * o.max(1.0), "lane {b} of {lanes}: {a} vs alone {o}");
            }
        }
    }

    /// A row of weight k is k copies of that row: with either loss, the weighted problem reaches the optimum
    /// of the problem with the rows repeated.
    #[test]
    fn a_row_weight_counts_as_that_many_copies_of_the_row() {
        let n = 240usize;
        let (x, ys, sq) = random_problem(n, 25, 5, 23, 3, |i, idx, b| idx.contains(&(b as u32)) != (i % 31 == b));
        let rows: Vec<u32> = (0..n as u32).collect();
        let weight: Vec<f32> = (0..n).map(|k| [1.0, 3.0, 1.0, 2.0][k % 4]).collect();
        let repeated: Vec<u32> =
            rows.iter().flat_map(|&r| std::iter::repeat_n(r, weight[r as usize] as usize)).collect();
        let ys_rep: Vec<LaneMask> = repeated.iter().map(|&r| ys[r as usize]).collect();
        for loss in [Loss::SquaredHinge, Loss::Logistic] {
            let s = SolverSettings { loss, tol: 1e-7, max_iter: 20_000, seed: 3, keep_alpha: false };
            let weighted = Problem {
                x: &x,
                rows: &rows,
                ys: &ys,
                lanes: 3,
                sq_norms: &sq,
                bias: 1.0,
                c_pos: 0.7,
                c_neg: 0.7,
                row_weight: Some(&weight),
                prior: None,
                init: None,
            };
            let copies = Problem { rows: &repeated, ys: &ys_rep, row_weight: None, ..weighted };
            let (a, b) = (solve(&weighted, &s), solve(&copies, &s));
            let plain = solve(&Problem { row_weight: None, ..weighted }, &s);
            for lane in 0..3 {
                let (oa, ob) =
                    (primal_objective(&copies, lane, loss, &a[lane]), primal_objective(&copies, lane, loss, &b[lane]));
                assert!((oa - ob).abs() < 1e-5 * ob.max(1.0), "{loss:?} lane {lane}: weighted {oa} vs copies {ob}");
                // And the weights matter: the unweighted fit is worse on the repeated rows' objective.
                let op = primal_objective(&copies, lane, loss, &plain[lane]);
                assert!(op > ob + 1e-4, "{loss:?} lane {lane}: unweighted {op} vs {ob}");
            }
        }
    }

    /// A fold fit started from the duals of a fit on a superset of its rows reaches the cold fit's optimum in
    /// fewer passes.
    #[test]
    fn a_fit_started_from_a_superset_fits_duals_reaches_the_same_optimum() {
        let n = 400usize;
        let (x, ys, sq) = random_problem(n, 30, 5, 17, 4, |i, idx, b| idx.contains(&(b as u32)) != (i % 23 == b));
        let all: Vec<u32> = (0..n as u32).collect();
        let s = SolverSettings { loss: Loss::SquaredHinge, tol: 1e-6, max_iter: 5000, seed: 9, keep_alpha: true };
        let base = Problem {
            x: &x,
            rows: &all,
            ys: &ys,
            lanes: 4,
            sq_norms: &sq,
            bias: 1.0,
            c_pos: 1.0,
            c_neg: 1.0,
            row_weight: None,
            prior: None,
            init: None,
        };
        let full = solve_block(&base, &s);
        assert_eq!(full.alpha.len(), n * LANES);
        assert!(full.alpha.iter().all(|&a| a >= 0.0) && full.alpha.iter().any(|&a| a > 0.0));
        // A fold: every row but one in five, warm-started from the full fit's duals of its rows.
        let rows: Vec<u32> = all.iter().copied().filter(|r| r % 5 != 2).collect();
        let yf: Vec<LaneMask> = rows.iter().map(|&r| ys[r as usize]).collect();
        let init: Vec<f64> =
            rows.iter().flat_map(|&r| &full.alpha[r as usize * LANES..(r as usize + 1) * LANES]).copied().collect();
        let fold = Problem { rows: &rows, ys: &yf, ..base };
        let cold = solve_block(&fold, &s);
        let warm = solve_block(&Problem { init: Some(&init), ..fold }, &s);
        let passes = |blk: &Block| (0..4).map(|b| blk.solution(b).iterations).sum::<usize>();
        assert!(passes(&warm) < passes(&cold), "warm {} passes, cold {}", passes(&warm), passes(&cold));
        for b in 0..4 {
            let (c, w) = (cold.solution(b), warm.solution(b));
            let (oc, ow) = (
                primal_objective(&fold, b, Loss::SquaredHinge, &c),
                primal_objective(&fold, b, Loss::SquaredHinge, &w),
            );
            assert!((oc - ow).abs() < 1e-5 * oc.max(1.0), "lane {b}: cold {oc} vs warm {ow}");
            assert!(w.iterations <= c.iterations, "lane {b}: warm {} passes, cold {}", w.iterations, c.iterations);
        }
    }

    /// With a prior model the solver minimises `½‖w − w₀‖² + C Σ ξ(y wᵀx)`: its answer `w₀ + v` beats `w₀` and
    /// every small step away from it; a zero prior changes nothing.
    #[test]
    fn a_prior_model_regularises_towards_its_weights() {
        let (x, y) = toy();
        let rows: Vec<u32> = (0..x.n_rows() as u32).collect();
        let sq: Vec<f64> = x.rows().map(|r| r.data.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() + 1.0).collect();
        let ys: Vec<LaneMask> = y.iter().map(|&b| LaneMask::from(b)).collect();
        let s = SolverSettings { loss: Loss::SquaredHinge, tol: 1e-7, max_iter: 5000, seed: 3, keep_alpha: false };
        let plain = Problem {
            x: &x,
            rows: &rows,
            ys: &ys,
            lanes: 1,
            sq_norms: &sq,
            bias: 1.0,
            c_pos: 0.5,
            c_neg: 0.5,
            row_weight: None,
            prior: None,
            init: None,
        };
        let w0 = Solution { weights: vec![-0.4, 0.9, 0.3], bias: 0.2, iterations: 0 };
        let mut prior = vec![0.0; rows.len() * LANES];
        for &r in &rows {
            prior[r as usize * LANES] = w0.decision(&x, r as usize, 1.0);
        }
        let with_prior = Problem { prior: Some(&prior), ..plain };
        let v = solve(&with_prior, &s).remove(0);
        let w = |scale: f64, d: &[f64]| Solution {
            weights: (0..3).map(|j| w0.weights[j] + v.weights[j] + scale * d[j]).collect(),
            bias: w0.bias + v.bias + scale * d[3],
            iterations: 0,
        };
        // F(w) = ½‖w − w₀‖² + C Σ ξ: the plain objective of w, less ½‖w‖², plus ½‖w − w₀‖².
        let f = |sol: &Solution| {
            let sq = |a: &[f64], b: f64| a.iter().map(|x| x * x).sum::<f64>() + b * b;
            let diff: Vec<f64> = sol.weights.iter().zip(&w0.weights).map(|(a, b)| a - b).collect();
            primal_objective(&plain, 0, Loss::SquaredHinge, sol) - 0.5 * sq(&sol.weights, sol.bias)
                + 0.5 * sq(&diff, sol.bias - w0.bias)
        };
        let best = f(&w(0.0, &[0.0; 4]));
        assert!(best < f(&w0) - 1e-3, "{best} against the prior itself {}", f(&w0));
        let mut rng = Rng::new(9);
        for _ in 0..20 {
            let d: Vec<f64> = (0..4).map(|_| rng.below(200) as f64 / 100.0 - 1.0).collect();
            for eps in [1e-2, -1e-2] {
                assert!(best <= f(&w(eps, &d)) + 1e-9, "a step {eps} along {d:?} does better");
            }
        }
        let zero = vec![0.0; rows.len() * LANES];
        let a = solve(&Problem { prior: Some(&zero), ..plain }, &s).remove(0);
        let b = solve(&plain, &s).remove(0);
        assert_eq!((a.weights, a.bias), (b.weights, b.bias));
    }
}
