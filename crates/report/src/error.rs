//! Errors of the report crate.

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// There was nothing to evaluate.
    #[error("no documents to report on")]
    NoDocuments,
    /// The plotting library could not draw a chart.
    #[error("drawing a chart: {0}")]
    Plot(String),
}
