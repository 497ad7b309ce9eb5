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

/// One binary problem over a subset of the rows of `x`.
pub(crate) struct Problem<'a> {
    pub x: &'a CsrMatrix,
    /// Rows taking part (indices into `x`).
    pub rows: &'a [u32],
    /// `y[k]` is true when `rows[k]` is a positive example.
    pub y: &'a [bool],
    /// Squared norm of each row of `x`, bias included.
    pub sq_norms: &'a [f64],
    /// Value of the constant bias feature (0 = no bias).
    pub bias: f64,
    /// Penalty for positive and negative examples.
    pub c_pos: f64,
    pub c_neg: f64,
}

/// Solver settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SolverSettings {
    pub loss: Loss,
    pub tol: f64,
    pub max_iter: usize,
    pub seed: u64,
}

/// The solution: `weights[..n_features]` and the bias weight.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    pub weights: Vec<f64>,
    pub bias: f64,
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the solver tests"))]
    pub iterations: usize,
}

impl Solution {
    pub fn decision(&self, x: &CsrMatrix, row: usize, bias: f64) -> f64 {
        dot(&self.weights, self.bias, x, row, bias)
    }
}

#[inline]
fn dot(w: &[f64], wb: f64, x: &CsrMatrix, row: usize, bias: f64) -> f64 {
    let r = x.row(row);
    let mut s = wb * bias;
    for (&j, &v) in r.indices.iter().zip(r.data) {
        s += w[j as usize] * f64::from(v);
    }
    s
}

#[inline]
fn axpy(a: f64, w: &mut [f64], wb: &mut f64, x: &CsrMatrix, row: usize, bias: f64) {
    let r = x.row(row);
    for (&j, &v) in r.indices.iter().zip(r.data) {
        w[j as usize] += a * f64::from(v);
    }
    *wb += a * bias;
}

pub(crate) fn solve(p: &Problem<'_>, s: &SolverSettings) -> Solution {
    match s.loss {
        Loss::SquaredHinge => solve_l2_svm(p, s),
        Loss::Logistic => solve_logistic(p, s),
    }
}

/// Hsieh et al. 2008, Algorithm 3 with shrinking, for the squared hinge (upper bound U = ∞, D_ii = 1/(2C)).
fn solve_l2_svm(p: &Problem<'_>, s: &SolverSettings) -> Solution {
    let n = p.rows.len();
    let mut w = vec![0.0f64; p.x.n_cols()];
    let mut wb = 0.0f64;
    let mut alpha = vec![0.0f64; n];
    let diag: Vec<f64> = p.y.iter().map(|&pos| 0.5 / if pos { p.c_pos } else { p.c_neg }).collect();
    let qd: Vec<f64> = (0..n).map(|k| p.sq_norms[p.rows[k] as usize] + diag[k]).collect();
    let mut index: Vec<usize> = (0..n).collect();
    let mut active = n;
    let mut rng = Rng::new(s.seed);
    // With U = ∞ only the α = 0 shrinking test applies, so only the previous pass's largest gradient is kept.
    let mut pg_max_old = f64::INFINITY;
    let mut iter = 0;
    while iter < s.max_iter {
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        rng.shuffle(&mut index[..active]);
        let mut k = 0;
        while k < active {
            let i = index[k];
            let row = p.rows[i] as usize;
            let yi = if p.y[i] { 1.0 } else { -1.0 };
            let g = yi * dot(&w, wb, p.x, row, p.bias) - 1.0 + alpha[i] * diag[i];
            let mut pg = 0.0;
            if alpha[i] == 0.0 {
                if g > pg_max_old {
                    // Shrink: this example is very likely to stay at the bound.
                    active -= 1;
                    index.swap(k, active);
                    continue;
                } else if g < 0.0 {
                    pg = g;
                }
            } else {
                pg = g;
            }
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                axpy((alpha[i] - old) * yi, &mut w, &mut wb, p.x, row, p.bias);
            }
            k += 1;
        }
        iter += 1;
        if pg_max - pg_min <= s.tol {
            if active == n {
                break;
            }
            // Converged on the shrunk set: check once more on everything.
            active = n;
            pg_max_old = f64::INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
    }
    Solution { weights: w, bias: wb, iterations: iter }
}

