//! Annif's REST API on the HTTP port, beside `/metrics`: the paths, bodies and error shapes of
//! `annif/openapi/annif.yaml` (Annif 1.4), so that integrations written for Annif (the `annif-client` package,
//! Finto AI, repository software) can call tagger unchanged. A project is a served model. Tagging goes through
//! the same code as gRPC (`Shared::tag_one` / `Shared::tag_batch`: the same batcher, limits and metrics).
//!
//! Errors are RFC 7807 problem documents (`application/problem+json`) with the status codes Annif gives:
//! 400 for a malformed request (checked before the project is looked up, as Annif validates a request against
//! its schema first) or a language the vocabulary lacks, 404 for an unknown project, 403 for `learn` (tagger does
//! not learn through the API), 401 without the server's auth token when it has one, 415 for a body of the wrong
//! content type (Annif's server answers so, though its document does not list it), 503 when the server cannot
//! take the work (queue full, no model, shutting down), 504 when the deadline passes. A body over the server's
//! limits gets 413 as `text/plain`, the shape Annif's document gives that status.

use crate::registry::LoadedModel;
use crate::service::Shared;
use crate::status::{ServeError, code_of_http, http_status_of};
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use tagger_proto::v1 as pb;

/// Most documents in one `suggest-batch` call (Annif's schema: `maxItems: 32`).
pub const MAX_BATCH_DOCS: usize = 32;
/// Labels per suggestion list when the request names no `limit` (Annif's default).
const DEFAULT_LIMIT: u32 = 10;

/// The HTTP routes: `/metrics`, Annif's API under `/v1`, tagger's JSON API (`/v1/tag`, `/v1/tag-batch`,
/// `/v1/models`) and its page at `/` (`rest.rs`). With an auth token (`--auth-token`), both APIs ask for it as
/// gRPC does (`Authorization: Bearer TOKEN`, else 401); `/metrics` and the page stay open.
pub(crate) fn router(shared: Arc<Shared>, auth_token: Option<Arc<str>>) -> axum::Router {
    // A body may hold a batch of the largest documents the service takes, plus JSON framing.
    let body_limit = MAX_BATCH_DOCS.saturating_mul(shared.limits.max_doc_bytes).saturating_add(64 * 1024);
    let api = axum::Router::new()
        .route("/v1", get(show_info))
        .route("/v1/", get(show_info))
        .route("/v1/vocabs", get(list_vocabs))
        .route("/v1/projects", get(list_projects))
        .route("/v1/projects/{project_id}", get(show_project))
        .route("/v1/projects/{project_id}/suggest", post(suggest))
        .route("/v1/projects/{project_id}/suggest-batch", post(suggest_batch))
        .route("/v1/detect-language", post(detect_language))
        .route_layer(axum::middleware::from_fn(require_body))
        // `learn` reads no body (it answers 403 for every project), so it is not asked for one.
        .route("/v1/projects/{project_id}/learn", post(learn))
        // tagger's own JSON API (`rest.rs`) shares the prefix: its paths are not Annif's.
        .merge(crate::rest::api())
        .route_layer(axum::middleware::from_fn_with_state(auth_token, require_token));
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(crate::rest::page))
        .merge(api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(shared)
}

async fn require_token(
    State(token): State<Option<Arc<str>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(token) = token {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given.and_then(|g| g.strip_prefix("Bearer ")) != Some(&*token) {
            return problem(StatusCode::UNAUTHORIZED, "Unauthorized", "missing or wrong bearer token");
        }
    }
    next.run(req).await
}

/// Every operation that takes a body requires one: without it, Annif's 400 "RequestBody is required" whatever
/// the content type says.
async fn require_body(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::body::HttpBody;
    if req.method() == axum::http::Method::POST && req.body().size_hint().exact() == Some(0) {
        return bad_request("RequestBody is required");
    }
    next.run(req).await
}

/// An RFC 7807 problem document.
fn problem(status: StatusCode, title: &str, detail: impl Into<String>) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn bad_request(detail: impl Into<String>) -> Response {
    problem(StatusCode::BAD_REQUEST, "Bad Request", detail)
}

fn project_not_found(project_id: &str) -> Response {
    problem(StatusCode::NOT_FOUND, "Project not found", format!("Project '{project_id}' not found"))
}

/// 413 as Annif's document gives it: a plain-text body.
fn too_large(detail: &str) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("Payload Too Large: {detail}"),
    )
        .into_response()
}

