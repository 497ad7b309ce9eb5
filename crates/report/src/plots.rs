//! The report's charts, drawn by plotters into SVG strings.

use crate::stats::{ReliabilityBin, ThresholdPoint};
use crate::{LabelRow, ReportError};
use plotters::prelude::*;

const SIZE: (u32, u32) = (640, 400);
const CAPTION: (&str, u32) = ("sans-serif", 18);
const PRECISION: RGBColor = RGBColor(36, 87, 166);
const RECALL: RGBColor = RGBColor(214, 96, 28);
const F1: RGBColor = RGBColor(46, 140, 70);
const MUTED: RGBColor = RGBColor(140, 140, 140);

fn plot_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Plot(e.to_string())
}

/// Per-label F1 on the evaluated documents against the label's training documents (log scale). Labels no
/// training document had are drawn at 0.7, left of 1, in grey.
pub fn f1_by_frequency(labels: &[LabelRow], frequency_axis: &str) -> Result<String, ReportError> {
    let points: Vec<(f64, f64, bool)> = labels
        .iter()
        .filter(|l| l.support > 0)
        .filter_map(|l| l.train_docs.map(|n| (if n == 0 { 0.7 } else { n as f64 }, l.f1, n > 0)))
        .collect();
    let max_x = points.iter().map(|p| p.0).fold(10.0f64, f64::max) * 1.5;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Per-label F1 against training frequency", CAPTION)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(48)
            .build_cartesian_2d((0.5f64..max_x).log_scale(), 0f64..1.02f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(frequency_axis)
            .y_desc("F1 on the evaluated documents")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(
                points.iter().filter(|p| p.2).map(|&(x, y, _)| Circle::new((x, y), 3, PRECISION.mix(0.55).filled())),
            )
            .map_err(plot_err)?
            .label("labels with training documents")
            .legend(|(x, y)| Circle::new((x, y), 3, PRECISION.filled()));
        if points.iter().any(|p| !p.2) {
            chart
                .draw_series(
                    points.iter().filter(|p| !p.2).map(|&(x, y, _)| Circle::new((x, y), 3, MUTED.mix(0.7).filled())),
                )
                .map_err(plot_err)?
                .label("no training document (at 0.7)")
                .legend(|(x, y)| Circle::new((x, y), 3, MUTED.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(MUTED)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Micro precision, recall and F1 of one global threshold on the scores, and the model's own decision.
pub fn threshold(curve: &[ThresholdPoint], model: Option<(f64, f64)>) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Precision and recall against the score threshold", CAPTION)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("threshold on the score (one for every label)")
            .y_desc("micro-averaged")
            .draw()
            .map_err(plot_err)?;
        let live: Vec<&ThresholdPoint> = curve.iter().filter(|p| p.chosen > 0).collect();
        for (name, color, get) in [
            ("precision", PRECISION, (|p: &ThresholdPoint| p.precision) as fn(&ThresholdPoint) -> f64),
            ("recall", RECALL, |p: &ThresholdPoint| p.recall),
            ("F1", F1, |p: &ThresholdPoint| p.f1),
        ] {
            chart
                .draw_series(LineSeries::new(live.iter().map(|p| (p.threshold, get(p))), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        if let Some((p, r)) = model {
            chart
                .draw_series(
                    [p, r]
                        .into_iter()
                        .zip([PRECISION, RECALL])
                        .map(|(v, c)| EmptyElement::at((0.02, v)) + TriangleMarker::new((0, 0), 6, c.filled())),
                )
                .map_err(plot_err)?
                .label("the model's own decision (at the left edge)")
                .legend(|(x, y)| TriangleMarker::new((x, y), 5, MUTED.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperMiddle)
            .background_style(WHITE.mix(0.85))
            .border_style(MUTED)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// The reliability diagram: each score bin's mean score against the share of its labels that were right.
pub fn reliability(bins: &[ReliabilityBin]) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Reliability of the scores", CAPTION)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("mean score in the bin")
            .y_desc("share of the bin's labels that were right")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], MUTED.stroke_width(1)))
            .map_err(plot_err)?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], MUTED));
        let used: Vec<&ReliabilityBin> = bins.iter().filter(|b| b.count > 0).collect();
        chart
            .draw_series(LineSeries::new(used.iter().map(|b| (b.mean_score, b.hit_rate)), PRECISION.stroke_width(2)))
            .map_err(plot_err)?
            .label("scores")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PRECISION.stroke_width(2)));
        let most = used.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
        // Marker area grows with the bin's size, so thin bins do not look as certain as full ones.
        chart
            .draw_series(used.iter().map(|b| {
                let r = 3.0 + 7.0 * (b.count as f64 / most).sqrt();
                Circle::new((b.mean_score, b.hit_rate), r as u32, PRECISION.mix(0.6).filled())
            }))
            .map_err(plot_err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(MUTED)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// P@k and nDCG@k for k = 1…
pub fn ranking(points: &[(usize, f64, f64)]) -> Result<String, ReportError> {
    let k_max = points.iter().map(|p| p.0).max().unwrap_or(1).max(2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Ranking: precision and nDCG at k", CAPTION)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(48)
            .build_cartesian_2d(1f64..k_max as f64, 0f64..1.02f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("k (labels taken from the top of the ranking)")
            .y_desc("mean over documents with gold labels")
            .x_labels(k_max)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(plot_err)?;
        for (name, color, pick) in [
            ("P@k", PRECISION, (|p: &(usize, f64, f64)| p.1) as fn(&(usize, f64, f64)) -> f64),
            ("nDCG@k", F1, |p: &(usize, f64, f64)| p.2),
        ] {
            chart
                .draw_series(LineSeries::new(points.iter().map(|p| (p.0 as f64, pick(p))), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            chart
                .draw_series(points.iter().map(|p| Circle::new((p.0 as f64, pick(p)), 3, color.filled())))
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(MUTED)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