/// Yu, Huang & Lin 2011 (liblinear `solve_l2r_lr_dual`): each coordinate's sub-problem is solved by a
/// safeguarded Newton method on the pair (α_i, C − α_i).
fn solve_logistic(p: &Problem<'_>, s: &SolverSettings) -> Solution {
    let n = p.rows.len();
    let mut w = vec![0.0f64; p.x.n_cols()];
    let mut wb = 0.0f64;
    let upper: Vec<f64> = p.y.iter().map(|&pos| if pos { p.c_pos } else { p.c_neg }).collect();
    // alpha[2i] is α_i, alpha[2i+1] is C_i − α_i.
    let mut alpha = vec![0.0f64; 2 * n];
    for i in 0..n {
        alpha[2 * i] = (1e-3 * upper[i]).min(1e-8);
        alpha[2 * i + 1] = upper[i] - alpha[2 * i];
        let yi = if p.y[i] { 1.0 } else { -1.0 };
        axpy(yi * alpha[2 * i], &mut w, &mut wb, p.x, p.rows[i] as usize, p.bias);
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
            let yi = if p.y[i] { 1.0 } else { -1.0 };
            let c = upper[i];
            let a = p.sq_norms[row];
            let b = yi * dot(&w, wb, p.x, row, p.bias);
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
                axpy(sign * (z - old) * yi, &mut w, &mut wb, p.x, row, p.bias);
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
    Solution { weights: w, bias: wb, iterations: iter }
}

#[cfg(test)]
/// The primal objective `½‖w‖² + Σ C_i ξ(y_i wᵀx_i)` of a solution (used by tests and diagnostics).
pub(crate) fn primal_objective(p: &Problem<'_>, loss: Loss, sol: &Solution) -> f64 {
    let mut obj = 0.5 * (sol.weights.iter().map(|v| v * v).sum::<f64>() + sol.bias * sol.bias);
    for (k, &row) in p.rows.iter().enumerate() {
        let yi = if p.y[k] { 1.0 } else { -1.0 };
        let c = if p.y[k] { p.c_pos } else { p.c_neg };
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
        let p = Problem { x: &x, rows: &rows, y: &y, sq_norms: &sq, bias: 1.0, c_pos: 1.0, c_neg: 1.0 };
        for loss in [Loss::SquaredHinge, Loss::Logistic] {
            let s = SolverSettings { loss, tol: 1e-6, max_iter: 1000, seed: 7 };
            let sol = solve(&p, &s);
            assert!(sol.iterations < 1000, "{loss:?} did not converge");
            for (k, &pos) in y.iter().enumerate() {
                assert_eq!(sol.decision(&x, k, 1.0) > 0.0, pos, "{loss:?} row {k}");
            }
            // A different seed reaches the same optimum (strictly convex problem).
            let other = solve(&p, &SolverSettings { seed: 99, ..s });
            let (a, b) = (primal_objective(&p, loss, &sol), primal_objective(&p, loss, &other));
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
        let p = Problem { x: &x, rows: &rows, y: &y, sq_norms: &sq, bias: 0.0, c_pos: c, c_neg: c };
        let ours = solve(&p, &SolverSettings { loss: Loss::Logistic, tol: 1e-8, max_iter: 10_000, seed: 1 });

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
        let (a, b) = (primal_objective(&p, Loss::Logistic, &ours), primal_objective(&p, Loss::Logistic, &theirs_sol));
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "objective: ours {a}, linfa {b}");
        for i in 0..n {
            let mine = ours.decision(&x, i, 0.0) > 0.0;
            assert_eq!(mine, predicted[i] == "pos", "decision differs on row {i}");
        }
    }
}
