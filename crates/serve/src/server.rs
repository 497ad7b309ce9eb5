//! Start, reload and stop a server: gRPC (tagger, health, reflection) plus the HTTP endpoint (metrics and
//! Annif's REST API).

use crate::batcher::{Batcher, BatcherConfig};
use crate::config::ServeConfig;
use crate::metrics::Metrics;
use crate::registry::{Registry, ReloadReport};
use crate::service::{Limits, Shared, TaggerService};
use crate::status::fix_decode_response;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tagger_proto::v1::tagger_server::TaggerServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Errors starting a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The compute pool could not start.
    #[error("cannot start compute threads: {0}")]
    Pool(std::io::Error),
    /// TLS configuration is invalid.
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    /// Reflection could not be configured.
    #[error("cannot build reflection service: {0}")]
    Reflection(String),
}

/// Builds the shared state (registry loaded once, batcher started). Must run inside a tokio runtime.
pub async fn build_shared(cfg: &ServeConfig, metrics: Arc<Metrics>) -> Result<(Arc<Shared>, ReloadReport), StartError> {
    tagger_tokenize::warm_up();
    let registry = Arc::new(Registry::new(cfg.models.clone(), cfg.default_model.clone()));
    let report = registry.reload().await;
    count_reload(&metrics, &report);
    let batcher = Batcher::start(
        BatcherConfig {
            max_docs: cfg.batch_max_docs,
            max_delay: cfg.batch_max_delay,
            cut_when_idle: cfg.batch_cut_when_idle,
            queue_capacity: cfg.queue_capacity,
            threads: cfg.compute_threads,
            compute_nice: cfg.compute_nice,
        },
        Arc::clone(&metrics),
    )
    .map_err(StartError::Pool)?;
    let limits = Limits {
        max_doc_bytes: cfg.max_doc_bytes,
        max_request_docs: cfg.max_request_docs,
        stream_window: cfg.stream_window,
    };
    let shared = Arc::new(Shared { registry, batcher, metrics, limits, shutting_down: false.into() });
    Ok((shared, report))
}

fn count_reload(metrics: &Metrics, report: &ReloadReport) {
    metrics.reloads.fetch_add(report.loaded.len() as u64, Ordering::Relaxed);
    metrics.reload_failures.fetch_add(report.failed.len() as u64, Ordering::Relaxed);
    for l in &report.loaded {
        tracing::info!(model = %l, "model loaded");
    }
    for f in &report.failed {
        tracing::error!("model load failed, previous version kept: {f}");
    }
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The bound gRPC address.
    pub addr: SocketAddr,
    /// The bound metrics address.
    pub metrics_addr: Option<SocketAddr>,
    /// Shared state (registry, metrics…).
    pub shared: Arc<Shared>,
    /// Result of the initial model load.
    pub initial_load: ReloadReport,
    health: HealthReporter,
    stop: Option<oneshot::Sender<()>>,
    grpc: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

/// Cheap handle to trigger reloads (for SIGHUP handlers and pollers).
#[derive(Debug, Clone)]
pub struct Reloader {
    shared: Arc<Shared>,
    health: HealthReporter,
}

impl Reloader {
    /// Reload the model source now; see [`Registry::reload`].
    pub async fn reload(&self) -> ReloadReport {
        let report = self.shared.registry.reload().await;
        count_reload(&self.shared.metrics, &report);
        update_health(&self.shared, &self.health).await;
        report
    }
}

async fn update_health(shared: &Shared, health: &HealthReporter) {
    let serving = !shared.shutting_down.load(Ordering::Relaxed) && !shared.registry.snapshot().models.is_empty();
    let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
    health.set_service_status("", status).await;
    health.set_service_status("tagger.v1.Tagger", status).await;
}

fn check_auth(
    token: Option<Arc<str>>,
) -> impl Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |req| {
        let Some(token) = &token else { return Ok(req) };
        let given = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        match given.and_then(|g| g.strip_prefix("Bearer ")) {
            Some(t) if t == &**token => Ok(req),
            _ => Err(tonic::Status::unauthenticated("missing or wrong bearer token")),
        }
    }
}

