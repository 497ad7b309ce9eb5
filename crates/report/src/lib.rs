//! `tagger-report`: an evaluation as a page people can look at. From the evaluated documents (gold labels, the
//! model's chosen tags, its ranking with scores) and per-label figures it computes the curves and tables
//! (`stats`), draws the charts with plotters as SVG (`plots`), and lays them out in one self-contained HTML
//! page (charts inlined, no external assets). Plain data in, strings out: the caller writes the files.
//!
//! Architecture Invariant: knows nothing of models, features or files; every figure it shows is computed here
//! from the data it is given, or passed in by the caller and printed as given (the summary).

mod error;
mod plots;
pub mod stats;

pub use error::ReportError;
use std::fmt::Write as _;

/// One evaluated document: its gold labels, the labels the model chose, and its ranking (best first, scores).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalDoc {
    pub gold: Vec<String>,
    pub selected: Vec<String>,
    pub ranked: Vec<(String, f32)>,
}

/// One label's figures on the evaluated documents.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    /// The label as the documents name it (a concept URI for a model with a vocabulary).
    pub label: String,
    /// How the report shows it (a concept's preferred label).
    pub name: String,
    /// Gold occurrences in the evaluated documents.
    pub support: usize,
    /// Times the model chose it.
    pub predicted: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Documents that carried it in training, when known.
    pub train_docs: Option<usize>,
}

/// What the report is about, and the figures to show.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// Heading, e.g. the model and corpus.
    pub title: String,
    /// A line under it: how the figures were made (command, machine).
    pub subtitle: String,
    /// Headline figures as (name, value), shown as given.
    pub summary: Vec<(String, String)>,
    pub docs: Vec<EvalDoc>,
    pub labels: Vec<LabelRow>,
    /// What the labels' `train_docs` count, for the frequency chart's axis ("training documents (train.tsv)").
    pub frequency_source: String,
    /// The model's own decision as micro (precision, recall), marked on the threshold chart.
    pub model_decision: Option<(f64, f64)>,
}

/// The report: `index.html` (charts inlined) and each chart as its own SVG file.
#[derive(Debug, Clone)]
pub struct Report {
    pub html: String,
    /// (file name, SVG text).
    pub charts: Vec<(String, String)>,
}

/// Rows shown in the tables of worst labels and confused pairs.
const TABLE_ROWS: usize = 20;

