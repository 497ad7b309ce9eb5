//! The gRPC request path: `TagRequest` / `TagBatchRequest` bytes decoded with prost (as tonic's codec does)
//! and handed to the service (`TaggerService::tag` / `tag_batch`, through the batcher and compute threads)
//! serving two tiny in-process models, `plain` (the default) and `vocab` (vocabulary + ensemble).
//!
//! Input: a mode byte (bit 0: batch; bits 1–2: the model asked for, as decoded or overridden with "", "plain",
//! "vocab"; bit 3: a `grpc-timeout` header whose text follows, length-prefixed), then the message bytes.
//! The service runs with small limits (200-byte documents, 16-document batches) so the fuzzer reaches them.
//!
//! Properties: no panic (a panic while tagging aborts the process here, though the server would answer
//! INTERNAL); only the status codes the proto's contract gives for a request's own faults (INVALID_ARGUMENT
//! exactly when a document is too large, a batch too long, `min_score` outside [0, 1] or `language` not a
//! tag; NOT_FOUND exactly for an unknown model; DEADLINE_EXCEEDED only with a deadline), never INTERNAL,
//! UNKNOWN or UNAVAILABLE; an answer echoes ids in order, blank texts get no tags, `top_k` and `min_score` are
//! honoured, scores and labels are what the library's `tag` gives, and evidence spans lie inside the text on
//! char boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tagger_model::Decision;
use tagger_proto::v1 as pb;
use tagger_proto::v1::tagger_server::Tagger;
use tagger_serve::metrics::Metrics;
use tagger_serve::service::{Shared, TaggerService};
use tagger_serve::{ModelSource, ServeConfig};
use tonic::Code;

const MAX_DOC_BYTES: usize = 200;
const MAX_REQUEST_DOCS: usize = 16;
const MODELS: [&str; 2] = ["plain", "vocab"];

struct Env {
    rt: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    service: TaggerService,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir: PathBuf = std::env::temp_dir().join(format!("tagger-fuzz-serve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, bytes) in MODELS.iter().zip(tagger_fuzz::model_files()) {
            std::fs::create_dir_all(dir.join(name).join("1")).expect("repository directory");
            std::fs::write(dir.join(name).join("1/model.tgm"), bytes).expect("write model");
        }
        let mut cfg = ServeConfig::new(ModelSource::Repository(dir));
        cfg.default_model = Some("plain".into());
        cfg.compute_threads = 1;
        cfg.reload_interval = None;
        cfg.max_doc_bytes = MAX_DOC_BYTES;
        cfg.max_request_docs = MAX_REQUEST_DOCS;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let (shared, report) =
            rt.block_on(tagger_serve::build_shared(&cfg, Arc::new(Metrics::default()))).expect("service state");
        assert!(report.failed.is_empty() && report.loaded.len() == 2, "fixture models did not load: {report:?}");
        let service = TaggerService::new(Arc::clone(&shared));
        Env { rt, shared, service }
    })
}

/// The contract's language rule: a BCP 47-like tag of letters, digits and '-' (or empty).
fn is_language_tag(s: &str) -> bool {
    s.len() <= 35 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !s.starts_with('-')
}

