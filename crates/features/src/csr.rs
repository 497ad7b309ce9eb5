//! A minimal compressed-sparse-row matrix of `f32` with `u32` column indices.
//!
//! Our own type rather than `sprs`: linfa 0.8.1 pins `sprs =0.11.2`, which would lock the whole workspace to it;
//! `u32` indices halve index memory against `usize`; and the classifier needs only row slices, which this
//! provides without any conversion.

use serde::{Deserialize, Serialize};

/// One sparse row: parallel slices of strictly increasing column indices and their values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseRow<'a> {
    /// Column indices, strictly increasing.
    pub indices: &'a [u32],
    /// Values, same length as `indices`.
    pub data: &'a [f32],
}

impl SparseRow<'_> {
    /// Dot product with a dense vector (columns beyond `dense.len()` count as zero).
    #[inline]
    pub fn dot(&self, dense: &[f32]) -> f32 {
        let mut s = 0.0f32;
        for (&j, &v) in self.indices.iter().zip(self.data) {
            if let Some(w) = dense.get(j as usize) {
                s += w * v;
            }
        }
        s
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// A sparse matrix in CSR layout. Invariants (checked by [`CsrMatrix::validate`]): `indptr` starts at 0, is
/// non-decreasing and ends at `indices.len() == data.len()`; indices within a row strictly increase and are
/// below `n_cols`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CsrMatrix {
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

impl CsrMatrix {
    /// An empty matrix with `n_cols` columns and no rows.
    pub fn new(n_cols: usize) -> Self {
        Self { n_cols, indptr: vec![0], indices: Vec::new(), data: Vec::new() }
    }

    /// Append a row given as sorted, de-duplicated `(index, value)` pairs.
    pub fn push_row(&mut self, indices: &[u32], data: &[f32]) {
        debug_assert_eq!(indices.len(), data.len());
        self.indices.extend_from_slice(indices);
        self.data.extend_from_slice(data);
        self.indptr.push(self.indices.len());
    }

    /// The transpose (columns become rows), by a counting sort: O(nnz), rows of the result sorted.
    pub fn transpose(&self) -> CsrMatrix {
        let mut indptr = vec![0usize; self.n_cols + 1];
        for &j in &self.indices {
            indptr[j as usize + 1] += 1;
        }
        for j in 0..self.n_cols {
            indptr[j + 1] += indptr[j];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.indices.len()];
        let mut data = vec![0f32; self.data.len()];
        for (i, w) in self.indptr.windows(2).enumerate() {
            for k in w[0]..w[1] {
                let j = self.indices[k] as usize;
                indices[next[j]] = i as u32;
                data[next[j]] = self.data[k];
                next[j] += 1;
            }
        }
        CsrMatrix { n_cols: self.n_rows(), indptr, indices, data }
    }

    /// Append all rows of `other` (same column count).
    pub fn append(&mut self, other: &CsrMatrix) {
        let base = self.indices.len();
        self.indices.extend_from_slice(&other.indices);
        self.data.extend_from_slice(&other.data);
        self.indptr.extend(other.indptr[1..].iter().map(|p| p + base));
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row `i` (panics if `i >= n_rows()`, like slice indexing).
    #[inline]
    pub fn row(&self, i: usize) -> SparseRow<'_> {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        SparseRow { indices: &self.indices[a..b], data: &self.data[a..b] }
    }

    /// Iterate over rows.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = SparseRow<'_>> + '_ {
        (0..self.n_rows()).map(|i| self.row(i))
    }

    /// A new matrix made of the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> CsrMatrix {
        let mut out = CsrMatrix::new(self.n_cols);
        for &r in rows {
            let row = self.row(r);
            out.push_row(row.indices, row.data);
        }
        out
    }

    /// Check the structural invariants (used after deserialising untrusted data).
    pub fn validate(&self) -> Result<(), String> {
        if self.indptr.first() != Some(&0) || self.indptr.last() != Some(&self.indices.len()) {
            return Err("row pointers do not span the entries".into());
        }
        if self.indices.len() != self.data.len() {
            return Err("indices and values differ in length".into());
        }
        for w in self.indptr.windows(2) {
            if w[0] > w[1] {
                return Err("row pointers decrease".into());
            }
            // The row pointers only span the entries once all of them are checked: slice with `get`.
            let Some(idx) = self.indices.get(w[0]..w[1]) else {
                return Err("row pointers do not span the entries".into());
            };
            if idx.windows(2).any(|p| p[0] >= p[1]) || idx.last().is_some_and(|&j| j as usize >= self.n_cols) {
                return Err("column indices unsorted or out of range".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (`fuzz/regressions/model_bitflip/csr-row-pointer-past-the-end`): a model file's matrix
    /// whose row pointers rise past the entries and fall back panicked while it was checked.
    #[test]
    fn validate_refuses_row_pointers_past_the_entries() {
        let m = CsrMatrix { n_cols: 4, indptr: vec![0, 9, 2], indices: vec![0, 1], data: vec![1.0, 1.0] };
        assert_eq!(m.validate(), Err("row pointers do not span the entries".into()));
        let ok = CsrMatrix { n_cols: 4, indptr: vec![0, 1, 2], indices: vec![0, 1], data: vec![1.0, 1.0] };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn build_select_append() {
        let mut m = CsrMatrix::new(4);
        m.push_row(&[0, 3], &[1.0, 2.0]);
        m.push_row(&[], &[]);
        m.push_row(&[1], &[5.0]);
        assert_eq!((m.n_rows(), m.nnz()), (3, 3));
        assert_eq!(m.row(2).dot(&[0.0, 2.0, 0.0, 0.0]), 10.0);
        let s = m.select_rows(&[2, 0]);
        assert_eq!(s.row(0).indices, &[1]);
        let mut a = s.clone();
        a.append(&m);
        assert_eq!(a.n_rows(), 5);
        assert_eq!(a.row(4).data, &[5.0]);
        assert!(a.validate().is_ok());
    }
}