/// A request the extractor could not read: too large (413), wrong content type (415), otherwise 400 as Annif's
/// request validation answers.
fn rejected(status: StatusCode, text: String) -> Response {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(&text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => problem(status, "Unsupported Media Type", text),
        _ => bad_request(text),
    }
}

/// The answer to a service error: its gRPC message as the detail, under the status `status.rs` chooses.
fn serve_error(e: &ServeError) -> Response {
    let (status, title) = http_status_of(e);
    let detail = || tonic::Status::from(e.clone()).message().to_owned();
    match e {
        ServeError::ModelNotFound(name) => project_not_found(name),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => too_large(&detail()),
        _ => problem(status, title, detail()),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let snap = shared.registry.snapshot();
    let models: Vec<(String, String)> = snap.models.values().map(|m| (m.name.clone(), m.version.clone())).collect();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], shared.metrics.render(&models)).into_response()
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not Found",
        "served here: / (a page), /metrics, tagger's JSON API (/v1/tag, /v1/tag-batch, /v1/models) and Annif's REST \
         API under /v1/",
    )
}

async fn show_info() -> Json<Value> {
    Json(json!({"title": "Annif REST API (tagger)", "version": env!("CARGO_PKG_VERSION")}))
}

/// Annif's `Vocabulary` object for a model: its vocabulary's identifier (the first vocabulary file's name without
/// extension and language suffix, `yso-fi.tsv` → `yso`; the model's name for a model without a vocabulary),
/// languages and size (concepts, or labels).
fn vocab_of(m: &LoadedModel) -> Value {
    let model = &m.model;
    let id = model
        .meta
        .vocabulary
        .first()
        .and_then(|f| std::path::Path::new(f).file_stem().and_then(|s| s.to_str()))
        .map(|stem| match stem.rsplit_once(['-', '_']) {
            Some((head, lang)) if !head.is_empty() && tagger_tokenize::primary_language(lang).is_some() => {
                head.to_owned()
            }
            _ => stem.to_owned(),
        })
        .unwrap_or_else(|| m.name.clone());
    let (languages, size) = match model.vocabulary() {
        Some(v) => (v.languages().to_vec(), v.len()),
        None => (model.language().map(str::to_owned).into_iter().collect(), model.labels().len()),
    };
    json!({"vocab_id": id, "languages": languages, "size": size, "loaded": true})
}

/// Annif's `Project` object for a served model.
fn project_of(m: &LoadedModel) -> Value {
    let model = &m.model;
    let text_language = model.meta.profile.as_ref().and_then(|p| p.language.clone());
    let language = text_language.or_else(|| model.language().map(str::to_owned)).unwrap_or_default();
    let backend = if model.ensemble().is_some() { "tagger-ensemble" } else { "tagger-linear" };
    let modified = (model.meta.created_unix > 0).then(|| rfc3339(model.meta.created_unix));
    json!({
        "project_id": m.name,
        "name": m.name,
        "language": language,
        "backend": {"backend_id": backend},
        "vocab": vocab_of(m),
        "vocab_language": model.language(),
        "is_trained": true,
        "modification_time": modified,
    })
}

async fn list_vocabs(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let snap = shared.registry.snapshot();
    let mut vocabs: Vec<Value> = Vec::new();
    for m in snap.models.values() {
        let v = vocab_of(m);
        if !vocabs.iter().any(|x| x["vocab_id"] == v["vocab_id"]) {
            vocabs.push(v);
        }
    }
    Json(json!({ "vocabs": vocabs }))
}

async fn list_projects(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let snap = shared.registry.snapshot();
    Json(json!({"projects": snap.models.values().map(|m| project_of(m)).collect::<Vec<_>>()}))
}

async fn show_project(State(shared): State<Arc<Shared>>, Path(project_id): Path<String>) -> Response {
    match shared.registry.snapshot().get(&project_id) {
        Some(m) => Json(project_of(m)).into_response(),
        None => project_not_found(&project_id),
    }
}

/// `limit`, `threshold` and `language` as a request gives them (form fields or query parameters), unparsed so
/// that a malformed value gets Annif's 400 with a clear message rather than an extractor's generic one.
#[derive(Debug, Default, Deserialize)]
struct Options {
    limit: Option<String>,
    threshold: Option<String>,
    language: Option<String>,
}

/// Checked options: how many suggestions, the lowest score, the labels' language.
struct Checked {
    limit: u32,
    threshold: f32,
    language: String,
}

