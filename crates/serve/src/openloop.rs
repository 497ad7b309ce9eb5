//! An open-loop load generator: calls are started at a fixed rate whatever the server answers, the way
//! independent clients arrive, so that an overloaded server is really offered more than it can do (a closed loop,
//! as [`crate::loadgen`], slows down with the server and never overloads it). Every call may carry a deadline
//! (`grpc-timeout`); each answer is timed and classified by status code, a per-second timeline shows the load
//! and its aftermath, and, for checks of model reloads, every answer can be kept with the model version that
//! gave it.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tagger_proto::v1 as pb;
use tagger_proto::v1::tagger_client::TaggerClient;
use tonic::transport::Channel;

/// Open-loop load settings.
#[derive(Debug, Clone)]
pub struct OpenLoadConfig {
    /// Server address (`http://HOST:PORT`).
    pub endpoint: String,
    /// Documents to send (cycled).
    pub texts: Arc<Vec<String>>,
    /// Model name (empty = the server's default).
    pub model: String,
    /// HTTP/2 connections the calls are spread over.
    pub connections: usize,
    /// Documents per call: 1 sends `Tag`, more sends `TagBatch` calls of this many documents.
    pub batch: usize,
    /// Calls started per second.
    pub rate: f64,
    /// Stop starting calls after this long …
    pub duration: Duration,
    /// … or after this many calls.
    pub max_calls: usize,
    /// Deadline of every call (sent as `grpc-timeout`); none when `None`.
    pub deadline: Option<Duration>,
    /// Calls in flight at most; a call due while this many are waiting is not started and is counted in
    /// [`OpenLoadReport::client_skipped`] (bounds the generator's own memory when the server stalls).
    pub max_outstanding: usize,
    /// Keep every answer ([`OpenLoadReport::answers`]).
    pub record: bool,
    /// Set by the caller to stop starting calls early (the run then waits for the calls in flight and reports).
    pub stop: Arc<std::sync::atomic::AtomicBool>,
}

/// Latencies of the calls that ended with one status code.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CodeStats {
    /// Calls.
    pub calls: usize,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
}

/// One second of the run, by the time calls ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Second {
    /// Seconds since the start (the bucket `[t, t+1)`).
    pub t: usize,
    /// Calls started in this second.
    pub started: usize,
    /// Documents answered OK.
    pub ok_docs: usize,
    /// Calls refused with RESOURCE_EXHAUSTED.
    pub exhausted: usize,
    /// Calls past their deadline (DEADLINE_EXCEEDED from the server, or abandoned by the client at it).
    pub deadline_exceeded: usize,
    /// Calls that ended with any other error.
    pub other_errors: usize,
    /// 99th percentile latency of the OK calls, milliseconds.
    pub ok_p99_ms: f64,
}

/// One answered document (kept with [`OpenLoadConfig::record`]).
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The call it came in (calls numbered from 0 in the order they started).
    pub call: usize,
    /// Index of the document in the texts (cycled).
    pub doc: usize,
    /// The model version that answered.
    pub version: String,
    /// Tags as `(label, score)`, in the server's order.
    pub tags: Vec<(String, f32)>,
}

/// What an open-loop run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpenLoadReport {
    /// `unary` or `batchN`.
    pub mode: String,
    /// Calls per second asked for.
    pub rate: f64,
    /// Calls started.
    pub calls: usize,
    /// Calls per second actually started (the generator may fall short of the rate on a busy machine).
    pub started_per_sec: f64,
    /// Calls not started because [`OpenLoadConfig::max_outstanding`] were in flight.
    pub client_skipped: usize,
    /// Seconds from the first call started to the last one ended.
    pub seconds: f64,
    /// Documents answered OK per second of [`Self::seconds`].
    pub ok_docs_per_sec: f64,
    /// Calls and latencies by status code (`OK`, `ResourceExhausted`, …).
    pub codes: BTreeMap<String, CodeStats>,
    /// OK calls that took longer than the deadline (the client gives up at the deadline, so this can only
    /// count answers that arrived in the instant between).
    pub ok_after_deadline: usize,
    /// The first few error messages, one per distinct code.
    pub errors: BTreeMap<String, String>,
    /// Per second, by the time calls ended.
    pub timeline: Vec<Second>,
    /// Every answered document, with [`OpenLoadConfig::record`].
    pub answers: Vec<Answer>,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The message of a call the client abandoned at its deadline.
