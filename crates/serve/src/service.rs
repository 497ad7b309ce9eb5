//! The `tagger.v1.Tagger` gRPC service.

use crate::batcher::{Batcher, Job};
use crate::metrics::Metrics;
use crate::registry::{Registry, Snapshot};
use crate::status::{ServeError, code_of, fix_decode_status};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tagger_model::Decision;
use tagger_proto::v1 as pb;
use tagger_proto::v1::tagger_server::Tagger;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// Request limits enforced by the service.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest document text.
    pub max_doc_bytes: usize,
    /// Most documents per TagBatch.
    pub max_request_docs: usize,
    /// Documents in flight per TagStream.
    pub stream_window: usize,
}

/// State shared by every call.
#[derive(Debug)]
pub struct Shared {
    /// Loaded models.
    pub registry: Arc<Registry>,
    /// The batcher queue.
    pub batcher: Batcher,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Limits.
    pub limits: Limits,
    /// Set when shutdown starts: new calls get UNAVAILABLE.
    pub shutting_down: AtomicBool,
}

/// The service implementation.
#[derive(Debug, Clone)]
pub struct TaggerService {
    shared: Arc<Shared>,
}

impl TaggerService {
    /// A service over shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

/// The call's deadline from its `grpc-timeout` header. tonic's own timer answers CANCELLED when that timeout
/// fires, so ours is set slightly earlier (10% of the timeout, at most 20 ms) and the caller gets
/// DEADLINE_EXCEEDED, as gRPC specifies.
fn deadline_of(md: &tonic::metadata::MetadataMap) -> Option<Instant> {
    deadline_from(md.get("grpc-timeout")?.to_str().ok()?, 1)
}

/// `now + timeout − margin / share`, the margin being 10% of the timeout, at most 20 ms.
fn deadline_from(grpc_timeout: &str, share: u32) -> Option<Instant> {
    let d = parse_timeout(grpc_timeout)?;
    let margin = (d / 10).min(Duration::from_millis(20)) / share;
    Instant::now().checked_add(d - margin)
}

/// Every gRPC call whose `grpc-timeout` runs out before it is answered gets DEADLINE_EXCEEDED, also while its
/// request is still arriving (a large body), where the handler's own deadline cannot act yet. Without it tonic's
/// timer, which sits outside every layer, answered CANCELLED ("Timeout expired") in that case. This timer fires
/// half the margin before tonic's and, being inside, is polled first; the handler's own deadline (the whole
/// margin) comes earlier still once the request has arrived, so its answer, counted in the metrics, wins then.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline(inner)
    }
}

/// The service of [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct Deadline<S>(S);

impl<S, B, RB> tower::Service<http::Request<B>> for Deadline<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    RB: Default,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<http::Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let deadline =
            req.headers().get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(|t| deadline_from(t, 2));
        let call = self.0.call(req);
        Box::pin(async move {
            let Some(d) = deadline else { return call.await };
            match tokio::time::timeout_at(d.into(), call).await {
                Ok(answer) => answer,
                Err(_) => Ok(Status::deadline_exceeded("deadline passed before the call was answered").into_http()),
            }
        })
    }
}

