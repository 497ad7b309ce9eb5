//! Plugging sparse TF-IDF rows and label sets into linfa's dataset types.

use linfa::DatasetBase;
use linfa::dataset::Records;
use tagger_features::{CsrMatrix, Refitter};

/// Sparse rows as linfa records. linfa 0.8's own classifiers only accept dense `ndarray` input; this type
/// lets our classifier take part in linfa's `Fit`/`Predict` traits without densifying (50k × 200k features
/// would be 40 GB in `f32`).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRecords {
    /// The rows.
    pub rows: CsrMatrix,
    /// How the rows were made from the corpus, when they are a vectorizer's output on the training corpus
    /// itself: calibration folds then rebuild each fold's rows as a vectorizer fitted on that fold's training
    /// documents would give them (see [`Refitter`]), so held-out documents look like new ones. Without it, the
    /// rows are used as they are.
    pub refit: Option<Refitter>,
}

impl SparseRecords {
    /// Rows used as they are.
    pub fn new(rows: CsrMatrix) -> Self {
        Self { rows, refit: None }
    }
}

impl Records for SparseRecords {
    type Elem = f32;

    fn nsamples(&self) -> usize {
        self.rows.n_rows()
    }

    fn nfeatures(&self) -> usize {
        self.rows.n_cols()
    }
}

/// Multi-label targets: for each sample, the ids of its labels (`< n_labels`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSets {
    sets: Vec<Vec<u32>>,
    n_labels: usize,
}

impl LabelSets {
    /// Build and check label sets (ids must be below `n_labels`; duplicates are removed).
    pub fn new(mut sets: Vec<Vec<u32>>, n_labels: usize) -> Result<Self, crate::ModelError> {
        for (i, s) in sets.iter_mut().enumerate() {
            s.sort_unstable();
            s.dedup();
            if let Some(&l) = s.last()
                && l as usize >= n_labels
            {
                return Err(crate::ModelError::InvalidData(format!(
                    "sample {i} has label id {l} but there are only {n_labels} labels"
                )));
            }
        }
        Ok(Self { sets, n_labels })
    }

    /// Number of distinct labels.
    pub fn n_labels(&self) -> usize {
        self.n_labels
    }

    /// The label ids of every sample.
    pub fn sets(&self) -> &[Vec<u32>] {
        &self.sets
    }
}

/// The dataset type the classifier fits on.
pub type MultiLabelDataset = DatasetBase<SparseRecords, LabelSets>;

/// Make a dataset, checking that records and targets have the same number of samples.
pub fn dataset(x: CsrMatrix, y: LabelSets) -> Result<MultiLabelDataset, crate::ModelError> {
    records_dataset(SparseRecords::new(x), y)
}

/// Make a dataset from records (rows with their [`Refitter`]), checking that records and targets have the same
/// number of samples.
pub fn records_dataset(x: SparseRecords, y: LabelSets) -> Result<MultiLabelDataset, crate::ModelError> {
    if x.rows.n_rows() != y.sets.len() {
        return Err(crate::ModelError::InvalidData(format!(
            "{} feature rows but {} label sets",
            x.rows.n_rows(),
            y.sets.len()
        )));
    }
    Ok(DatasetBase::new(x, y))
}
