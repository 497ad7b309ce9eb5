//! A load generator for a running server: unary, batched or streaming calls from many concurrent clients,
//! bounded both in request count and in time, reporting throughput, latency percentiles and status codes.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tagger_proto::v1 as pb;
use tagger_proto::v1::tagger_client::TaggerClient;
use tonic::transport::Channel;

/// How documents are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `Tag` call per document.
    Unary,
    /// `TagBatch` calls of this many documents.
    Batch(usize),
    /// One `TagStream` per client, documents streamed.
    Stream,
}

/// Load settings.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Server address (`http://HOST:PORT`).
    pub endpoint: String,
    /// Documents to send (cycled).
    pub texts: Arc<Vec<String>>,
    /// Mode.
    pub mode: Mode,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Stop after this many documents …
    pub max_docs: usize,
    /// … or after this long.
    pub max_time: Duration,
    /// Model name (empty = default).
    pub model: String,
    /// Connections shared by the clients.
    pub connections: usize,
}

/// What a load run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    /// Mode as text.
    pub mode: String,
    /// Concurrency.
    pub concurrency: usize,
    /// Documents answered OK.
    pub docs_ok: usize,
    /// Calls made.
    pub calls: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// OK documents per second.
    pub docs_per_sec: f64,
    /// Call latency percentiles, milliseconds (per call; for streams, per document from its send).
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Calls (or stream items) per status code.
    pub codes: BTreeMap<String, usize>,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The endpoint is not a valid URI.
    #[error("invalid endpoint: {0}")]
    Endpoint(#[from] http::uri::InvalidUri),
    /// Connecting failed.
    #[error("cannot connect: {0}")]
    Connect(#[from] tonic::transport::Error),
}

/// Run the load and measure it.
pub async fn run(cfg: LoadConfig) -> Result<LoadReport, LoadError> {
    let mut channels = Vec::new();
    for _ in 0..cfg.connections.max(1) {
        channels.push(Channel::from_shared(cfg.endpoint.clone())?.connect().await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + cfg.max_time;
    let mut tasks = Vec::new();
    for w in 0..cfg.concurrency.max(1) {
        let mut client = TaggerClient::new(channels[w % channels.len()].clone()).max_decoding_message_size(usize::MAX);
        let (cfg, next) = (cfg.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut codes: BTreeMap<String, usize> = BTreeMap::new();
            let (mut ok_docs, mut calls) = (0usize, 0usize);
            let doc = {
                let (texts, model) = (Arc::clone(&cfg.texts), cfg.model.clone());
                move |i: usize| pb::TagRequest {
                    id: i.to_string(),
                    text: texts[i % texts.len()].clone(),
                    model: model.clone(),
                    ..Default::default()
                }
            };
            match cfg.mode {
                Mode::Unary | Mode::Batch(_) => {
                    let per_call = if let Mode::Batch(b) = cfg.mode { b.max(1) } else { 1 };
                    while Instant::now() < deadline {
                        let first = next.fetch_add(per_call, Ordering::Relaxed);
                        if first >= cfg.max_docs {
                            break;
                        }
                        let n = per_call.min(cfg.max_docs - first);
                        let t = Instant::now();
                        let res = if cfg.mode == Mode::Unary {
                            client.tag(doc(first)).await.map(|_| 1)
                        } else {
                            let documents = (first..first + n).map(&doc).collect();
                            client
                                .tag_batch(pb::TagBatchRequest { documents })
                                .await
                                .map(|r| r.into_inner().results.len())
                        };
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                        calls += 1;
                        let code = match res {
                            Ok(k) => {
                                ok_docs += k;
                                "OK".to_owned()
                            }
                            Err(s) => format!("{:?}", s.code()),
                        };
                        *codes.entry(code).or_insert(0) += 1;
                    }
                }
                Mode::Stream => {
                    // Claim documents in chunks and stream each chunk; send times are kept to measure latency.
                    let chunk = 512;
                    while Instant::now() < deadline {
                        let first = next.fetch_add(chunk, Ordering::Relaxed);
                        if first >= cfg.max_docs {
                            break;
                        }
                        let n = chunk.min(cfg.max_docs - first);
                        let sent = Arc::new(std::sync::Mutex::new(Vec::with_capacity(n)));
                        let (sent2, doc2) = (Arc::clone(&sent), doc.clone());
                        let reqs = tokio_stream::StreamExt::map(tokio_stream::iter(first..first + n), move |i| {
                            if let Ok(mut s) = sent2.lock() {
                                s.push(Instant::now());
                            }
                            doc2(i)
                        });
                        calls += 1;
                        match client.tag_stream(reqs).await {
                            Ok(resp) => {
                                let mut st = resp.into_inner();
                                let mut k = 0;
                                loop {
                                    match st.message().await {
                                        Ok(Some(_)) => {
                                            let t0 = sent.lock().ok().and_then(|s| s.get(k).copied());
                                            if let Some(t0) = t0 {
                                                lat.push(t0.elapsed().as_secs_f64() * 1e3);
                                            }
                                            k += 1;
                                            ok_docs += 1;
                                            *codes.entry("OK".into()).or_insert(0) += 1;
                                        }
                                        Ok(None) => break,
                                        Err(s) => {
                                            *codes.entry(format!("{:?}", s.code())).or_insert(0) += 1;
                                            break;
                                        }
                                    }
                                }
                            }
                            Err(s) => *codes.entry(format!("{:?}", s.code())).or_insert(0) += 1,
                        }
                    }
                }
            }
            (lat, codes, ok_docs, calls)
        }));
    }
    let mut lat = Vec::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let (mut docs_ok, mut calls) = (0, 0);
    for t in tasks {
        if let Ok((l, c, d, n)) = t.await {
            lat.extend(l);
            for (k, v) in c {
                *codes.entry(k).or_insert(0) += v;
            }
            docs_ok += d;
            calls += n;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    Ok(LoadReport {
        mode: match cfg.mode {
            Mode::Unary => "unary".into(),
            Mode::Batch(b) => format!("batch{b}"),
            Mode::Stream => "stream".into(),
        },
        concurrency: cfg.concurrency,
        docs_ok,
        calls,
        seconds,
        docs_per_sec: docs_ok as f64 / seconds,
        p50_ms: pct(&lat, 0.5),
        p90_ms: pct(&lat, 0.9),
        p99_ms: pct(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(0.0),
        codes,
    })
}

/// The report as one JSON object.
pub fn to_json(r: &LoadReport) -> serde_json::Value {
    json!(r)
}