/// A timeout in gRPC's `grpc-timeout` format: at most 8 digits and a unit, `H`, `M`, `S`, `m` (ms), `u` (µs) or
/// `n` (ns); `None` when it is not one.
pub(crate) fn parse_timeout(raw: &str) -> Option<Duration> {
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

type Reply = oneshot::Receiver<Result<pb::TagResponse, crate::batcher::JobError>>;

/// A validated request: either answered already (empty text) or a job to queue.
enum Prepared {
    Done(pb::TagResponse),
    Queue(Job, Reply),
}

impl Shared {
    fn check_open(&self) -> Result<Arc<Snapshot>, ServeError> {
        if self.shutting_down.load(Ordering::Relaxed) {
            return Err(ServeError::ShuttingDown);
        }
        let snap = self.registry.snapshot();
        if snap.models.is_empty() {
            return Err(ServeError::NoModel);
        }
        Ok(snap)
    }

    fn prepare(
        &self,
        snap: &Snapshot,
        r: pb::TagRequest,
        index: Option<usize>,
        deadline: Option<Instant>,
    ) -> Result<Prepared, ServeError> {
        if r.text.len() > self.limits.max_doc_bytes {
            return Err(ServeError::DocTooLarge { index, bytes: r.text.len(), limit: self.limits.max_doc_bytes });
        }
        if let Some(m) = r.min_score
            && !(0.0..=1.0).contains(&m)
        {
            return Err(ServeError::BadMinScore(m));
        }
        if !is_language_tag(&r.language) {
            return Err(ServeError::BadLanguage(r.language));
        }
        let model = snap.get(&r.model).ok_or_else(|| ServeError::ModelNotFound(r.model.clone()))?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(ServeError::Deadline);
        }
        if r.text.trim().is_empty() {
            return Ok(Prepared::Done(pb::TagResponse {
                id: r.id,
                tags: Vec::new(),
                model: model.name.clone(),
                model_version: model.version.clone(),
            }));
        }
        let decision = Decision::from_options(r.top_k as usize, r.min_score);
        let (tx, rx) = oneshot::channel();
        let job = Job {
            model: Arc::clone(model),
            id: r.id,
            text: r.text,
            decision,
            explain: r.explain,
            language: r.language,
            deadline,
            enqueued: Instant::now(),
            reply: tx,
        };
        Ok(Prepared::Queue(job, rx))
    }

    async fn wait(rx: Reply, deadline: Option<Instant>) -> Result<pb::TagResponse, ServeError> {
        let res = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), rx).await {
                Ok(r) => r,
                Err(_) => return Err(ServeError::Deadline),
            },
            None => rx.await,
        };
        match res {
            Ok(r) => r.map_err(ServeError::from),
            Err(_) => Err(ServeError::Internal("the compute pool dropped the request".into())),
        }
    }

    /// Every loaded model, without labels, and the default one's name (gRPC `ListModels`, the JSON API).
    pub(crate) fn list_models(&self) -> pb::ListModelsResponse {
        let snap = self.registry.snapshot();
        let models = snap.models.values().map(|m| model_info(m, false)).collect();
        pb::ListModelsResponse { models, default_model: snap.default.clone().unwrap_or_default() }
    }

    /// One loaded model with its labels ("" = the default) (gRPC `GetModel`, the JSON API).
    pub(crate) fn get_model(&self, name: String) -> Result<pb::ModelInfo, ServeError> {
        let snap = self.registry.snapshot();
        if snap.models.is_empty() {
            return Err(ServeError::NoModel);
        }
        snap.get(&name).map(|m| model_info(m, true)).ok_or(ServeError::ModelNotFound(name))
    }

    pub(crate) async fn tag_one(
        &self,
        r: pb::TagRequest,
        deadline: Option<Instant>,
    ) -> Result<pb::TagResponse, ServeError> {
        let snap = self.check_open()?;
        match self.prepare(&snap, r, None, deadline)? {
            Prepared::Done(resp) => Ok(resp),
            Prepared::Queue(job, rx) => {
                self.batcher.try_submit(job).map_err(|_| ServeError::QueueFull { needed: 1 })?;
                Self::wait(rx, deadline).await
            }
        }
    }

    pub(crate) async fn tag_batch(
        &self,
        docs: Vec<pb::TagRequest>,
        deadline: Option<Instant>,
    ) -> Result<pb::TagBatchResponse, ServeError> {
        if docs.len() > self.limits.max_request_docs {
            return Err(ServeError::TooManyDocs { count: docs.len(), limit: self.limits.max_request_docs });
        }
        let snap = self.check_open()?;
        // Validate everything before queueing anything, so a bad document fails the call without work done.
        let prepared = docs
            .into_iter()
            .enumerate()
            .map(|(i, d)| self.prepare(&snap, d, Some(i), deadline))
            .collect::<Result<Vec<_>, _>>()?;
        let needed = prepared.iter().filter(|p| matches!(p, Prepared::Queue(..))).count();
        if needed > self.batcher.free_slots() {
            return Err(ServeError::QueueFull { needed });
        }
        let mut waits: Vec<Result<pb::TagResponse, Reply>> = Vec::with_capacity(prepared.len());
        for p in prepared {
            match p {
                Prepared::Done(r) => waits.push(Ok(r)),
                Prepared::Queue(job, rx) => {
                    // Another call may have taken the slots since the check: then fail (rx drops, so queued
                    // siblings are skipped by compute).
                    self.batcher.try_submit(job).map_err(|_| ServeError::QueueFull { needed })?;
                    waits.push(Err(rx));
                }
            }
        }
        let mut results = Vec::with_capacity(waits.len());
        for w in waits {
            results.push(match w {
                Ok(r) => r,
                Err(rx) => Self::wait(rx, deadline).await?,
            });
        }
        Ok(pb::TagBatchResponse { results })
    }
}

