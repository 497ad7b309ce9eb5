//! tagger's own HTTP/JSON API and its web page, on the HTTP port beside `/metrics` and Annif's API:
//!
//! * `POST /v1/tag` — a `TagRequest` as JSON → a `TagResponse`;
//! * `POST /v1/tag-batch` — `{"documents": [TagRequest…]}` → `{"results": [TagResponse…]}`;
//! * `GET /v1/models` — `ListModelsResponse`; `GET /v1/models/{name}` — `ModelInfo` with its labels;
//! * `GET /` — a page where a person pastes a text, picks a model (and language) and sees the tags, with the
//!   evidence highlighted in the text. One static file, no external assets (works offline).
//!
//! Bodies use the proto's field names (`top_k`, `min_score`, `model_version`…; the lowerCamelCase names of
//! protobuf's JSON mapping are accepted on input too; unknown fields are refused, so a typo is a 400, not a
//! silently ignored option). Tagging goes through the same `Shared::tag_one` / `Shared::tag_batch` as gRPC
//! (batcher, limits, metrics), and model listings through the same `Shared::list_models` / `Shared::get_model`. Errors carry the
//! gRPC status they would have had, mapped to HTTP as gRPC-over-HTTP gateways do:
//! `{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "…"}}`.
//!
//! A call may carry a deadline as gRPC-to-HTTP gateways pass it on: a `grpc-timeout` header (`500m`, `2S`…,
//! gRPC's format). A document not tagged by then is answered 504 DEADLINE_EXCEEDED; a malformed value is a 400.

use crate::service::Shared;
use crate::status::{ServeError, code_of};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use tagger_proto::v1 as pb;
use tonic::Code;

/// The page at `/`.
const PAGE: &str = include_str!("page.html");

/// The JSON API's routes (under the server's auth token, when it has one).
pub(crate) fn api() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/v1/tag", post(tag))
        .route("/v1/tag-batch", post(tag_batch))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{name}", get(get_model))
}

/// The web page (open: it holds no data; its calls to the API send the token a person types in).
pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Everything the page needs is in it: no script, style or connection elsewhere.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; \
                 img-src data:",
            ),
        ],
        PAGE,
    )
        .into_response()
}

/// The canonical name of a gRPC status code (as in `grpc/status.proto`).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The HTTP status of a gRPC code (the mapping of gRPC-to-HTTP gateways: grpc-gateway, Google APIs).
fn http_of(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_with(http: StatusCode, code: Code, message: &str) -> Response {
    let body = json!({"error": {"code": http.as_u16(), "status": code_name(code), "message": message}});
    (http, Json(body)).into_response()
}

/// A service error as the JSON API answers it: the gRPC code and message, under that code's HTTP status.
fn error(e: &ServeError) -> Response {
    let status = tonic::Status::from(e.clone());
    error_with(http_of(status.code()), status.code(), status.message())
}

/// A body the JSON extractor could not read: wrong content type (415), too large (413), otherwise malformed or
/// not a request (400, INVALID_ARGUMENT, as gRPC answers a message it cannot use).
fn rejected(r: &JsonRejection) -> Response {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => error_with(r.status(), Code::ResourceExhausted, &r.body_text()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => error_with(r.status(), Code::InvalidArgument, &r.body_text()),
        _ => error_with(StatusCode::BAD_REQUEST, Code::InvalidArgument, &r.body_text()),
    }
}

/// A `TagRequest` as JSON: the proto's field names (or their lowerCamelCase forms); only `text` is required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagJson {
    #[serde(default)]
    id: String,
    text: String,
    #[serde(default)]
    model: String,
    #[serde(default, alias = "topK")]
    top_k: u32,
    #[serde(default, alias = "minScore")]
    min_score: Option<f32>,
    #[serde(default)]
    explain: bool,
    #[serde(default)]
    language: String,
}