const CLIENT_TIMEOUT: &str = "no answer by the deadline (client side)";

/// A request with its deadline, if any.
fn with_deadline<T>(message: T, deadline: Option<Duration>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    if let Some(d) = deadline {
        r.set_timeout(d);
    }
    r
}

/// One finished call.
struct Outcome {
    started: f64,
    ended: f64,
    code: String,
    message: String,
    docs: usize,
    answers: Vec<Answer>,
}

/// Run the load and measure it.
pub async fn run_open(cfg: OpenLoadConfig) -> Result<OpenLoadReport, crate::loadgen::LoadError> {
    let mut channels = Vec::new();
    for _ in 0..cfg.connections.max(1) {
        channels.push(Channel::from_shared(cfg.endpoint.clone())?.connect().await?);
    }
    let per_call = cfg.batch.max(1);
    let rate = if cfg.rate.is_finite() && cfg.rate > 0.0 { cfg.rate } else { 1.0 };
    let outstanding = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
    let start = Instant::now();
    let mut started = 0usize;
    let mut skipped = 0usize;
    let mut started_at: Vec<f64> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut due_total = 0usize;
    while start.elapsed() < cfg.duration && due_total < cfg.max_calls && !cfg.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        // Calls due by now at the rate; start the difference (open loop: answers do not slow it down).
        let due = ((start.elapsed().as_secs_f64() * rate) as usize).min(cfg.max_calls);
        while due_total < due {
            let call = due_total;
            due_total += 1;
            if outstanding.load(Ordering::Relaxed) >= cfg.max_outstanding.max(1) {
                skipped += 1;
                continue;
            }
            outstanding.fetch_add(1, Ordering::Relaxed);
            started += 1;
            let t0 = start.elapsed().as_secs_f64();
            started_at.push(t0);
            let mut client =
                TaggerClient::new(channels[call % channels.len()].clone()).max_decoding_message_size(usize::MAX);
            let (texts, model, tx, outstanding, deadline, record) = (
                Arc::clone(&cfg.texts),
                cfg.model.clone(),
                tx.clone(),
                Arc::clone(&outstanding),
                cfg.deadline,
                cfg.record,
            );
            tokio::spawn(async move {
                let first = call * per_call;
                let doc = |i: usize| pb::TagRequest {
                    id: i.to_string(),
                    text: texts[i % texts.len()].clone(),
                    model: model.clone(),
                    ..Default::default()
                };
                let call_fut = async {
                    if per_call == 1 {
                        client.tag(with_deadline(doc(first), deadline)).await.map(|r| vec![r.into_inner()])
                    } else {
                        let documents = (first..first + per_call).map(doc).collect();
                        client
                            .tag_batch(with_deadline(pb::TagBatchRequest { documents }, deadline))
                            .await
                            .map(|r| r.into_inner().results)
                    }
                };
                // The client keeps the deadline too, as gRPC clients do: a call still unanswered when it passes
                // is abandoned (counted as `DeadlineExceeded (client)`), whatever the server is doing.
                let res: Result<Vec<pb::TagResponse>, tonic::Status> = match deadline {
                    Some(d) => match tokio::time::timeout(d, call_fut).await {
                        Ok(r) => r,
                        Err(_) => Err(tonic::Status::new(tonic::Code::DeadlineExceeded, CLIENT_TIMEOUT)),
                    },
                    None => call_fut.await,
                };
                let ended = start.elapsed().as_secs_f64();
                outstanding.fetch_sub(1, Ordering::Relaxed);
                let (code, message, docs, answers) = match res {
                    Ok(results) => {
                        let answers = if record {
                            results
                                .iter()
                                .map(|r| Answer {
                                    call,
                                    doc: r.id.parse::<usize>().map_or(usize::MAX, |i| i % texts.len()),
                                    version: r.model_version.clone(),
                                    tags: r.tags.iter().map(|t| (t.label.clone(), t.score)).collect(),
                                })
                                .collect()
                        } else {
                            Vec::new()
                        };
                        ("OK".to_owned(), String::new(), results.len(), answers)
                    }
                    Err(s) if s.message() == CLIENT_TIMEOUT => {
                        ("DeadlineExceeded (client)".to_owned(), s.message().to_owned(), 0, Vec::new())
                    }
                    Err(s) => (format!("{:?}", s.code()), s.message().to_owned(), 0, Vec::new()),
                };
                let _ = tx.send(Outcome { started: t0, ended, code, message, docs, answers });
            });
        }
    }
    drop(tx);
    let mut outcomes = Vec::with_capacity(started);
    while let Some(o) = rx.recv().await {
        outcomes.push(o);
    }
    Ok(summarise(&cfg, per_call, started, skipped, &started_at, outcomes))
}

