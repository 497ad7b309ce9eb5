use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tagger_serve::{ModelSource, ServeConfig};

/// Every flag can also be set through the environment variable named beside it.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Serve one model file.
    #[arg(long, env = "TAGGER_MODEL", conflicts_with = "models")]
    model: Option<PathBuf>,
    /// Serve a model repository: DIR/<name>/<version>/model.tgm, newest version of each name.
    #[arg(long, env = "TAGGER_MODELS", default_value = "models")]
    models: PathBuf,
    /// Model used when a request names none (default: "reuters" if present, else the first by name).
    #[arg(long, env = "TAGGER_DEFAULT_MODEL")]
    default_model: Option<String>,
    /// gRPC listen address.
    #[arg(long, env = "TAGGER_ADDR", default_value = "127.0.0.1:50051")]
    addr: SocketAddr,
    /// HTTP listen address: Prometheus /metrics and Annif's REST API under /v1/ ("off" disables both).
    #[arg(long, env = "TAGGER_METRICS_ADDR", default_value = "127.0.0.1:9100")]
    metrics_addr: String,
    /// The batcher cuts a batch at this many documents …
    #[arg(long, env = "TAGGER_BATCH_MAX_DOCS", default_value_t = 64)]
    batch_max_docs: usize,
    /// … or this many microseconds after its first document (0: as soon as the queue is empty).
    #[arg(long, env = "TAGGER_BATCH_MAX_DELAY_US", default_value_t = 2000)]
    batch_max_delay_us: u64,
    /// Always wait out --batch-max-delay-us, even when compute is idle (by default an idle pool takes the batch
    /// at once).
    #[arg(long, env = "TAGGER_BATCH_STRICT_DELAY")]
    batch_strict_delay: bool,
    /// Documents that may wait for compute; beyond it, calls get RESOURCE_EXHAUSTED.
    #[arg(long, env = "TAGGER_QUEUE_CAPACITY", default_value_t = 4096)]
    queue_capacity: usize,
    /// Compute threads (0 = one per core).
    #[arg(long, env = "TAGGER_THREADS", default_value_t = 0)]
    threads: usize,
    /// Niceness added to the compute threads (Linux; 0-19). On a host shared with other busy processes this
    /// keeps the network threads, which refuse excess calls and answer missed deadlines, ahead of compute under
    /// overload; it costs capacity on a server with a single core (RELIABILITY.md, "Overload soak").
    #[arg(long, env = "TAGGER_COMPUTE_NICE", default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=19))]
    compute_nice: i32,
    /// Largest document text accepted, bytes (INVALID_ARGUMENT beyond).
    #[arg(long, env = "TAGGER_MAX_DOC_BYTES", default_value_t = 1 << 20)]
    max_doc_bytes: usize,
    /// Most documents in one TagBatch call (INVALID_ARGUMENT beyond).
    #[arg(long, env = "TAGGER_MAX_BATCH_DOCS", default_value_t = 1024)]
    max_batch_docs: usize,
    /// Largest gRPC request message, bytes (RESOURCE_EXHAUSTED beyond).
    #[arg(long, env = "TAGGER_MAX_MESSAGE_BYTES", default_value_t = 64 << 20)]
    max_message_bytes: usize,
    /// Documents a TagStream keeps in flight.
    #[arg(long, env = "TAGGER_STREAM_WINDOW", default_value_t = 256)]
    stream_window: usize,
    /// Poll the model repository every this many seconds for new versions (0: only on SIGHUP).
    #[arg(long, env = "TAGGER_RELOAD_INTERVAL_SECS", default_value_t = 10)]
    reload_interval_secs: u64,
    /// Require "authorization: Bearer <token>" on tagging calls.
    #[arg(long, env = "TAGGER_AUTH_TOKEN")]
    auth_token: Option<String>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "TAGGER_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "TAGGER_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, env = "TAGGER_LOG_FORMAT", default_value = "text")]
    log_format: String,
}

pub fn run(args: Args) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAGGER_LOG").unwrap_or_else(|_| "info".into());
    let sub = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match args.log_format.as_str() {
        "json" => sub.json().init(),
        "text" => sub.init(),
        other => bail!("--log-format must be text or json, not {other:?}"),
    }
    let source = match &args.model {
        Some(f) => ModelSource::File(f.clone()),
        None => ModelSource::Repository(args.models.clone()),
    };
    let mut cfg = ServeConfig::new(source);
    cfg.addr = args.addr;
    cfg.metrics_addr = match args.metrics_addr.as_str() {
        "off" | "" => None,
        a => Some(a.parse().with_context(|| format!("--metrics-addr {a:?} is not HOST:PORT"))?),
    };
    cfg.default_model = args.default_model.clone().or_else(|| Some("reuters".to_owned()));
    cfg.batch_max_docs = args.batch_max_docs.max(1);
    cfg.batch_max_delay = Duration::from_micros(args.batch_max_delay_us);
    cfg.batch_cut_when_idle = !args.batch_strict_delay;
    cfg.queue_capacity = args.queue_capacity.max(1);
    cfg.compute_threads = args.threads;
    cfg.compute_nice = args.compute_nice;
    cfg.max_doc_bytes = args.max_doc_bytes;
    cfg.max_request_docs = args.max_batch_docs;
    cfg.max_message_bytes = args.max_message_bytes;
    cfg.stream_window = args.stream_window.max(1);
    cfg.reload_interval = (args.reload_interval_secs > 0).then(|| Duration::from_secs(args.reload_interval_secs));
    cfg.auth_token = args.auth_token.clone();
    if let (Some(c), Some(k)) = (&args.tls_cert, &args.tls_key) {
        let cert = std::fs::read(c).with_context(|| format!("reading {}", c.display()))?;
        let key = std::fs::read(k).with_context(|| format!("reading {}", k.display()))?;
        cfg.tls = Some((cert, key));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        let running = tagger_serve::start(cfg).await?;
        if running.shared.registry.snapshot().models.is_empty() {
            tracing::warn!(
                "no model could be loaded from {}; serving NOT_SERVING until one appears",
                tagger_serve::registry::describe(running.shared.registry.source())
            );
        }
        let reloader = running.reloader();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    let r = reloader.reload().await;
                    tracing::info!(loaded = ?r.loaded, failed = ?r.failed, "reload on SIGHUP");
                }
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        tracing::info!("shutting down: draining in-flight requests");
        running.shutdown().await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}