type TagStreamOut = Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::TagResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Tagger for TaggerService {
    async fn tag(&self, req: Request<pb::TagRequest>) -> Result<Response<pb::TagResponse>, Status> {
        let deadline = deadline_of(req.metadata());
        let res = self.shared.tag_one(req.into_inner(), deadline).await;
        self.shared.metrics.request("Tag", code_of(&res));
        res.map(Response::new).map_err(Status::from)
    }

    async fn tag_batch(&self, req: Request<pb::TagBatchRequest>) -> Result<Response<pb::TagBatchResponse>, Status> {
        let deadline = deadline_of(req.metadata());
        let res = self.shared.tag_batch(req.into_inner().documents, deadline).await;
        self.shared.metrics.request("TagBatch", code_of(&res));
        res.map(Response::new).map_err(Status::from)
    }

    type TagStreamStream = TagStreamOut;

    async fn tag_stream(&self, req: Request<Streaming<pb::TagRequest>>) -> Result<Response<TagStreamOut>, Status> {
        let deadline = deadline_of(req.metadata());
        let mut inbound = req.into_inner();
        let shared = Arc::clone(&self.shared);
        if let Err(e) = shared.check_open() {
            shared.metrics.request("TagStream", Status::from(e.clone()).code());
            return Err(e.into());
        }
        let window = shared.limits.stream_window.max(1);
        let (tx, rx) = mpsc::channel::<Result<pb::TagResponse, Status>>(window);
        tokio::spawn(async move {
            // Read ahead: keep up to `window` documents queued or computing, answer in request order as
            // results arrive.
            let mut inflight = FuturesOrdered::new();
            let mut input_open = true;
            let mut outcome = tonic::Code::Ok;
            loop {
                tokio::select! {
                    biased;
                    Some(res) = inflight.next(), if !inflight.is_empty() => {
                        let res: Result<pb::TagResponse, ServeError> = res;
                        let failed = res.is_err();
                        if let Err(e) = &res {
                            outcome = Status::from(e.clone()).code();
                        }
                        if tx.send(res.map_err(Status::from)).await.is_err() || failed {
                            break;
                        }
                    }
                    msg = inbound.message(), if input_open && inflight.len() < window => {
                        match msg {
                            Ok(Some(r)) => {
                                let shared2 = Arc::clone(&shared);
                                let fut = async move {
                                    let snap = shared2.check_open()?;
                                    match shared2.prepare(&snap, r, None, deadline)? {
                                        Prepared::Done(resp) => Ok(resp),
                                        Prepared::Queue(job, rx) => {
                                            shared2.batcher.submit(job).await.map_err(|_| ServeError::ShuttingDown)?;
                                            Shared::wait(rx, deadline).await
                                        }
                                    }
                                };
                                inflight.push_back(fut);
                            }
                            Ok(None) => input_open = false,
                            Err(s) => {
                                let s = fix_decode_status(s);
                                outcome = s.code();
                                let _ = tx.send(Err(s)).await;
                                break;
                            }
                        }
                    }
                    else => break,
                }
            }
            shared.metrics.request("TagStream", outcome);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn list_models(
        &self,
        _req: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        let res = self.shared.list_models();
        self.shared.metrics.request("ListModels", tonic::Code::Ok);
        Ok(Response::new(res))
    }

    async fn get_model(&self, req: Request<pb::GetModelRequest>) -> Result<Response<pb::ModelInfo>, Status> {
        let res = self.shared.get_model(req.into_inner().name);
        self.shared.metrics.request("GetModel", code_of(&res));
        res.map(Response::new).map_err(Status::from)
    }
}

/// A loaded model as the API describes it, with or without its labels.
fn model_info(m: &crate::registry::LoadedModel, with_labels: bool) -> pb::ModelInfo {
    let model = &m.model;
    let cv = model.meta.cv.as_ref();
    pb::ModelInfo {
        name: m.name.clone(),
        version: m.version.clone(),
        labels: if with_labels { model.labels().to_vec() } else { Vec::new() },
        label_count: model.labels().len() as u32,
        feature_count: model.vectorizer().n_features() as u32,
        training_metadata_json: serde_json::to_string(&model.meta).unwrap_or_default(),
        cv_micro_f1: cv.map_or(0.0, |c| c.micro_f1),
        cv_macro_f1: cv.map_or(0.0, |c| c.macro_f1),
        path: m.path.display().to_string(),
        language: model.language().unwrap_or_default().to_owned(),
        vocabulary_languages: model.vocabulary().map(|v| v.languages().to_vec()).unwrap_or_default(),
        concept_count: model.vocabulary().map_or(0, |v| v.len() as u32),
    }
}

/// Empty, or a BCP 47-shaped tag: letters, digits and '-', at most 35 bytes (the longest registered form).
fn is_language_tag(s: &str) -> bool {
    s.len() <= 35 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !s.starts_with('-')
}