impl Options {
    /// `limit` and `threshold` checked as Annif's schema checks them, before any project is looked up; or what is
    /// wrong with them (a 400's detail).
    fn parse(&self) -> Result<Checked, String> {
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            // Annif's schema: a non-negative int32.
            Some(s) => match s.parse::<u32>() {
                Ok(l) if i32::try_from(l).is_ok() => l,
                _ => return Err(format!("limit must be an integer from 0 to {}, not {s:?}", i32::MAX)),
            },
        };
        let threshold = match self.threshold.as_deref().map(str::trim) {
            None | Some("") => 0.0,
            Some(s) => match s.parse::<f32>() {
                Ok(t) if (0.0..=1.0).contains(&t) => t,
                _ => return Err(format!("threshold must be a number from 0 to 1, not {s:?}")),
            },
        };
        Ok(Checked { limit, threshold, language: self.language.clone().unwrap_or_default() })
    }
}

impl Checked {
    /// As Annif: a language the project's vocabulary has no labels in is refused (a model without a vocabulary
    /// has plain labels, in no particular language, and takes any).
    fn check_language(&self, m: &LoadedModel) -> Result<(), String> {
        let language = &self.language;
        if !language.is_empty()
            && let Some(v) = m.model.vocabulary()
        {
            let wanted = tagger_tokenize::primary_language(language);
            let known = v.languages().iter().any(|l| tagger_tokenize::primary_language(l) == wanted);
            if wanted.is_none() || !known {
                return Err(format!("language \"{language}\" not supported by vocabulary"));
            }
        }
        Ok(())
    }
}

/// The options checked (400), then the project looked up (404), then the language checked against its vocabulary
/// (400), in Annif's order.
fn checked(shared: &Shared, project_id: &str, options: &Options) -> Result<Checked, Box<Response>> {
    let o = options.parse().map_err(|detail| Box::new(bad_request(detail)))?;
    let snap = shared.registry.snapshot();
    let m = snap.get(project_id).ok_or_else(|| Box::new(project_not_found(project_id)))?;
    o.check_language(m).map_err(|detail| Box::new(bad_request(detail)))?;
    Ok(o)
}

/// A request for one document.
fn tag_request(project_id: &str, text: String, o: &Checked) -> pb::TagRequest {
    pb::TagRequest {
        id: String::new(),
        text,
        model: project_id.to_owned(),
        top_k: o.limit,
        min_score: Some(o.threshold),
        explain: false,
        language: o.language.clone(),
    }
}

/// Annif's `SuggestionResultList` for one document's tags. A model without a vocabulary has no URIs: its
/// label stands in for one.
fn results(tags: &[pb::Tag]) -> Value {
    let results: Vec<Value> = tags
        .iter()
        .map(|t| {
            let uri = if t.uri.is_empty() { &t.label } else { &t.uri };
            let notation = (!t.notation.is_empty()).then_some(t.notation.as_str());
            json!({"uri": uri, "label": t.label, "notation": notation, "score": t.score})
        })
        .collect();
    json!({ "results": results })
}

#[derive(Debug, Deserialize)]
struct SuggestForm {
    text: String,
    #[serde(flatten)]
    options: Options,
}

async fn suggest(
    State(shared): State<Arc<Shared>>,
    Path(project_id): Path<String>,
    form: Result<Form<SuggestForm>, FormRejection>,
) -> Response {
    let res = suggest_one(&shared, &project_id, form).await;
    shared.metrics.request("AnnifSuggest", code_of_http(res.status()));
    res
}

