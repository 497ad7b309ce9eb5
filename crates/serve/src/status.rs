//! The one place where service errors become gRPC status codes.

use crate::batcher::JobError;
use tonic::{Code, Status};

/// Everything that can go wrong serving a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServeError {
    /// A document's text is over `--max-doc-bytes`.
    DocTooLarge {
        /// Position in the batch (None for Tag).
        index: Option<usize>,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A TagBatch holds more documents than `--max-batch-docs`.
    TooManyDocs {
        /// Documents sent.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// `min_score` outside [0, 1].
    BadMinScore(f32),
    /// `language` is not a language tag.
    BadLanguage(String),
    /// The named model is not loaded.
    ModelNotFound(String),
    /// No model is loaded at all.
    NoModel,
    /// The queue is full.
    QueueFull {
        /// Documents the call needed to queue.
        needed: usize,
    },
    /// The deadline passed before tagging.
    Deadline,
    /// Tagging failed unexpectedly.
    Internal(String),
    /// The server is shutting down.
    ShuttingDown,
    /// A request message was larger than `--max-message-bytes`.
    MessageTooLarge(String),
}

impl From<JobError> for ServeError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::DeadlineExceeded => ServeError::Deadline,
            JobError::Internal(m) => ServeError::Internal(m),
        }
    }
}

impl From<ServeError> for Status {
    fn from(e: ServeError) -> Status {
        match e {
            ServeError::DocTooLarge { index, bytes, limit } => Status::invalid_argument(match index {
                Some(i) => format!(
                    "document {i} has {bytes} bytes of text, over the server's --max-doc-bytes limit of {limit}"
                ),
                None => {
                    format!("document has {bytes} bytes of text, over the server's --max-doc-bytes limit of {limit}")
                }
            }),
            ServeError::TooManyDocs { count, limit } => Status::invalid_argument(format!(
                "batch holds {count} documents, over the server's --max-batch-docs limit of {limit}; split it"
            )),
            ServeError::BadMinScore(v) => Status::invalid_argument(format!("min_score must be in [0, 1], not {v}")),
            ServeError::BadLanguage(l) => {
                let shown: String = l.chars().take(40).collect();
                Status::invalid_argument(format!(
                    "language must be a BCP 47 tag such as \"en\" or \"fi\" (letters, digits, '-'), not {shown:?}"
                ))
            }
            ServeError::ModelNotFound(m) => Status::not_found(format!("model {m:?} is not loaded (see ListModels)")),
            ServeError::NoModel => Status::unavailable("no model is loaded yet"),
            ServeError::QueueFull { needed } => Status::resource_exhausted(format!(
                "server queue is full (could not queue {needed} document(s)); retry with backoff"
            )),
            ServeError::Deadline => Status::deadline_exceeded("deadline passed before the document was tagged"),
            ServeError::Internal(m) => Status::internal(format!("tagging failed: {m}")),
            ServeError::ShuttingDown => Status::unavailable("server is shutting down"),
            ServeError::MessageTooLarge(m) => Status::resource_exhausted(m),
        }
    }
}

/// The code a result will be reported with (for metrics).
pub fn code_of<T>(r: &Result<T, ServeError>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(e) => Status::from(e.clone()).code(),
    }
}

/// The HTTP status and problem title a service error gets on the REST API (`annif.rs`): Annif's codes where
/// Annif has one (404 unknown project, 400 bad request, 503 cannot take the work), 413 for a text over the
/// server's limit, 504 for a passed deadline.
pub fn http_status_of(e: &ServeError) -> (http::StatusCode, &'static str) {
    use http::StatusCode as S;
    match e {
        ServeError::ModelNotFound(_) => (S::NOT_FOUND, "Project not found"),
        ServeError::DocTooLarge { .. } | ServeError::MessageTooLarge(_) => (S::PAYLOAD_TOO_LARGE, "Payload Too Large"),
        ServeError::TooManyDocs { .. } | ServeError::BadMinScore(_) | ServeError::BadLanguage(_) => {
            (S::BAD_REQUEST, "Bad Request")
        }
        ServeError::QueueFull { .. } | ServeError::NoModel | ServeError::ShuttingDown => {
            (S::SERVICE_UNAVAILABLE, "Service unavailable")
        }
        ServeError::Deadline => (S::GATEWAY_TIMEOUT, "Gateway Timeout"),
        ServeError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

/// The gRPC code an HTTP answer of the REST API is counted under in the request metrics.
pub fn code_of_http(status: http::StatusCode) -> Code {
    use http::StatusCode as S;
    match status {
        s if s.is_success() => Code::Ok,
        S::NOT_FOUND => Code::NotFound,
        S::UNAUTHORIZED => Code::Unauthenticated,
        S::FORBIDDEN => Code::PermissionDenied,
        S::PAYLOAD_TOO_LARGE => Code::InvalidArgument,
        S::SERVICE_UNAVAILABLE => Code::Unavailable,
        S::GATEWAY_TIMEOUT => Code::DeadlineExceeded,
        s if s.is_client_error() => Code::InvalidArgument,
        _ => Code::Internal,
    }
}

/// gRPC says an over-size message is RESOURCE_EXHAUSTED; tonic's decoder reports OUT_OF_RANGE. Rewrite it.
pub fn fix_decode_status(s: Status) -> Status {
    if s.code() == Code::OutOfRange && s.message().contains("message length too large") {
        Status::resource_exhausted(format!("{} (--max-message-bytes)", s.message()))
    } else {
        s
    }
}

/// The same rewrite on a trailers-only HTTP response (unary calls whose request failed to decode).
pub fn fix_decode_response<B>(mut resp: http::Response<B>) -> http::Response<B> {
    let h = resp.headers();
    let too_large = h.get("grpc-status").is_some_and(|v| v == "11")
        && h.get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|m| m.contains("too%20large") || m.contains("too large"));
    if too_large {
        resp.headers_mut().insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    resp
}
