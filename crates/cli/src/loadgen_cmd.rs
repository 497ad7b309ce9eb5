use crate::common::read_inputs;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tagger_serve::loadgen::{LoadConfig, Mode, run};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:50051")]
    addr: String,
    /// Documents to send (cycled): directory, file or .jsonl.
    #[arg(long)]
    corpus: PathBuf,
    /// unary, batch or stream.
    #[arg(long, default_value = "unary")]
    mode: String,
    /// Documents per TagBatch call (batch mode).
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections shared by the clients.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Stop after this many documents …
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// … or after this many seconds.
    #[arg(long, default_value_t = 30)]
    duration_secs: u64,
    /// Model name (empty = server default).
    #[arg(long, default_value = "")]
    model: String,
    /// Also measure in-process tagging of the same documents with this model file (the baseline), and report
    /// the server's throughput as a ratio of it.
    #[arg(long)]
    baseline_model: Option<PathBuf>,
    /// Threads of the load generator itself (1 leaves the rest of a small machine to the server).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run_cmd(args: Args) -> Result<()> {
    let mut out = String::new();
    let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
    if docs.is_empty() {
        bail!("{} holds no documents", args.corpus.display());
    }
    let texts: Vec<String> = docs.into_iter().map(|d| d.text).collect();
    let mode = match args.mode.as_str() {
        "unary" => Mode::Unary,
        "batch" => Mode::Batch(args.batch_size),
        "stream" => Mode::Stream,
        m => bail!("--mode must be unary, batch or stream, not {m:?}"),
    };
    let baseline = match &args.baseline_model {
        Some(p) => {
            let model = tagger_model::TaggerModel::load(p).context("loading the baseline model")?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            // Best of three passes over the documents, each at least 10,000 documents long.
            let n = refs.len().max(1) * 10_000usize.div_ceil(refs.len().max(1));
            let batch: Vec<&str> = (0..n).map(|i| refs[i % refs.len()]).collect();
            let mut best = 0.0f64;
            for _ in 0..3 {
                let t = Instant::now();
                let out = model.tag_batch(&batch, tagger_model::Decision::ModelRule);
                let secs = t.elapsed().as_secs_f64();
                anyhow::ensure!(out.len() == n, "baseline tagged {} of {n} documents", out.len());
                best = best.max(n as f64 / secs);
            }
            Some(best)
        }
        None => None,
    };
    let cfg = LoadConfig {
        endpoint: format!("http://{}", args.addr),
        texts: Arc::new(texts),
        mode,
        concurrency: args.concurrency,
        max_docs: args.requests,
        max_time: Duration::from_secs(args.duration_secs),
        model: args.model.clone(),
        connections: args.connections,
    };
    let rt = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.client_threads).enable_all().build()?
    };
    let report = rt.block_on(run(cfg))?;
    let mut v = serde_json::to_value(&report)?;
    if let Some(b) = baseline {
        v["in_process_docs_per_sec"] = b.into();
        v["ratio_to_in_process"] = (report.docs_per_sec / b).into();
    }
    if args.json {
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{} x{}: {} docs OK in {:.2} s = {:.0} docs/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}; codes {:?}",
            report.mode,
            report.concurrency,
            report.docs_ok,
            report.seconds,
            report.docs_per_sec,
            report.p50_ms,
            report.p90_ms,
            report.p99_ms,
            report.max_ms,
            report.codes
        )?;
        if let Some(b) = baseline {
            writeln!(out, "in-process baseline: {b:.0} docs/s; server/in-process = {:.2}", report.docs_per_sec / b)?;
        }
    }
    crate::common::emit(&out)
}