/// Builds the report.
pub fn render(input: &ReportInput) -> Result<Report, ReportError> {
    if input.docs.is_empty() {
        return Err(ReportError::NoDocuments);
    }
    let curve = stats::threshold_curve(&input.docs);
    let bins = stats::reliability(&input.docs, 10);
    let ranking = stats::ranking_at(&input.docs, 10);
    let confused = stats::confusions(&input.docs, TABLE_ROWS);
    let has_frequency = input.labels.iter().any(|l| l.train_docs.is_some());

    let mut charts = Vec::new();
    if has_frequency {
        charts
            .push(("f1-by-frequency.svg".to_owned(), plots::f1_by_frequency(&input.labels, &input.frequency_source)?));
    }
    charts.push(("threshold.svg".to_owned(), plots::threshold(&curve, input.model_decision)?));
    charts.push(("reliability.svg".to_owned(), plots::reliability(&bins)?));
    charts.push(("ranking.svg".to_owned(), plots::ranking(&ranking)?));
    let chart = |name: &str| charts.iter().find(|c| c.0 == name).map_or("", |c| c.1.as_str());

    let name_of = |label: &str| -> String {
        input.labels.iter().find(|l| l.label == label).map_or_else(|| label.to_owned(), |l| l.name.clone())
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head>\
         <body>\n<h1>{}</h1>\n<p class=\"sub\">{}</p>\n",
        escape(&input.title),
        escape(&input.title),
        escape(&input.subtitle)
    );
    h.push_str("<table class=\"summary\">");
    for (k, v) in &input.summary {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    }
    let ece = stats::calibration_error(&bins);
    let _ = writeln!(h, "<tr><th>calibration error (ECE, 10 bins)</th><td>{ece:.4}</td></tr></table>");

    let best = curve.iter().filter(|p| p.chosen > 0).max_by(|a, b| a.f1.total_cmp(&b.f1));
    h.push_str("<div class=\"grid\">");
    if has_frequency {
        let _ = write!(
            h,
            "<figure>{}<figcaption>Each point is a label that occurs in the evaluated documents. Labels with few \
             training documents are where a learned model is weakest; a lexical backend can still find labels no \
             training document had.</figcaption></figure>",
            chart("f1-by-frequency.svg")
        );
    }
    let _ = write!(
        h,
        "<figure>{}<figcaption>What one global threshold on the ranked scores (top {} per document) would give. \
         {}</figcaption></figure>",
        chart("threshold.svg"),
        input.docs.iter().map(|d| d.ranked.len()).max().unwrap_or(0),
        best.map_or_else(String::new, |b| format!(
            "Its best micro-F1 here is {:.4} at {:.2} (precision {:.4}, recall {:.4}); the triangles mark the \
             model's own decision.",
            b.f1, b.threshold, b.precision, b.recall
        ))
    );
    let _ = write!(
        h,
        "<figure>{}<figcaption>Ranked labels grouped by score; a calibrated score of 0.7 is right 70% of the \
         time. Larger markers hold more labels.</figcaption></figure>",
        chart("reliability.svg")
    );
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Precision and nDCG of the first k labels of the ranking.</figcaption></figure></div>",
        chart("ranking.svg")
    );

    // Tables.
    h.push_str(
        "<div class=\"grid\"><section><h2>Reliability bins</h2><table><tr><th>scores</th><th>labels</th>\
                <th>mean score</th><th>right</th></tr>",
    );
    for b in bins.iter().filter(|b| b.count > 0) {
        let _ = write!(
            h,
            "<tr><td>{:.1}–{:.1}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            b.lo, b.hi, b.count, b.mean_score, b.hit_rate
        );
    }
    h.push_str("</table><h2>Ranking</h2><table><tr><th>k</th><th>P@k</th><th>nDCG@k</th></tr>");
    for (k, p, n) in &ranking {
        let _ = write!(h, "<tr><td>{k}</td><td>{p:.4}</td><td>{n:.4}</td></tr>");
    }
    h.push_str("</table></section>");

    let mut worst: Vec<&LabelRow> = input.labels.iter().filter(|l| l.support > 0).collect();
    worst.sort_by(|a, b| a.f1.total_cmp(&b.f1).then(b.support.cmp(&a.support)).then(a.name.cmp(&b.name)));
    let _ = write!(
        h,
        "<section><h2>Worst labels</h2><p class=\"note\">By F1 on the evaluated documents, most frequent first \
         among equals.</p><table><tr><th>label</th><th>support</th><th>chosen</th><th>precision</th><th>recall</th>\
         <th>F1</th>{}</tr>",
        if has_frequency { "<th>training docs</th>" } else { "" }
    );
    for l in worst.iter().take(TABLE_ROWS) {
        let _ = write!(
            h,
            "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td>{}</tr>",
            escape(&l.label),
            escape(&l.name),
            l.support,
            l.predicted,
            l.precision,
            l.recall,
            l.f1,
            if has_frequency {
                format!("<td>{}</td>", l.train_docs.map_or("–".into(), |n| n.to_string()))
            } else {
                String::new()
            }
        );
    }
    h.push_str("</table></section>");
    h.push_str(
        "<section><h2>Most confused pairs</h2><p class=\"note\">In how many documents a gold label was missed \
         while the other label was chosen wrongly.</p><table><tr><th>missed (gold)</th><th>chosen instead</th>\
         <th>documents</th></tr>",
    );
    for (missed, wrong, n) in &confused {
        let _ = write!(
            h,
            "<tr><td title=\"{}\">{}</td><td title=\"{}\">{}</td><td>{n}</td></tr>",
            escape(missed),
            escape(&name_of(missed)),
            escape(wrong),
            escape(&name_of(wrong))
        );
    }
    if confused.is_empty() {
        h.push_str("<tr><td colspan=\"3\">none</td></tr>");
    }
    h.push_str("</table></section></div>\n</body></html>\n");
    Ok(Report { html: h, charts })
}

