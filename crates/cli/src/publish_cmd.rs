//! `tagger publish`: the quality gate between a retrained model and the servers. The candidate is evaluated
//! beside the version the repository serves now, on the same held-out corpus; it is refused (exit code 3) when
//! it is worse beyond the tolerance on any gated metric, and otherwise installed atomically as the next version
//! (`DIR/<name>/<n+1>/model.tgm`, written under a hidden name and renamed into place), where running servers
//! pick it up by hot reload.

use crate::common::{read_inputs, set_threads};
use crate::eval_cmd::evaluate;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tagger_model::{TaggerModel, metrics};

/// Exit code of a candidate the gate refused (0: published, 1: an error).
pub const REFUSED_EXIT: u8 = 3;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model file to publish.
    #[arg(long)]
    candidate: PathBuf,
    /// The model repository the servers read (DIR/<name>/<version>/model.tgm).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// The model's name in the repository.
    #[arg(long)]
    name: String,
    /// Held-out labelled corpus both models are evaluated on (never the candidate's training data).
    #[arg(long)]
    corpus: PathBuf,
    /// Largest drop allowed on a gated metric (absolute, e.g. 0.005 = half a point of F1).
    #[arg(long, default_value_t = 0.005)]
    tolerance: f64,
    /// Metrics the gate compares (repeatable): micro_f1, macro_f1, p_at_1, ndcg_at_5, f1_at_5.
    #[arg(long = "metric", default_values_t = ["micro_f1".to_owned(), "p_at_1".to_owned()])]
    metrics: Vec<String>,
    /// Evaluate and decide, but install nothing.
    #[arg(long)]
    dry_run: bool,
    /// One JSON object on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

/// The gate said no: the message is printed and the process exits with [`REFUSED_EXIT`].
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The metrics the gate can compare.
const METRICS: [&str; 5] = ["micro_f1", "macro_f1", "p_at_1", "ndcg_at_5", "f1_at_5"];

fn metric(r: &metrics::Report, name: &str) -> Option<f64> {
    Some(match name {
        "micro_f1" => r.micro_f1,
        "macro_f1" => r.macro_f1,
        "p_at_1" => r.p_at_1,
        "ndcg_at_5" => r.ndcg_at_5,
        "f1_at_5" => r.annif.f1_at_5,
        _ => return None,
    })
}

/// The newest numeric version under `dir` (what the servers serve), if any.
fn current_version(dir: &Path) -> Result<Option<u64>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut best = None;
    for e in entries {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let Some(v) = e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else { continue };
        if e.path().join("model.tgm").is_file() && best.is_none_or(|b| v > b) {
            best = Some(v);
        }
    }
    Ok(best)
}

/// Installs `bytes` as `dir/<version>/model.tgm`: written and synced under a hidden directory (which servers
/// ignore), verified by loading it back, then renamed into place in one step.
fn install(dir: &Path, version: u64, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let staging = dir.join(format!(".publish-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = (|| {
        tagger_model::write_atomic(&staging.join("model.tgm"), bytes)?;
        TaggerModel::load(&staging.join("model.tgm")).context("verifying the copy to install")?;
        let target = dir.join(version.to_string());
        if target.exists() {
            bail!("{} appeared while publishing (another publish?); nothing installed", target.display());
        }
        std::fs::rename(&staging, &target).with_context(|| format!("renaming into {}", target.display()))?;
        // The rename is durable once the directory holding it is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(target.join("model.tgm"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

pub fn run(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        bail!("--tolerance must be a number ≥ 0, not {}", args.tolerance);
    }
    if args.name.is_empty() || args.name.starts_with('.') || args.name.contains(['/', '\\']) {
        bail!("--name must be a plain directory name, not {:?}", args.name);
    }
    for m in &args.metrics {
        if !METRICS.contains(&m.as_str()) {
            bail!("unknown --metric {m:?}: use micro_f1, macro_f1, p_at_1, ndcg_at_5 or f1_at_5");
        }
    }
    let bytes = std::fs::read(&args.candidate).with_context(|| format!("reading {}", args.candidate.display()))?;
    let candidate = TaggerModel::from_bytes(&bytes, &args.candidate).context("loading the candidate")?;
    let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
    let dir = args.models.join(&args.name);
    let current = current_version(&dir)?;
    let cand = evaluate(&candidate, &docs, "held-out")?.report;
    let serving = match current {
        Some(v) => {
            let path = dir.join(v.to_string()).join("model.tgm");
            let model =
                TaggerModel::load(&path).with_context(|| format!("loading the serving version {}", path.display()))?;
            Some((v, evaluate(&model, &docs, "held-out")?.report))
        }
        None => None,
    };
    // The gate: every gated metric at least the serving version's minus the tolerance.
    let mut rows = Vec::new();
    let mut worse = Vec::new();
    for m in &args.metrics {
        let c = metric(&cand, m).unwrap_or(0.0);
        let s = serving.as_ref().and_then(|(_, r)| metric(r, m));
        if let Some(s) = s
            && c < s - args.tolerance
        {
            worse.push(format!("{m} {c:.4} < {s:.4} − {}", args.tolerance));
        }
        rows.push((m.clone(), s, c));
    }
    let next = current.map_or(1, |v| v + 1);
    let label = format!("{}@{}", args.name, current.map_or_else(|| "none".to_owned(), |v| v.to_string()));
    let verdict = if !worse.is_empty() {
        format!(
            "refused: the candidate is worse than {label} beyond the tolerance ({}); nothing installed",
            worse.join("; ")
        )
    } else if args.dry_run {
        format!("would publish as {}/{next} (dry run: nothing installed)", dir.display())
    } else {
        let path = install(&dir, next, &bytes)?;
        format!(
            "published: {} (servers reading {} load it at their next reload)",
            path.display(),
            args.models.display()
        )
    };
    let mut out = String::new();
    if args.json {
        let gate: Vec<serde_json::Value> =
            rows.iter().map(|(m, s, c)| serde_json::json!({"metric": m, "serving": s, "candidate": c})).collect();
        let v = serde_json::json!({
            "name": args.name,
            "serving_version": current,
            "candidate_version": worse.is_empty().then_some(next),
            "tolerance": args.tolerance,
            "metrics": gate,
            "published": worse.is_empty() && !args.dry_run,
            "refused": !worse.is_empty(),
            "message": verdict,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{:<10} {:>12} {:>10} {:>9}", "metric", label, "candidate", "change")?;
        for (m, s, c) in &rows {
            match s {
                Some(s) => writeln!(out, "{m:<10} {s:>12.4} {c:>10.4} {:>+9.4}", c - s)?,
                None => writeln!(out, "{m:<10} {:>12} {c:>10.4} {:>9}", "–", "")?,
            }
        }
        writeln!(out, "{verdict}")?;
    }
    crate::common::emit(&out)?;
    if worse.is_empty() { Ok(()) } else { Err(Refused(verdict).into()) }
}
