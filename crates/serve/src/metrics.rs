//! Prometheus metrics, kept with atomics and rendered as text exposition format on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram with fixed bucket upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Record one observation.
    pub fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add((v * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cum += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

const SECONDS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
const DOCS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// All metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Seconds a document waited in the queue before compute.
    pub queue_wait: Histogram,
    /// Seconds of compute per batch.
    pub compute: Histogram,
    /// Documents per batch.
    pub batch_size: Histogram,
    /// Documents tagged.
    pub documents: AtomicU64,
    /// Model loads that failed.
    pub reload_failures: AtomicU64,
    /// Model loads that succeeded.
    pub reloads: AtomicU64,
    /// Compute panics caught.
    pub panics: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Mutex::new(BTreeMap::new()),
            queue_wait: Histogram::new(SECONDS),
            compute: Histogram::new(SECONDS),
            batch_size: Histogram::new(DOCS),
            documents: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            panics: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Count one finished call.
    pub fn request(&self, method: &'static str, code: tonic::Code) {
        let code = code_name(code);
        let mut m = match self.requests.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *m.entry((method, code)).or_insert(0) += 1;
    }

    /// Calls counted for a method and code (tests).
    pub fn requests_for(&self, method: &str, code: tonic::Code) -> u64 {
        let m = match self.requests.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        m.get(&(method, code_name(code))).copied().unwrap_or(0)
    }

    /// Prometheus text exposition.
    pub fn render(&self, models: &[(String, String)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP tagger_requests_total Finished calls by method (gRPC methods; AnnifSuggest, AnnifSuggestBatch for the REST API) and status code.\n");
        out.push_str("# TYPE tagger_requests_total counter\n");
        {
            let m = match self.requests.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for ((method, code), n) in m.iter() {
                let _ = writeln!(out, "tagger_requests_total{{method=\"{method}\",code=\"{code}\"}} {n}");
            }
        }
        self.queue_wait.render("tagger_queue_wait_seconds", "Time documents waited for compute.", &mut out);
        self.compute.render("tagger_compute_seconds", "Compute time per batch.", &mut out);
        self.batch_size.render("tagger_batch_size", "Documents per batch.", &mut out);
        for (name, help, v) in [
            ("tagger_documents_total", "Documents tagged.", &self.documents),
            ("tagger_model_reloads_total", "Model versions loaded.", &self.reloads),
            (
                "tagger_model_reload_failures_total",
                "Model loads that failed (old version kept).",
                &self.reload_failures,
            ),
            ("tagger_compute_panics_total", "Panics caught while tagging.", &self.panics),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Ordering::Relaxed));
        }
        out.push_str("# HELP tagger_model_info Loaded model versions.\n# TYPE tagger_model_info gauge\n");
        for (name, version) in models {
            let _ = writeln!(out, "tagger_model_info{{model=\"{name}\",version=\"{version}\"}} 1");
        }
        out
    }
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}