/// Text as HTML (element content and attribute values).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d232b;\
margin:24px auto;max-width:1340px;padding:0 16px;background:#f6f8fa}h1{font-size:22px;margin:0}\
h2{font-size:15px;margin:14px 0 6px}.sub{color:#5b6673;margin:4px 0 14px}.note{color:#5b6673;margin:0 0 6px}\
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d7dde4;padding:3px 8px;text-align:left}\
td{font-variant-numeric:tabular-nums}.summary{margin-bottom:16px}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px;margin-bottom:16px}\
figure{margin:0;background:#fff;border:1px solid #d7dde4;border-radius:6px;padding:8px}\
figure svg{width:100%;height:auto}figcaption{color:#5b6673;padding:4px 6px}\
section{background:#fff;border:1px solid #d7dde4;border-radius:6px;padding:8px 12px}";

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ReportInput {
        let doc = |gold: &[&str], sel: &[&str], ranked: &[(&str, f32)]| EvalDoc {
            gold: gold.iter().map(|s| (*s).into()).collect(),
            selected: sel.iter().map(|s| (*s).into()).collect(),
            ranked: ranked.iter().map(|(l, s)| ((*l).into(), *s)).collect(),
        };
        let row = |label: &str, name: &str, support, f1, train| LabelRow {
            label: label.into(),
            name: name.into(),
            support,
            predicted: 1,
            precision: f1,
            recall: f1,
            f1,
            train_docs: train,
        };
        ReportInput {
            title: "model <m> on corpus".into(),
            subtitle: "tagger eval".into(),
            summary: vec![("micro-F1".into(), "0.5000".into())],
            docs: vec![
                doc(&["u:a", "u:b"], &["u:a", "u:c"], &[("u:a", 0.9), ("u:c", 0.6), ("u:b", 0.3)]),
                doc(&["u:c"], &["u:a"], &[("u:a", 0.7), ("u:c", 0.65)]),
            ],
            labels: vec![
                row("u:a", "Alpha", 1, 0.67, Some(40)),
                row("u:b", "Beta & <Gamma>", 1, 0.0, Some(0)),
                row("u:c", "Gamma", 1, 0.0, Some(3)),
            ],
            frequency_source: "training documents".into(),
            model_decision: Some((0.5, 0.33)),
        }
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_labels() {
        let r = render(&input()).unwrap();
        let names: Vec<&str> = r.charts.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["f1-by-frequency.svg", "threshold.svg", "reliability.svg", "ranking.svg"]);
        for (name, svg) in &r.charts {
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}");
            assert!(r.html.contains(svg.as_str()), "{name} is inlined");
        }
        assert!(r.html.contains("model &lt;m&gt; on corpus"));
        assert!(r.html.contains("Beta &amp; &lt;Gamma&gt;") && !r.html.contains("Beta & <Gamma>"));
        // The confused pairs by name: doc 1 missed b for c, doc 2 missed c for a.
        assert!(
            r.html.contains("<td title=\"u:b\">Beta &amp; &lt;Gamma&gt;</td><td title=\"u:c\">Gamma</td><td>1</td>")
        );
        // Nothing is fetched from elsewhere.
        assert!(!r.html.contains("src=") && !r.html.contains("href="));
    }

    #[test]
    fn without_training_frequencies_the_frequency_chart_is_left_out() {
        let mut i = input();
        for l in &mut i.labels {
            l.train_docs = None;
        }
        let r = render(&i).unwrap();
        assert_eq!(r.charts.len(), 3);
        assert!(!r.html.contains("training docs"));
        assert!(matches!(render(&ReportInput::default()), Err(ReportError::NoDocuments)));
    }
}
