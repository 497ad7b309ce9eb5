//! Service settings, filled in by the binary from flags and environment variables.

use std::net::SocketAddr;
use std::time::Duration;

/// Where the models come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// One model file; its name is the file stem.
    File(std::path::PathBuf),
    /// A repository `DIR/<name>/<version>/model.tgm`; the highest version of each name is served.
    Repository(std::path::PathBuf),
}

/// Everything the service needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// gRPC listen address.
    pub addr: SocketAddr,
    /// Prometheus `/metrics` listen address (None: no metrics endpoint).
    pub metrics_addr: Option<SocketAddr>,
    /// Models to serve.
    pub models: ModelSource,
    /// Model used when a request names none (None: the first by name).
    pub default_model: Option<String>,
    /// The batcher cuts a batch at this many documents …
    pub batch_max_docs: usize,
    /// … or this long after the batch's first document arrived, whichever comes first (zero: cut as soon as
    /// the queue is momentarily empty).
    pub batch_max_delay: Duration,
    /// Cut a batch at once when the compute pool is idle instead of waiting out `batch_max_delay`.
    pub batch_cut_when_idle: bool,
    /// Documents waiting for compute, across all calls; beyond it unary calls get RESOURCE_EXHAUSTED.
    pub queue_capacity: usize,
    /// Compute threads (tokenize, features, scoring); 0 = one per core.
    pub compute_threads: usize,
    /// Niceness added to the compute threads (Linux), so that under overload on a host shared with other busy
    /// processes the network threads still answer RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED on time; 0 = same
    /// priority (the default: on a one-core server a lower compute priority costs capacity).
    pub compute_nice: i32,
    /// Largest accepted document text, bytes.
    pub max_doc_bytes: usize,
    /// Most documents in one TagBatch call.
    pub max_request_docs: usize,
    /// Largest accepted gRPC message, bytes.
    pub max_message_bytes: usize,
    /// Documents a TagStream keeps in flight.
    pub stream_window: usize,
    /// Poll the model repository for new versions this often (None: only on SIGHUP / explicit reload).
    pub reload_interval: Option<Duration>,
    /// Require `authorization: Bearer <token>` on every call.
    pub auth_token: Option<String>,
    /// Serve TLS with this PEM certificate chain and key.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

impl ServeConfig {
    /// Defaults for everything but the model source and addresses.
    pub fn new(models: ModelSource) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 9100))),
            models,
            default_model: None,
            batch_max_docs: 64,
            batch_max_delay: Duration::from_micros(2000),
            batch_cut_when_idle: true,
            queue_capacity: 4096,
            compute_threads: 0,
            compute_nice: 0,
            max_doc_bytes: 1 << 20,
            max_request_docs: 1024,
            max_message_bytes: 64 << 20,
            stream_window: 256,
            reload_interval: Some(Duration::from_secs(10)),
            auth_token: None,
            tls: None,
        }
    }
}
