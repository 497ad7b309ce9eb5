//! The dynamic batcher: one bounded queue for documents from every call; a task cuts batches at
//! `batch_max_docs` documents or `batch_max_delay` after the batch's first document, and hands each batch to
//! compute threads (one per core), never running model code on tokio's reactor threads. Results go
//! back through one oneshot channel per document. When the pool is idle the batch is cut at once (waiting
//! would only add latency), so `batch_max_delay` only applies under load.

use crate::metrics::Metrics;
use crate::registry::LoadedModel;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tagger_model::Decision;
use tagger_proto::v1 as pb;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Why a queued document got no tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Its deadline passed before compute started.
    DeadlineExceeded,
    /// Tagging panicked (the message is logged; the server keeps running).
    Internal(String),
}

/// A job the queue had no room for (it is dropped, so its caller's reply channel closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotQueued;

/// One document waiting to be tagged.
#[derive(Debug)]
pub struct Job {
    /// The model snapshot the request resolved (kept alive until the job is done).
    pub model: Arc<LoadedModel>,
    /// Caller's id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Requested decision.
    pub decision: Decision,
    /// Whether to add evidence.
    pub explain: bool,
    /// Language of the labels in the answer (empty: the model's).
    pub language: String,
    /// Drop the job (DEADLINE_EXCEEDED) if compute has not started by then.
    pub deadline: Option<Instant>,
    /// When it was queued.
    pub enqueued: Instant,
    /// Where the result goes.
    pub reply: oneshot::Sender<Result<pb::TagResponse, JobError>>,
}

/// Handle to the batcher's queue.
#[derive(Debug, Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
}

/// Batcher settings.
#[derive(Debug, Clone, Copy)]
pub struct BatcherConfig {
    /// Cut a batch at this many documents.
    pub max_docs: usize,
    /// Or this long after its first document.
    pub max_delay: Duration,
    /// Cut at once when the compute pool is idle.
    pub cut_when_idle: bool,
    /// Queue capacity (documents).
    pub queue_capacity: usize,
    /// Compute threads (0 = cores).
    pub threads: usize,
    /// Niceness added to the compute threads (Linux; 0 = same priority as the network threads). Under overload
    /// this keeps the network threads, which answer RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED, ahead of compute
    /// on a CPU-short host.
    pub compute_nice: i32,
}

impl Batcher {
    /// Start the batcher task and its compute threads. Must be called within a tokio runtime.
    pub fn start(cfg: BatcherConfig, metrics: Arc<Metrics>) -> std::io::Result<Batcher> {
        let threads =
            if cfg.threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { cfg.threads };
        // At most two batches per compute thread are handed over at once; the rest wait in the bounded queue,
        // so memory stays bounded whatever the load.
        let permits = 2 * threads;
        let inflight = Arc::new(Semaphore::new(permits));
        // Plain threads blocking on a channel rather than a work-stealing pool: idle workers sleep instead of
        // spinning, which matters when the network threads and the compute threads share two cores.
        let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<(Vec<Job>, OwnedSemaphorePermit)>(permits);
        let batch_rx = Arc::new(std::sync::Mutex::new(batch_rx));
        for i in 0..threads {
            let (rx, metrics) = (Arc::clone(&batch_rx), Arc::clone(&metrics));
            std::thread::Builder::new().name(format!("tagger-compute-{i}")).spawn(move || {
                if let Err(e) = lower_priority(cfg.compute_nice) {
                    tracing::warn!(
                        thread = i,
                        nice = cfg.compute_nice,
                        "cannot lower the compute thread's priority: {e}"
                    );
                }
                loop {
                    let next = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok((batch, permit)) = next else { return };
                    process(batch, &metrics, tag);
                    drop(permit);
                }
            })?;
        }
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        tokio::spawn(run(rx, batch_tx, cfg, inflight, permits));
        Ok(Batcher { tx })
    }

    /// Queue a job now, or drop it if the queue is full or closed (the caller answers RESOURCE_EXHAUSTED).
    pub fn try_submit(&self, job: Job) -> Result<(), NotQueued> {
        self.tx.try_send(job).map_err(|_| NotQueued)
    }