impl From<TagJson> for pb::TagRequest {
    fn from(t: TagJson) -> Self {
        pb::TagRequest {
            id: t.id,
            text: t.text,
            model: t.model,
            top_k: t.top_k,
            min_score: t.min_score,
            explain: t.explain,
            language: t.language,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchJson {
    documents: Vec<TagJson>,
}

fn tag_json(t: &pb::Tag) -> Value {
    let evidence: Vec<Value> = t
        .evidence
        .iter()
        .map(|e| {
            let spans: Vec<Value> = e.spans.iter().map(|s| json!({"start": s.start, "end": s.end})).collect();
            json!({"term": e.term, "contribution": e.contribution, "spans": spans})
        })
        .collect();
    json!({"label": t.label, "score": t.score, "uri": t.uri, "notation": t.notation, "evidence": evidence})
}

fn response_json(r: &pb::TagResponse) -> Value {
    json!({
        "id": r.id,
        "tags": r.tags.iter().map(tag_json).collect::<Vec<_>>(),
        "model": r.model,
        "model_version": r.model_version,
    })
}

fn model_json(m: &pb::ModelInfo) -> Value {
    json!({
        "name": m.name,
        "version": m.version,
        "labels": m.labels,
        "label_count": m.label_count,
        "feature_count": m.feature_count,
        "training_metadata_json": m.training_metadata_json,
        "cv_micro_f1": m.cv_micro_f1,
        "cv_macro_f1": m.cv_macro_f1,
        "path": m.path,
        "language": m.language,
        "vocabulary_languages": m.vocabulary_languages,
        "concept_count": m.concept_count,
    })
}

/// Answers a call and counts it in the request metrics under `method`.
fn counted<T>(
    shared: &Shared,
    method: &'static str,
    res: Result<T, ServeError>,
    ok: impl FnOnce(T) -> Value,
) -> Response {
    shared.metrics.request(method, code_of(&res));
    match res {
        Ok(v) => Json(ok(v)).into_response(),
        Err(e) => error(&e),
    }
}

/// A tagging call's deadline (its `grpc-timeout` header) and body, or the answer to a malformed header or a body
/// the extractor could not read (counted under `method`).
fn read<T>(
    shared: &Shared,
    method: &'static str,
    headers: &HeaderMap,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(Option<Instant>, T), Box<Response>> {
    let refused = |response: Response| {
        shared.metrics.request(method, Code::InvalidArgument);
        Box::new(response)
    };
    let deadline = match headers.get("grpc-timeout") {
        None => None,
        Some(raw) => match raw.to_str().ok().and_then(crate::service::parse_timeout) {
            Some(d) => Instant::now().checked_add(d),
            None => {
                let message = format!(
                    "grpc-timeout {:?} is not a timeout: up to 8 digits and a unit (H, M, S, m, u, n), e.g. 500m",
                    String::from_utf8_lossy(raw.as_bytes())
                );
                return Err(refused(error_with(StatusCode::BAD_REQUEST, Code::InvalidArgument, &message)));
            }
        },
    };
    let body = body.map_err(|r| refused(rejected(&r)))?;
    Ok((deadline, body.0))
}

async fn tag(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<TagJson>, JsonRejection>,
) -> Response {
    let (deadline, req) = match read(&shared, "HttpTag", &headers, body) {
        Ok(x) => x,
        Err(response) => return *response,
    };
    let res = shared.tag_one(req.into(), deadline).await;
    counted(&shared, "HttpTag", res, |r| response_json(&r))
}

async fn tag_batch(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<BatchJson>, JsonRejection>,
) -> Response {
    let (deadline, req) = match read(&shared, "HttpTagBatch", &headers, body) {
        Ok(x) => x,
        Err(response) => return *response,
    };
    let res = shared.tag_batch(req.documents.into_iter().map(Into::into).collect(), deadline).await;
    counted(
        &shared,
        "HttpTagBatch",
        res,
        |r| json!({"results": r.results.iter().map(response_json).collect::<Vec<_>>()}),
    )
}

async fn list_models(State(shared): State<Arc<Shared>>) -> Response {
    let res = Ok::<_, ServeError>(shared.list_models());
    counted(
        &shared,
        "HttpListModels",
        res,
        |r| json!({"models": r.models.iter().map(model_json).collect::<Vec<_>>(), "default_model": r.default_model}),
    )
}

async fn get_model(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let res = shared.get_model(name);
    counted(&shared, "HttpGetModel", res, |m| model_json(&m))
}