/// Start serving on the configured addresses (port 0 picks a free port; see [`Running::addr`]).
pub async fn start(cfg: ServeConfig) -> Result<Running, StartError> {
    let metrics = Arc::new(Metrics::default());
    let (shared, initial_load) = build_shared(&cfg, Arc::clone(&metrics)).await?;
    let listener = TcpListener::bind(cfg.addr).await.map_err(|e| StartError::Bind { addr: cfg.addr, source: e })?;
    let addr = listener.local_addr().map_err(|e| StartError::Bind { addr: cfg.addr, source: e })?;

    let (health, health_service) = tonic_health::server::health_reporter();
    update_health(&shared, &health).await;
    // Reflection in both protocol versions: v1, and v1alpha, which grpcurl before 1.8.8 and several GUI clients
    // still ask for.
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tagger_proto::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder().build_v1().map_err(|e| StartError::Reflection(e.to_string()))?;
    let reflection_alpha = reflection_builder().build_v1alpha().map_err(|e| StartError::Reflection(e.to_string()))?;
    let tagger = TaggerServer::new(TaggerService::new(Arc::clone(&shared)))
        .max_decoding_message_size(cfg.max_message_bytes)
        .max_encoding_message_size(usize::MAX);
    let tagger = tonic::service::interceptor::InterceptedService::new(
        tagger,
        check_auth(cfg.auth_token.as_deref().map(Arc::from)),
    );

    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = &cfg.tls {
        let identity = tonic::transport::Identity::from_pem(cert, key);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|e| StartError::Tls(e.to_string()))?;
    }
    let router = builder
        .layer(tower::util::MapResponseLayer::new(fix_decode_response))
        .layer(crate::service::DeadlineLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(tagger);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let grpc = tokio::spawn(router.serve_with_incoming_shutdown(
        TcpIncoming::from(listener).with_nodelay(Some(true)),
        async {
            let _ = stop_rx.await;
        },
    ));

    let mut background = Vec::new();
    let metrics_addr = match cfg.metrics_addr {
        Some(a) => {
            let l = TcpListener::bind(a).await.map_err(|e| StartError::Bind { addr: a, source: e })?;
            let bound = l.local_addr().map_err(|e| StartError::Bind { addr: a, source: e })?;
            let app = crate::annif::router(Arc::clone(&shared), cfg.auth_token.as_deref().map(Arc::from));
            background.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(l, app).await {
                    tracing::error!(error = %e, "the HTTP endpoint stopped");
                }
            }));
            Some(bound)
        }
        None => None,
    };
    let reloader = Reloader { shared: Arc::clone(&shared), health: health.clone() };
    if let Some(every) = cfg.reload_interval {
        let r = reloader.clone();
        background.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                r.reload().await;
            }
        }));
    }
    tracing::info!(%addr, metrics = ?metrics_addr, "serving");
    Ok(Running { addr, metrics_addr, shared, initial_load, health, stop: Some(stop_tx), grpc, background })
}

impl Running {
    /// A handle that reloads models.
    pub fn reloader(&self) -> Reloader {
        Reloader { shared: Arc::clone(&self.shared), health: self.health.clone() }
    }

    /// Graceful shutdown: report NOT_SERVING, refuse new calls (UNAVAILABLE), stop accepting connections, and
    /// wait for in-flight calls to finish.
    pub async fn shutdown(mut self) -> Result<(), tonic::transport::Error> {
        self.shared.shutting_down.store(true, Ordering::Relaxed);
        update_health(&self.shared, &self.health).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for b in &self.background {
            b.abort();
        }
        match self.grpc.await {
            Ok(r) => r,
            Err(_) => Ok(()),
        }
    }
}