    /// Queue a job, waiting for room (streams use this: backpressure instead of errors).
    pub async fn submit(&self, job: Job) -> Result<(), Job> {
        self.tx.send(job).await.map_err(|e| e.0)
    }

    /// Free queue slots right now.
    pub fn free_slots(&self) -> usize {
        self.tx.capacity()
    }
}

/// Adds `nice` to the calling thread's niceness (Linux threads have their own; elsewhere a no-op). Lowering a
/// priority needs no privilege; the result is clamped to the OS maximum (19).
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) -> std::io::Result<()> {
    if nice <= 0 {
        return Ok(());
    }
    let tid = Some(rustix::thread::gettid());
    let now = rustix::process::getpriority_process(tid)?;
    rustix::process::setpriority_process(tid, now.saturating_add(nice).min(19))?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) -> std::io::Result<()> {
    Ok(())
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    workers: std::sync::mpsc::SyncSender<(Vec<Job>, OwnedSemaphorePermit)>,
    cfg: BatcherConfig,
    inflight: Arc<Semaphore>,
    permits: usize,
) {
    let max_docs = cfg.max_docs.max(1);
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::with_capacity(max_docs);
        batch.push(first);
        let cut_at = tokio::time::Instant::now() + cfg.max_delay;
        while batch.len() < max_docs {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Waiting only pays while the compute threads are busy: an idle pool takes the batch now,
                    // so a lone request is never delayed by `max_delay`.
                    let pool_idle = cfg.cut_when_idle && inflight.available_permits() == permits;
                    if cfg.max_delay.is_zero() || pool_idle {
                        break;
                    }
                    match tokio::time::timeout_at(cut_at, rx.recv()).await {
                        Ok(Some(j)) => batch.push(j),
                        _ => break,
                    }
                }
            }
        }
        let Ok(permit) = Arc::clone(&inflight).acquire_owned().await else { return };
        // Never blocks: the channel holds as many batches as there are permits.
        if workers.send((batch, permit)).is_err() {
            return;
        }
    }
}

/// Run one batch on the calling thread: `tag_one` is [`tag`] in production (a parameter so tests can make it
/// fail).
fn process(batch: Vec<Job>, metrics: &Metrics, tag_one: impl Fn(&Job) -> pb::TagResponse + Sync) {
    let start = Instant::now();
    metrics.batch_size.observe(batch.len() as f64);
    let n = batch.len();
    batch.into_iter().for_each(|job| {
        // A caller that went away (cancelled, timed out) frees its slot without costing compute.
        if job.reply.is_closed() {
            return;
        }
        metrics.queue_wait.observe(start.saturating_duration_since(job.enqueued).as_secs_f64());
        if job.deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = job.reply.send(Err(JobError::DeadlineExceeded));
            return;
        }
        let result = catch_unwind(AssertUnwindSafe(|| tag_one(&job))).map_err(|p| {
            metrics.panics.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
            let msg = msg.unwrap_or_else(|| "panic while tagging".to_owned());
            tracing::error!(id = %job.id, model = %job.model.name, "tagging panicked: {msg}");
            JobError::Internal(msg)
        });
        let _ = job.reply.send(result);
    });
    metrics.documents.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    metrics.compute.observe(start.elapsed().as_secs_f64());
}

