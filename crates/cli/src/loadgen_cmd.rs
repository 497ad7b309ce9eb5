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
    /// Open loop: start this many calls per second whatever the server answers (the way independent clients
    /// arrive; can overload a server, which the closed loop of --concurrency cannot). Reports latency per status
    /// code and a per-second timeline. --requests still bounds the documents sent; Ctrl-C stops it early and
    /// it still reports.
    #[arg(long)]
    rate: Option<f64>,
    /// Deadline of every call, milliseconds (sent as grpc-timeout; open loop only).
    #[arg(long, requires = "rate")]
    deadline_ms: Option<u64>,
    /// Open loop: calls in flight at most; calls due beyond it are not started, and counted.
    #[arg(long, default_value_t = 20_000, requires = "rate")]
    max_outstanding: usize,
    /// Open loop: write every answered document as a JSON line (call, doc, model version, tags) to this file.
    #[arg(long, requires = "rate")]
    record: Option<PathBuf>,
}

pub fn run_cmd(args: Args) -> Result<()> {
    let mut out = String::new();
    let docs = read_inputs(std::slice::from_ref(&args.corpus))?;
    if docs.is_empty() {
        bail!("{} holds no documents", args.corpus.display());
    }
    let texts: Vec<String> = docs.into_iter().map(|d| d.text).collect();
    if let Some(rate) = args.rate {
        return open_loop(&args, texts, rate);
    }
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

fn open_loop(args: &Args, texts: Vec<String>, rate: f64) -> Result<()> {
    use tagger_serve::openloop::{OpenLoadConfig, run_open};
    if !(rate.is_finite() && rate > 0.0) {
        bail!("--rate must be a positive number of calls per second");
    }
    let batch = match args.mode.as_str() {
        "unary" => 1,
        "batch" => args.batch_size.max(1),
        m => bail!("--rate works with --mode unary or batch, not {m:?}"),
    };
    let cfg = OpenLoadConfig {
        endpoint: format!("http://{}", args.addr),
        texts: Arc::new(texts),
        model: args.model.clone(),
        connections: args.connections,
        batch,
        rate,
        duration: Duration::from_secs(args.duration_secs),
        max_calls: args.requests.div_ceil(batch),
        deadline: args.deadline_ms.map(Duration::from_millis),
        max_outstanding: args.max_outstanding,
        record: args.record.is_some(),
        stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let rt = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.client_threads).enable_all().build()?
    };
    // Ctrl-C (SIGINT) ends the run early and still reports: the calls in flight are waited for.
    let stop = Arc::clone(&cfg.stop);
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let mut report = rt.block_on(run_open(cfg))?;
    if let Some(path) = &args.record {
        let mut lines = String::new();
        for a in &report.answers {
            writeln!(lines, "{}", serde_json::to_string(a)?)?;
        }
        tagger_model::write_atomic(path, lines.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        report.answers.clear();
    }
    let mut out = String::new();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        let codes: Vec<String> = report
            .codes
            .iter()
            .map(|(c, s)| {
                format!("{c} {} (p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms)", s.calls, s.p50_ms, s.p99_ms, s.max_ms)
            })
            .collect();
        writeln!(
            out,
            "{} open loop at {:.0} calls/s ({:.0} started/s, {} skipped): {:.0} docs/s OK over {:.1} s; {}",
            report.mode,
            report.rate,
            report.started_per_sec,
            report.client_skipped,
            report.ok_docs_per_sec,
            report.seconds,
            codes.join("; ")
        )?;
    }
    crate::common::emit(&out)
}