async fn suggest_one(shared: &Shared, project_id: &str, form: Result<Form<SuggestForm>, FormRejection>) -> Response {
    let form = match form {
        Ok(Form(f)) => f,
        Err(r) => return rejected(r.status(), r.body_text()),
    };
    let o = match checked(shared, project_id, &form.options) {
        Ok(o) => o,
        Err(response) => return *response,
    };
    if o.limit == 0 {
        return Json(results(&[])).into_response();
    }
    match shared.tag_one(tag_request(project_id, form.text, &o), None).await {
        Ok(r) => Json(results(&r.tags)).into_response(),
        Err(e) => serve_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct BatchDocument {
    text: String,
    /// Absent or a string (Annif's schema does not let it be null).
    #[serde(default, deserialize_with = "present")]
    document_id: Option<String>,
    /// Checked for its shape (an object of strings), as Annif's schema does; tagger tags the text alone.
    #[serde(default)]
    #[allow(dead_code)]
    metadata: std::collections::HashMap<String, String>,
}

/// A field that may be absent (`#[serde(default)]` gives `None`) but, when present, must hold a value.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct Batch {
    documents: Vec<BatchDocument>,
}

async fn suggest_batch(
    State(shared): State<Arc<Shared>>,
    Path(project_id): Path<String>,
    query: Result<Query<Options>, QueryRejection>,
    body: Result<Json<Batch>, JsonRejection>,
) -> Response {
    let res = suggest_many(&shared, &project_id, query, body).await;
    shared.metrics.request("AnnifSuggestBatch", code_of_http(res.status()));
    res
}

async fn suggest_many(
    shared: &Shared,
    project_id: &str,
    query: Result<Query<Options>, QueryRejection>,
    body: Result<Json<Batch>, JsonRejection>,
) -> Response {
    let options = match query {
        Ok(Query(o)) => o,
        Err(r) => return rejected(r.status(), r.body_text()),
    };
    let batch = match body {
        Ok(Json(b)) => b,
        Err(r) => return rejected(r.status(), r.body_text()),
    };
    if batch.documents.len() > MAX_BATCH_DOCS {
        return bad_request(format!(
            "documents: {} documents, at most {MAX_BATCH_DOCS} in one call",
            batch.documents.len()
        ));
    }
    let o = match checked(shared, project_id, &options) {
        Ok(o) => o,
        Err(response) => return *response,
    };
    let ids: Vec<Option<String>> = batch.documents.iter().map(|d| d.document_id.clone()).collect();
    let tagged: Vec<Vec<pb::Tag>> = if o.limit == 0 {
        vec![Vec::new(); ids.len()]
    } else {
        let requests = batch.documents.into_iter().map(|d| tag_request(project_id, d.text, &o)).collect();
        match shared.tag_batch(requests, None).await {
            Ok(r) => r.results.into_iter().map(|r| r.tags).collect(),
            Err(e) => return serve_error(&e),
        }
    };
    let out: Vec<Value> = tagged
        .iter()
        .zip(ids)
        .map(|(tags, id)| {
            let mut r = results(tags);
            r["document_id"] = id.map_or(Value::Null, Value::String);
            r
        })
        .collect();
    Json(Value::Array(out)).into_response()
}

async fn learn(State(shared): State<Arc<Shared>>, Path(project_id): Path<String>) -> Response {
    if shared.registry.snapshot().get(&project_id).is_none() {
        return project_not_found(&project_id);
    }
    problem(
        StatusCode::FORBIDDEN,
        "Learning not allowed",
        format!("Project '{project_id}' is not configured to allow learning via API (retrain it with tagger train)"),
    )
}

#[derive(Debug, Deserialize)]
struct DetectRequest {
    text: String,
    languages: Vec<String>,
}

#[derive(Debug, Serialize)]
struct DetectedLanguage {
    language: Option<String>,
    score: f64,
}

/// The language of the text among the candidates, by character trigram profiles (`whatlang`): the detected
/// candidate with the detector's confidence, or `language: null` with score 1 when the text gives too little to
/// go on. (Annif's answer lists a proportion per candidate; this detector names one language, so one is given.)
async fn detect_language(body: Result<Json<DetectRequest>, JsonRejection>) -> Response {
    let req = match body {
        Ok(Json(r)) => r,
        Err(r) => return rejected(r.status(), r.body_text()),
    };
    if req.languages.is_empty() || req.languages.len() > 5 || req.languages.iter().any(|l| !(2..=3).contains(&l.len()))
    {
        return bad_request("languages: 1 to 5 candidate languages as 2- or 3-letter codes");
    }
    let candidates: Vec<&str> = req.languages.iter().map(String::as_str).collect();
    let Some(detected) = tagger_tokenize::detect_language_among(&req.text, &candidates) else {
        return bad_request("unsupported candidate languages");
    };
    let results = match detected {
        Some(d) => {
            let language =
                req.languages.iter().find(|l| tagger_tokenize::primary_language(l).as_ref() == Some(&d.code));
            vec![DetectedLanguage { language: language.cloned().or(Some(d.code)), score: d.confidence }]
        }
        None => vec![DetectedLanguage { language: None, score: 1.0 }],
    };
    Json(json!({ "results": results })).into_response()
}

/// Seconds since the Unix epoch as an RFC 3339 UTC timestamp (`2020-05-19T16:42:42Z`).
fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_589_906_562), "2020-05-19T16:42:42Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