/// Tag one document: the same calls `tagger predict` makes, so both give identical answers.
pub fn tag(job: &Job) -> pb::TagResponse {
    let model = &job.model.model;
    let tags = if job.explain {
        model
            .explain(&job.text, job.decision, 5)
            .into_iter()
            .map(|e| pb::Tag {
                label: model.display_label(e.id, &job.language).to_owned(),
                score: e.score,
                uri: model.concept(e.id).map(|c| c.uri.clone()).unwrap_or_default(),
                notation: model.concept(e.id).and_then(|c| c.notation.clone()).unwrap_or_default(),
                evidence: e
                    .terms
                    .into_iter()
                    .map(|t| pb::Evidence {
                        term: t.term,
                        contribution: t.contribution,
                        spans: t.spans.into_iter().map(|(s, e)| pb::Span { start: s as u32, end: e as u32 }).collect(),
                    })
                    .collect(),
            })
            .collect()
    } else {
        model
            .tag(&job.text, job.decision)
            .into_iter()
            .map(|t| {
                let concept = model.concept(t.id);
                pb::Tag {
                    label: model.display_label(t.id, &job.language).to_owned(),
                    score: t.score,
                    evidence: Vec::new(),
                    uri: concept.map(|c| c.uri.clone()).unwrap_or_default(),
                    notation: concept.and_then(|c| c.notation.clone()).unwrap_or_default(),
                }
            })
            .collect()
    };
    pb::TagResponse {
        id: job.id.clone(),
        tags,
        model: job.model.name.clone(),
        model_version: job.model.version.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagger_corpus::synth::{Synth, SynthConfig};
    use tagger_model::{TaggerModel, TrainConfig};

    fn model() -> Arc<LoadedModel> {
        let docs: Vec<_> = Synth::new(SynthConfig {
            docs: 60,
            labels: 4,
            labels_per_doc: 1.5,
            tokens_per_doc: 30,
            vocabulary: 500,
            han: false,
            ..SynthConfig::default()
        })
        .collect();
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let labels: Vec<Vec<String>> = docs.iter().map(|d| d.labels.clone().unwrap_or_default()).collect();
        let model = TaggerModel::train(&texts, &labels, &TrainConfig::default(), &|_| {}).unwrap();
        Arc::new(LoadedModel { name: "m".into(), version: "1".into(), path: "m.tgm".into(), model })
    }

    fn job(
        model: &Arc<LoadedModel>,
        id: &str,
        deadline: Option<Instant>,
    ) -> (Job, oneshot::Receiver<Result<pb::TagResponse, JobError>>) {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            model: Arc::clone(model),
            id: id.into(),
            text: "some words".into(),
            decision: Decision::ModelRule,
            explain: false,
            language: String::new(),
            deadline,
            enqueued: Instant::now(),
            reply: tx,
        };
        (job, rx)
    }

    /// A panic while tagging one document answers that document with an internal error and leaves the others
    /// of its batch (and the process) unharmed.
    #[test]
    fn a_panic_fails_one_document_not_the_batch() {
        let m = model();
        let metrics = Metrics::default();
        let (a, ra) = job(&m, "ok-1", None);
        let (b, rb) = job(&m, "boom", None);
        let (c, rc) = job(&m, "ok-2", None);
        let (d, rd) = job(&m, "late", Some(Instant::now()));
        let (e, re) = job(&m, "gone", None);
        drop(re);
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {})); // keep the expected panic out of the test output
        process(vec![a, b, c, d, e], &metrics, |j| {
            assert!(j.id != "boom", "injected failure");
            tag(j)
        });
        std::panic::set_hook(hook);
        assert_eq!(ra.blocking_recv().unwrap().unwrap().id, "ok-1");
        assert_eq!(rc.blocking_recv().unwrap().unwrap().id, "ok-2");
        match rb.blocking_recv().unwrap() {
            Err(JobError::Internal(m)) => assert!(m.contains("injected failure"), "{m}"),
            other => panic!("expected an internal error, got {other:?}"),
        }
        assert_eq!(rd.blocking_recv().unwrap(), Err(JobError::DeadlineExceeded));
        assert_eq!(metrics.panics.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    /// `compute_nice` lowers the priority of every compute thread by that much, relative to the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn compute_threads_run_at_the_asked_niceness() {
        // Field 19 of /proc/…/stat (the 17th after the command name's closing parenthesis).
        let nice = |stat: &str| stat.rsplit(')').next()?.split_whitespace().nth(16)?.parse::<i32>().ok();
        let base = nice(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let cfg = BatcherConfig {
            max_docs: 8,
            max_delay: Duration::from_millis(1),
            cut_when_idle: true,
            queue_capacity: 8,
            threads: 2,
            compute_nice: 3,
        };
        let _batcher = rt.block_on(async { Batcher::start(cfg, Arc::new(Metrics::default())) }).unwrap();
        let lowered = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| {
                    let dir = t.ok()?.path();
                    let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
                    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
                    (comm.starts_with("tagger-compute") && nice(&stat) == Some((base + 3).min(19))).then_some(())
                })
                .count()
        };
        let until = Instant::now() + Duration::from_secs(5);
        while lowered() < 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(lowered(), 2, "both compute threads at niceness {}", base + 3);
    }
}