/// The code the contract gives a document's own fault, if it has one, in the order the service checks.
fn fault(r: &pb::TagRequest) -> Option<Code> {
    let bad_score = r.min_score.is_some_and(|m| !(0.0..=1.0).contains(&m));
    if r.text.len() > MAX_DOC_BYTES || bad_score || !is_language_tag(&r.language) {
        Some(Code::InvalidArgument)
    } else if !(r.model.is_empty() || MODELS.contains(&r.model.as_str())) {
        Some(Code::NotFound)
    } else {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut timeout = None;
    if mode & 8 != 0 {
        let Some((&len, tail)) = rest.split_first() else { return };
        let len = usize::from(len % 16).min(tail.len());
        timeout = Some(String::from_utf8_lossy(&tail[..len]).into_owned());
        rest = &tail[len..];
    }
    let mut docs = if mode & 1 == 0 {
        let Ok(r) = pb::TagRequest::decode(rest) else { return };
        vec![r]
    } else {
        let Ok(b) = pb::TagBatchRequest::decode(rest) else { return };
        b.documents
    };
    if let Some(name) = [None, Some(""), Some("plain"), Some("vocab")][usize::from(mode >> 1) & 3] {
        docs.iter_mut().for_each(|d| d.model = name.to_owned());
    }
    let env = env();
    let has_deadline = timeout.is_some();
    let (answers, code) = if mode & 1 == 0 {
        let req = with_timeout(tonic::Request::new(docs[0].clone()), &timeout);
        match env.rt.block_on(env.service.tag(req)) {
            Ok(r) => (Some(vec![r.into_inner()]), Code::Ok),
            Err(s) => (None, s.code()),
        }
    } else {
        let req = with_timeout(tonic::Request::new(pb::TagBatchRequest { documents: docs.clone() }), &timeout);
        match env.rt.block_on(env.service.tag_batch(req)) {
            Ok(r) => (Some(r.into_inner().results), Code::Ok),
            Err(s) => (None, s.code()),
        }
    };
    // The status the contract gives this call: the batch limit, then the first document's fault.
    let expected = if mode & 1 != 0 && docs.len() > MAX_REQUEST_DOCS {
        Some(Code::InvalidArgument)
    } else {
        docs.iter().find_map(fault)
    };
    match (expected, answers) {
        (Some(e), _) => assert_eq!(code, e, "expected {e:?} for {docs:?}"),
        (None, None) => assert!(
            code == Code::DeadlineExceeded && has_deadline,
            "a valid request got {code:?} (deadline header: {timeout:?}): {docs:?}"
        ),
        (None, Some(answers)) => check_answers(env, &docs, &answers),
    }
});

/// The request with a `grpc-timeout` header, when the input gives one that is a valid header value.
fn with_timeout<T>(mut req: tonic::Request<T>, timeout: &Option<String>) -> tonic::Request<T> {
    if let Some(t) = timeout
        && let Ok(v) = t.parse::<tonic::metadata::MetadataValue<_>>()
    {
        req.metadata_mut().insert("grpc-timeout", v);
    }
    req
}

fn check_answers(env: &Env, docs: &[pb::TagRequest], answers: &[pb::TagResponse]) {
    assert_eq!(answers.len(), docs.len(), "one answer per document");
    let snap = env.shared.registry.snapshot();
    for (d, a) in docs.iter().zip(answers) {
        assert_eq!(a.id, d.id, "answers out of order or ids changed");
        let loaded = snap.get(&d.model).expect("the model answered, so it is loaded");
        assert_eq!(a.model, loaded.name);
        if d.text.trim().is_empty() {
            assert!(a.tags.is_empty(), "a blank text got tags");
            continue;
        }
        if d.top_k > 0 {
            assert!(a.tags.len() <= d.top_k as usize, "top_k {} but {} tags", d.top_k, a.tags.len());
        }
        for t in &a.tags {
            assert!((0.0..=1.0).contains(&t.score), "score {} out of [0, 1]", t.score);
            if let Some(m) = d.min_score {
                assert!(t.score >= m, "score {} under min_score {m}", t.score);
            }
            if d.explain {
                for e in &t.evidence {
                    let spans = e.spans.iter().map(|s| (s.start as usize, s.end as usize));
                    tagger_fuzz::check_spans(&d.text, spans, "gRPC evidence");
                }
            } else {
                assert!(t.evidence.is_empty(), "evidence without explain");
            }
        }
        if !d.explain {
            // The service answers what the library answers (as `tagger predict` does).
            let decision = Decision::from_options(d.top_k as usize, d.min_score);
            let model = &loaded.model;
            let local: Vec<(&str, f32)> = model
                .tag(&d.text, decision)
                .into_iter()
                .map(|t| (model.display_label(t.id, &d.language), t.score))
                .collect();
            let served: Vec<(&str, f32)> = a.tags.iter().map(|t| (t.label.as_str(), t.score)).collect();
            assert_eq!(served, local, "service and library disagree on {:?}", d.text);
        }
    }
}