fn summarise(
    cfg: &OpenLoadConfig,
    per_call: usize,
    started: usize,
    skipped: usize,
    started_at: &[f64],
    mut outcomes: Vec<Outcome>,
) -> OpenLoadReport {
    let seconds = outcomes.iter().map(|o| o.ended).fold(0.0f64, f64::max);
    let span = started_at.last().copied().unwrap_or(0.0).max(1e-9);
    let mut by_code: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    let n_seconds = seconds.ceil() as usize + 1;
    let mut timeline: Vec<Second> = (0..n_seconds).map(|t| Second { t, ..Default::default() }).collect();
    let mut ok_lat: Vec<Vec<f64>> = vec![Vec::new(); n_seconds];
    for &t in started_at {
        timeline[(t as usize).min(n_seconds - 1)].started += 1;
    }
    let deadline_ms = cfg.deadline.map(|d| d.as_secs_f64() * 1e3);
    let mut ok_after_deadline = 0;
    let mut ok_docs = 0;
    for o in &outcomes {
        let ms = (o.ended - o.started) * 1e3;
        by_code.entry(o.code.clone()).or_default().push(ms);
        let sec = &mut timeline[(o.ended as usize).min(n_seconds - 1)];
        match o.code.as_str() {
            "OK" => {
                sec.ok_docs += o.docs;
                ok_docs += o.docs;
                ok_lat[sec.t].push(ms);
                if deadline_ms.is_some_and(|d| ms > d) {
                    ok_after_deadline += 1;
                }
            }
            "ResourceExhausted" => sec.exhausted += 1,
            "DeadlineExceeded" | "DeadlineExceeded (client)" => sec.deadline_exceeded += 1,
            _ => sec.other_errors += 1,
        }
        if o.code != "OK" {
            errors.entry(o.code.clone()).or_insert_with(|| o.message.clone());
        }
    }
    for (sec, lat) in timeline.iter_mut().zip(&mut ok_lat) {
        lat.sort_by(f64::total_cmp);
        sec.ok_p99_ms = pct(lat, 0.99);
    }
    let codes = by_code
        .into_iter()
        .map(|(code, mut lat)| {
            lat.sort_by(f64::total_cmp);
            let stats = CodeStats {
                calls: lat.len(),
                p50_ms: pct(&lat, 0.5),
                p99_ms: pct(&lat, 0.99),
                max_ms: lat.last().copied().unwrap_or(0.0),
            };
            (code, stats)
        })
        .collect();
    outcomes.sort_by_key(|o| o.answers.first().map_or(usize::MAX, |a| a.call));
    let answers = outcomes.into_iter().flat_map(|o| o.answers).collect();
    OpenLoadReport {
        mode: if per_call == 1 { "unary".into() } else { format!("batch{per_call}") },
        rate: cfg.rate,
        calls: started,
        started_per_sec: started as f64 / span,
        client_skipped: skipped,
        seconds,
        ok_docs_per_sec: if seconds > 0.0 { ok_docs as f64 / seconds } else { 0.0 },
        codes,
        ok_after_deadline,
        errors,
        timeline,
        answers,
    }
}
