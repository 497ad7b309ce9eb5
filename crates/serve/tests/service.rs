//! The gRPC service over a real loopback port and in-process (tokio duplex): every RPC, every error code,
//! hot reload under traffic, a corrupt model rejected, graceful shutdown, health and reflection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_model::{Decision, TaggerModel, TrainConfig};
use tagger_proto::v1 as pb;
use tagger_proto::v1::tagger_client::TaggerClient;
use tagger_serve::{ModelSource, ServeConfig};
use tonic::Code;
use tonic::transport::Channel;

fn docs(n: usize, seed_docs: u64) -> Vec<tagger_corpus::Document> {
    let cfg = SynthConfig {
        docs: n,
        labels: 10,
        labels_per_doc: 2.0,
        tokens_per_doc: 60,
        vocabulary: 2000,
        han: false,
        seed: seed_docs,
        ..SynthConfig::default()
    };
    Synth::new(cfg).collect()
}

fn train(d: &[tagger_corpus::Document], seed: u64) -> TaggerModel {
    let texts: Vec<&str> = d.iter().map(|x| x.text.as_str()).collect();
    let labels: Vec<Vec<String>> = d.iter().map(|x| x.labels.clone().unwrap()).collect();
    let mut cfg = TrainConfig::default();
    cfg.classifier.seed = seed;
    cfg.classifier.cv_folds = 3;
    TaggerModel::train(&texts, &labels, &cfg, &|_| {}).unwrap()
}

/// A model repository with `fixture/1/model.tgm`.
fn repo(name: &str) -> (PathBuf, Vec<tagger_corpus::Document>) {
    let dir = std::env::temp_dir().join(format!("tagger-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let all = docs(260, 1);
    let model = train(&all[..200], 1);
    std::fs::create_dir_all(dir.join("fixture/1")).unwrap();
    model.save(&dir.join("fixture/1/model.tgm")).unwrap();
    (dir, all)
}

fn config(repo: &Path) -> ServeConfig {
    let mut cfg = ServeConfig::new(ModelSource::Repository(repo.to_owned()));
    cfg.addr = "127.0.0.1:0".parse().unwrap();
    cfg.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    cfg.reload_interval = None;
    cfg.compute_threads = 2;
    cfg
}

async fn client(addr: std::net::SocketAddr) -> TaggerClient<Channel> {
    TaggerClient::connect(format!("http://{addr}")).await.unwrap()
}

fn req(id: &str, text: &str) -> pb::TagRequest {
    pb::TagRequest { id: id.into(), text: text.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_like_predict() {
    let (dir, all) = repo("rpc");
    let running = tagger_serve::start(config(&dir)).await.unwrap();
    let mut c = client(running.addr).await;
    let local = TaggerModel::load(&dir.join("fixture/1/model.tgm")).unwrap();
    let expect = |text: &str, d: Decision| -> Vec<(String, f32)> {
        local.tag(text, d).into_iter().map(|t| (t.label.to_owned(), t.score)).collect()
    };
    let got =
        |r: &pb::TagResponse| -> Vec<(String, f32)> { r.tags.iter().map(|t| (t.label.clone(), t.score)).collect() };

    // Tag: the same tags and scores as the library (and so as `tagger predict`), for every held-out document.
    for d in &all[200..230] {
        let r = c.tag(req(&d.id, &d.text)).await.unwrap().into_inner();
        assert_eq!((r.id.as_str(), r.model.as_str(), r.model_version.as_str()), (d.id.as_str(), "fixture", "1"));
        assert_eq!(got(&r), expect(&d.text, Decision::ModelRule), "{}", d.id);
    }
    let r = c.tag(pb::TagRequest { top_k: 3, ..req("k", &all[201].text) }).await.unwrap().into_inner();
    assert_eq!(got(&r), expect(&all[201].text, Decision::TopK { k: 3, min_score: None }));
    let r = c.tag(pb::TagRequest { explain: true, ..req("x", &all[202].text) }).await.unwrap().into_inner();
    let ev = &r.tags[0].evidence;
    assert!(!ev.is_empty());
    let span = &ev[0].spans[0];
    assert_eq!(all[202].text[span.start as usize..span.end as usize].to_lowercase(), ev[0].term);

    // TagBatch: same order, same answers.
    let batch: Vec<pb::TagRequest> = all[230..260].iter().map(|d| req(&d.id, &d.text)).collect();
    let res = c.tag_batch(pb::TagBatchRequest { documents: batch }).await.unwrap().into_inner().results;
    assert_eq!(res.len(), 30);
    for (r, d) in res.iter().zip(&all[230..260]) {
        assert_eq!(r.id, d.id);
        assert_eq!(got(r), expect(&d.text, Decision::ModelRule));
    }

    // TagStream: many documents, answered in order.
    let reqs: Vec<pb::TagRequest> = (0..500).map(|i| req(&format!("s{i}"), &all[200 + i % 60].text)).collect();
    let mut stream = c.tag_stream(tokio_stream::iter(reqs)).await.unwrap().into_inner();
    let mut n = 0;
    while let Some(r) = stream.message().await.unwrap() {
        assert_eq!(r.id, format!("s{n}"));
        assert_eq!(got(&r), expect(&all[200 + n % 60].text, Decision::ModelRule));
        n += 1;
    }
    assert_eq!(n, 500);

    // ListModels / GetModel.
    let list = c.list_models(pb::ListModelsRequest {}).await.unwrap().into_inner();
    assert_eq!(list.default_model, "fixture");
    assert_eq!(list.models.len(), 1);
    assert!(list.models[0].labels.is_empty());
    let info = c.get_model(pb::GetModelRequest { name: String::new() }).await.unwrap().into_inner();
    assert_eq!(
        (info.name.as_str(), info.version.as_str(), info.label_count),
        ("fixture", "1", local.labels().len() as u32)
    );
    assert_eq!(info.labels, local.labels());
    assert!(info.training_metadata_json.contains("\"n_docs\":200"));

    // Metrics are served and count what happened.
    let m = http_get(running.metrics_addr.unwrap(), "/metrics").await;
    assert!(m.contains("tagger_requests_total{method=\"Tag\",code=\"OK\"} 32"), "{m}");
    assert!(m.contains("tagger_model_info{model=\"fixture\",version=\"1\"} 1"));
    assert!(m.contains("tagger_batch_size_count"));
    assert!(http_get(running.metrics_addr.unwrap(), "/other").await.starts_with("HTTP/1.1 404"));
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// TLS: a client that trusts the server's certificate is answered like any other; a plaintext client is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_answers_clients_that_trust_the_certificate() {
    let (dir, all) = repo("tls");
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = generated.cert.pem();
    let mut cfg = config(&dir);
    cfg.tls = Some((cert.clone().into_bytes(), generated.key_pair.serialize_pem().into_bytes()));
    let running = tagger_serve::start(cfg).await.unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&cert))
        .domain_name("localhost");
    let ch = Channel::from_shared(format!("https://{}", running.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let local = TaggerModel::load(&dir.join("fixture/1/model.tgm")).unwrap();
    let want: Vec<String> =
        local.tag(&all[210].text, Decision::ModelRule).into_iter().map(|t| t.label.to_owned()).collect();
    let got = TaggerClient::new(ch).tag(req("a", &all[210].text)).await.unwrap().into_inner();
    assert_eq!(got.tags.iter().map(|t| t.label.clone()).collect::<Vec<_>>(), want);
    assert!(!want.is_empty());
    // Plaintext HTTP/2 to the TLS port: no answer.
    let plain = match TaggerClient::connect(format!("http://{}", running.addr)).await {
        Err(_) => true,
        Ok(mut c) => c.tag(req("b", "text")).await.is_err(),
    };
    assert!(plain, "a plaintext client was answered by a TLS server");
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_right_status_codes() {
    let (dir, all) = repo("codes");
    let mut cfg = config(&dir);
    cfg.max_doc_bytes = 1000;
    cfg.max_request_docs = 4;
    cfg.max_message_bytes = 20_000;
    cfg.queue_capacity = 3;
    cfg.batch_max_delay = Duration::from_millis(300);
    cfg.batch_max_docs = 64;
    // Batches wait out the full delay, so a queued document outlives a short deadline.
    cfg.batch_cut_when_idle = false;
    let running = tagger_serve::start(cfg).await.unwrap();
    let mut c = client(running.addr).await;
    let code = |r: Result<tonic::Response<pb::TagResponse>, tonic::Status>| r.map(|_| ()).unwrap_err();

    // Empty text: OK, no tags, no compute.
    let r = c.tag(req("e", "")).await.unwrap().into_inner();
    assert!(r.tags.is_empty());

    let cases: Vec<(pb::TagRequest, Code, &str)> = vec![
        (req("big", &"word ".repeat(300)), Code::InvalidArgument, "--max-doc-bytes limit of 1000"),
        (pb::TagRequest { model: "nope".into(), ..req("m", "text") }, Code::NotFound, "model \"nope\" is not loaded"),
        (pb::TagRequest { min_score: Some(1.5), ..req("s", "text") }, Code::InvalidArgument, "min_score"),
        (pb::TagRequest { language: "en US".into(), ..req("l", "text") }, Code::InvalidArgument, "BCP 47"),
        (req("huge", &"x".repeat(30_000)), Code::ResourceExhausted, "too large"),
    ];
    for (r, want, msg) in cases {
        let s = code(c.tag(r).await);
        assert_eq!(s.code(), want, "{s:?}");
        assert!(s.message().contains(msg), "{s:?}");
    }
    let five: Vec<pb::TagRequest> = (0..5).map(|i| req(&i.to_string(), "text")).collect();
    let s = c.tag_batch(pb::TagBatchRequest { documents: five }).await.unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert!(s.message().contains("--max-batch-docs limit of 4"), "{s:?}");

    // Queue overflow: the queue holds 3 documents; a batch needing 4 is refused at once.
    let four: Vec<pb::TagRequest> = all[..4].iter().map(|d| req(&d.id, &d.text)).collect();
    let s = c.tag_batch(pb::TagBatchRequest { documents: four }).await.unwrap_err();
    assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");

    // Deadline: the batcher holds documents 300 ms; the server answers DEADLINE_EXCEEDED 20 ms before the
    // 200 ms deadline (tonic's client would report its own expiry as CANCELLED; the margin keeps a loaded test
    // machine from racing the two).
    let mut r = tonic::Request::new(req("d", &all[0].text));
    r.set_timeout(Duration::from_millis(200));
    let s = c.tag(r).await.unwrap_err();
    assert_eq!(s.code(), Code::DeadlineExceeded, "{s:?}");

    // A stream with a bad document ends with that document's status, after the good ones.
    let reqs = vec![req("a", &all[1].text), req("b", &"word ".repeat(300))];
    let mut st = c.tag_stream(tokio_stream::iter(reqs)).await.unwrap().into_inner();
    assert_eq!(st.message().await.unwrap().unwrap().id, "a");
    assert_eq!(st.message().await.unwrap_err().code(), Code::InvalidArgument);

    assert_eq!(running.shared.metrics.requests_for("Tag", Code::NotFound), 1);
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_traffic_and_a_corrupt_version_keeps_the_old_one() {
    let (dir, all) = repo("reload");
    let running = tagger_serve::start(config(&dir)).await.unwrap();
    let addr = running.addr;
    let failures = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let saw_v2 = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let text = all[210].text.clone();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (failures, served, saw_v2, stop, text) =
            (failures.clone(), served.clone(), saw_v2.clone(), stop.clone(), text.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = client(addr).await;
            while !stop.load(Ordering::Relaxed) {
                match c.tag(req("t", &text)).await {
                    Ok(r) => {
                        served.fetch_add(1, Ordering::Relaxed);
                        if r.into_inner().model_version == "2" {
                            saw_v2.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Version 2 (a model trained with another seed) appears; reload swaps it in while traffic flows.
    let v2 = train(&all[..200], 2);
    std::fs::create_dir_all(dir.join("fixture/2")).unwrap();
    v2.save(&dir.join("fixture/2/model.tgm")).unwrap();
    let report = running.reloader().reload().await;
    assert_eq!(report.loaded, ["fixture@2"]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Version 3 is corrupt: rejected, version 2 keeps serving.
    std::fs::create_dir_all(dir.join("fixture/3")).unwrap();
    let mut bytes = v2.to_bytes().unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(dir.join("fixture/3/model.tgm"), bytes).unwrap();
    let report = running.reloader().reload().await;
    assert!(report.loaded.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].contains("checksum"), "{:?}", report.failed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "requests failed during reload");
    assert!(served.load(Ordering::Relaxed) > 50);
    assert!(saw_v2.load(Ordering::Relaxed) > 0);
    let mut c = client(addr).await;
    assert_eq!(c.tag(req("t", &text)).await.unwrap().into_inner().model_version, "2");
    assert_eq!(running.shared.metrics.reload_failures.load(Ordering::Relaxed), 1);
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let (dir, all) = repo("shutdown");
    let mut cfg = config(&dir);
    // Documents wait up to 300 ms in the batcher, so they are surely in flight when shutdown starts.
    cfg.batch_max_delay = Duration::from_millis(300);
    cfg.batch_max_docs = 1000;
    cfg.batch_cut_when_idle = false;
    let running = tagger_serve::start(cfg).await.unwrap();
    let addr = running.addr;
    let mut handles = Vec::new();
    for d in &all[..10] {
        let text = d.text.clone();
        handles.push(tokio::spawn(async move { client(addr).await.tag(req("x", &text)).await }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.shutdown().await.unwrap();
    for h in handles {
        let r = h.await.unwrap();
        assert!(r.is_ok(), "in-flight request failed during shutdown: {r:?}");
    }
    // Nothing listens any more.
    assert!(TaggerClient::connect(format!("http://{addr}")).await.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reflection_auth_and_no_model() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let empty = std::env::temp_dir().join(format!("tagger-serve-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let mut cfg = config(&empty);
    cfg.auth_token = Some("s3cret".into());
    let running = tagger_serve::start(cfg).await.unwrap();
    let ch = Channel::from_shared(format!("http://{}", running.addr)).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(ch.clone());
    for service in ["", "tagger.v1.Tagger"] {
        let s = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status;
        assert_eq!(s, ServingStatus::NotServing as i32, "{service:?} while no model is loaded");
    }
    // Auth first, then availability.
    let mut c = TaggerClient::new(ch.clone());
    assert_eq!(c.tag(req("a", "text")).await.unwrap_err().code(), Code::Unauthenticated);
    let mut c = TaggerClient::with_interceptor(ch.clone(), |mut r: tonic::Request<()>| {
        r.metadata_mut().insert("authorization", "Bearer s3cret".parse().unwrap());
        Ok(r)
    });
    assert_eq!(c.tag(req("a", "text")).await.unwrap_err().code(), Code::Unavailable);

    // A model appears; reload makes the server SERVING.
    let (dir, _) = repo("health");
    std::fs::create_dir_all(empty.join("fixture/1")).unwrap();
    std::fs::copy(dir.join("fixture/1/model.tgm"), empty.join("fixture/1/model.tgm")).unwrap();
    running.reloader().reload().await;
    let s = health.check(HealthCheckRequest { service: "".into() }).await.unwrap().into_inner().status;
    assert_eq!(s, ServingStatus::Serving as i32);
    assert!(c.tag(req("a", "some text")).await.is_ok());

    // Reflection lists the tagger and health services (what `grpcurl list` shows).
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut refl = ServerReflectionClient::new(ch.clone());
    let msg = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut resp = refl.server_reflection_info(tokio_stream::iter(vec![msg])).await.unwrap().into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message().await.unwrap().unwrap().message_response
    else {
        panic!("no service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in ["tagger.v1.Tagger", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    // The same through reflection v1alpha (issue 13: grpcurl before 1.8.8 asks for it), down to the descriptor of
    // the tagger service.
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut alpha = ServerReflectionClient::new(ch);
        let ask = |m| ServerReflectionRequest { host: String::new(), message_request: Some(m) };
        let msgs = vec![
            ask(MessageRequest::ListServices(String::new())),
            ask(MessageRequest::FileContainingSymbol("tagger.v1.Tagger".into())),
        ];
        let mut resp = alpha.server_reflection_info(tokio_stream::iter(msgs)).await.unwrap().into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message().await.unwrap().unwrap().message_response
        else {
            panic!("no v1alpha service list")
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.iter().any(|n| n == "tagger.v1.Tagger"), "{names:?}");
        let Some(MessageResponse::FileDescriptorResponse(files)) =
            resp.message().await.unwrap().unwrap().message_response
        else {
            panic!("no v1alpha file descriptor")
        };
        assert!(!files.file_descriptor_proto.is_empty());
    }
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&empty).unwrap();
}

/// In-process, over `tokio::io::duplex`: the service works without any socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_over_duplex() {
    use hyper_util::rt::TokioIo;
    let (dir, all) = repo("duplex");
    let metrics = Arc::new(tagger_serve::metrics::Metrics::default());
    let (shared, report) = tagger_serve::build_shared(&config(&dir), metrics).await.unwrap();
    assert_eq!(report.loaded, ["fixture@1"]);
    let svc = tagger_proto::v1::tagger_server::TaggerServer::new(tagger_serve::service::TaggerService::new(shared));
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_io)))
            .await
    });
    let mut client_io = Some(client_io);
    let ch = tonic::transport::Endpoint::try_from("http://in-process")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| {
            let io = client_io.take();
            async move { io.map(TokioIo::new).ok_or_else(|| std::io::Error::other("client already taken")) }
        }))
        .await
        .unwrap();
    let mut c = TaggerClient::new(ch);
    let r = c.tag(req("d", &all[205].text)).await.unwrap().into_inner();
    assert!(!r.tags.is_empty());
    assert_eq!(c.get_model(pb::GetModelRequest { name: "missing".into() }).await.unwrap_err().code(), Code::NotFound);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A model trained with a vocabulary (subjects "SUBJECT 000K" are the Finnish labels of concepts `c/K`, which
/// also have English labels and notations), served from a repository.
fn vocabulary_repo(name: &str) -> (PathBuf, Vec<tagger_corpus::Document>, TaggerModel) {
    let mut builder = tagger_vocab::VocabBuilder::new();
    let fi: String = (0..10).map(|k| format!("<http://example.org/c/{k}>\tSUBJECT {k:04}\n")).collect();
    let en: String = (0..10).map(|k| format!("<http://example.org/c/{k}>\tsubject {k}\t{k}\n")).collect();
    builder.add_tsv(Path::new("fi.tsv"), "fi", fi.as_bytes()).unwrap();
    builder.add_tsv(Path::new("en.tsv"), "en", en.as_bytes()).unwrap();
    let vocab = builder.finish().unwrap();
    let all = docs(260, 1);
    let resolver = tagger_vocab::Resolver::new(&vocab);
    let mut report = tagger_vocab::SubjectReport::default();
    let texts: Vec<&str> = all[..200].iter().map(|x| x.text.as_str()).collect();
    let labels: Vec<Vec<String>> = all[..200]
        .iter()
        .map(|x| tagger_model::resolve_subjects(&resolver, x.labels.as_ref().unwrap(), &mut report))
        .collect();
    assert_eq!(report.unresolved(), 0);
    let mut cfg = TrainConfig::default();
    cfg.classifier.cv_folds = 3;
    let model = TaggerModel::train(&texts, &labels, &cfg, &|_| {}).unwrap().with_vocabulary(vocab, "fi").unwrap();
    let dir = std::env::temp_dir().join(format!("tagger-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("yso/1")).unwrap();
    model.save(&dir.join("yso/1/model.tgm")).unwrap();
    (dir, all, model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_10_a_vocabulary_model_answers_with_concepts_in_the_language_asked() {
    let (dir, all, model) = vocabulary_repo("vocab");
    let running = tagger_serve::start(config(&dir)).await.unwrap();
    let mut c = client(running.addr).await;
    let text = &all[210].text;
    for (language, prefix) in
        [("", "SUBJECT 000"), ("fi", "SUBJECT 000"), ("en", "subject "), ("en-GB", "subject "), ("de", "SUBJECT 000")]
    {
        let r = pb::TagRequest { language: language.into(), top_k: 3, ..req("v", text) };
        let tags = c.tag(r).await.unwrap().into_inner().tags;
        assert_eq!(tags.len(), 3);
        // The same concepts and scores as the library, each named in the language asked for.
        let local = model.tag(text, Decision::TopK { k: 3, min_score: None });
        for (t, l) in tags.iter().zip(&local) {
            assert_eq!(t.uri, l.label, "labels of a vocabulary model are concept URIs");
            assert_eq!(t.score, l.score);
            let k = t.uri.trim_start_matches("http://example.org/c/");
            assert_eq!(t.notation, k);
            assert_eq!(t.label, format!("{prefix}{k}"), "language {language:?}");
        }
    }
    // Explanations name concepts the same way.
    let r = pb::TagRequest { language: "en".into(), explain: true, top_k: 2, ..req("x", text) };
    let tags = c.tag(r).await.unwrap().into_inner().tags;
    assert!(tags.iter().all(|t| t.label.starts_with("subject ") && !t.uri.is_empty() && !t.evidence.is_empty()));

    let info = c.get_model(pb::GetModelRequest { name: "yso".into() }).await.unwrap().into_inner();
    assert_eq!(info.language, "fi");
    assert_eq!(info.vocabulary_languages, ["fi", "en"]);
    assert_eq!(info.concept_count, 10);
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One HTTP/1.1 exchange on a fresh connection: (status, content type, body).
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// `application/x-www-form-urlencoded` encoding of form fields.
fn form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const JSON: (&str, &str) = ("Content-Type", "application/json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_annif_rest_api_answers_like_the_library_with_annifs_errors() {
    let (dir, all, model) = vocabulary_repo("annif");
    let mut cfg = config(&dir);
    cfg.max_doc_bytes = 20_000;
    let running = tagger_serve::start(cfg).await.unwrap();
    let web = running.metrics_addr.unwrap();
    let json = |s: &str| -> serde_json::Value { serde_json::from_str(s).unwrap() };

    let (status, ctype, body) = http(web, "GET", "/v1/", &[], b"").await;
    assert_eq!((status, ctype.as_str()), (200, "application/json"));
    assert!(json(&body)["title"].as_str().unwrap().contains("Annif REST API"));
    let projects = json(&http(web, "GET", "/v1/projects", &[], b"").await.2);
    let p = &projects["projects"][0];
    assert_eq!(p["project_id"], "yso");
    assert_eq!(p["backend"]["backend_id"], "tagger-linear");
    assert_eq!(p["vocab"]["languages"], serde_json::json!(["fi", "en"]));
    assert_eq!(p["vocab"]["size"], 10);
    assert_eq!(p["vocab_language"], "fi");
    assert_eq!(json(&http(web, "GET", "/v1/projects/yso", &[], b"").await.2), *p);
    let vocabs = json(&http(web, "GET", "/v1/vocabs", &[], b"").await.2);
    assert_eq!(vocabs["vocabs"][0], p["vocab"]);

    // Suggestions: the library's top `limit` tags, as concepts named in the language asked for.
    let text = &all[210].text;
    for (language, prefix) in [(None, "SUBJECT 000"), (Some("en"), "subject ")] {
        let mut fields = vec![("text", text.as_str()), ("limit", "3")];
        fields.extend(language.map(|l| ("language", l)));
        let (status, _, body) = http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&fields).as_bytes()).await;
        assert_eq!(status, 200, "{body}");
        let results = json(&body)["results"].as_array().unwrap().clone();
        let local = model.tag(text, Decision::TopK { k: 3, min_score: Some(0.0) });
        assert_eq!(results.len(), 3);
        for (r, l) in results.iter().zip(&local) {
            assert_eq!(r["uri"], l.label);
            assert_eq!(r["score"].as_f64().unwrap() as f32, l.score);
            let k = l.label.trim_start_matches("http://example.org/c/");
            assert_eq!(r["notation"], k);
            assert_eq!(r["label"], format!("{prefix}{k}"));
        }
    }
    // A threshold drops what scores under it; limit 0 gives nothing.
    let (_, _, body) =
        http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("text", text), ("threshold", "1")]).as_bytes())
            .await;
    assert!(json(&body)["results"].as_array().unwrap().iter().all(|r| r["score"].as_f64().unwrap() >= 1.0));
    let (_, _, body) =
        http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("text", text), ("limit", "0")]).as_bytes())
            .await;
    assert_eq!(json(&body)["results"], serde_json::json!([]));

    // A batch answers each document as `suggest` does, with its document_id (null when not given).
    let batch = serde_json::json!({"documents": [{"text": text, "document_id": "a"}, {"text": all[211].text}]});
    let (status, _, body) =
        http(web, "POST", "/v1/projects/yso/suggest-batch?limit=2&language=en", &[JSON], batch.to_string().as_bytes())
            .await;
    assert_eq!(status, 200, "{body}");
    let out = json(&body);
    assert_eq!(out[0]["document_id"], "a");
    assert_eq!(out[1]["document_id"], serde_json::Value::Null);
    for (i, d) in [210, 211].iter().enumerate() {
        let one = json(
            &http(
                web,
                "POST",
                "/v1/projects/yso/suggest",
                &[FORM],
                form(&[("text", &all[*d].text), ("limit", "2"), ("language", "en")]).as_bytes(),
            )
            .await
            .2,
        );
        assert_eq!(out[i]["results"], one["results"]);
    }

    // Errors: problem documents with Annif's status codes, never a 500.
    let problem = |expect: u16, (status, ctype, body): (u16, String, String)| {
        assert_eq!(status, expect, "{body}");
        assert_eq!(ctype, "application/problem+json");
        let p = json(&body);
        assert_eq!(p["status"], expect);
        p["detail"].as_str().unwrap().to_owned()
    };
    let detail = problem(404, http(web, "GET", "/v1/projects/nope", &[], b"").await);
    assert_eq!(detail, "Project 'nope' not found");
    problem(404, http(web, "POST", "/v1/projects/nope/suggest", &[FORM], form(&[("text", "x")]).as_bytes()).await);
    problem(400, http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("limit", "3")]).as_bytes()).await);
    problem(
        400,
        http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("text", "x"), ("limit", "-1")]).as_bytes())
            .await,
    );
    problem(
        400,
        http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("text", "x"), ("threshold", "2")]).as_bytes())
            .await,
    );
    let detail = problem(
        400,
        http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("text", "x"), ("language", "de")]).as_bytes())
            .await,
    );
    assert_eq!(detail, "language \"de\" not supported by vocabulary");
    // Annif checks a request against its schema before it looks for the project.
    problem(
        400,
        http(web, "POST", "/v1/projects/nope/suggest", &[FORM], form(&[("text", "x"), ("limit", "x")]).as_bytes())
            .await,
    );
    // No body at all is Annif's "RequestBody is required" whatever the content type; a body of the wrong type is
    // 415 as Annif's server answers.
    for path in ["/v1/projects/yso/suggest", "/v1/projects/yso/suggest-batch", "/v1/detect-language"] {
        assert_eq!(problem(400, http(web, "POST", path, &[], b"").await), "RequestBody is required");
        problem(415, http(web, "POST", path, &[("Content-Type", "text/plain")], b"x").await);
    }
    // Over the document limit: 413 in the plain-text shape Annif's document gives it.
    let big = "sana ".repeat(5_000);
    let (status, ctype, body) =
        http(web, "POST", "/v1/projects/yso/suggest", &[FORM], form(&[("text", &big)]).as_bytes()).await;
    assert_eq!((status, ctype.as_str()), (413, "text/plain; charset=utf-8"), "{body}");
    assert!(body.contains("--max-doc-bytes"), "{body}");
    let many = serde_json::json!({"documents": vec![serde_json::json!({"text": "x"}); 33]});
    problem(400, http(web, "POST", "/v1/projects/yso/suggest-batch", &[JSON], many.to_string().as_bytes()).await);
    problem(400, http(web, "POST", "/v1/projects/yso/suggest-batch", &[JSON], b"{\"documents\": [{}]}").await);
    problem(403, http(web, "POST", "/v1/projects/yso/learn", &[JSON], b"[]").await);
    problem(404, http(web, "POST", "/v1/projects/nope/learn", &[JSON], b"[]").await);
    problem(404, http(web, "GET", "/v2/whatever", &[], b"").await);

    // Language detection among the candidates.
    let fi = "Kirjastosta löytyy paljon aineistoa kysymästäsi aiheesta, ja voit myös varata kirjoja verkossa.";
    let req = serde_json::json!({"text": fi, "languages": ["fi", "en"]});
    let (status, _, body) = http(web, "POST", "/v1/detect-language", &[JSON], req.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["results"][0]["language"], "fi");
    let req = serde_json::json!({"text": fi, "languages": ["xx"]});
    problem(400, http(web, "POST", "/v1/detect-language", &[JSON], req.to_string().as_bytes()).await);

    // The REST calls are counted with the gRPC ones.
    let metrics = http_get(web, "/metrics").await;
    assert!(metrics.contains("tagger_requests_total{method=\"AnnifSuggest\",code=\"OK\"}"), "{metrics}");
    assert!(metrics.contains("tagger_requests_total{method=\"AnnifSuggestBatch\",code=\"OK\"} 1"), "{metrics}");
    running.shutdown().await.unwrap();

    // With an auth token the API asks for it, as gRPC does.
    let mut cfg = config(&dir);
    cfg.auth_token = Some("s3cret".into());
    let running = tagger_serve::start(cfg).await.unwrap();
    let web = running.metrics_addr.unwrap();
    problem(401, http(web, "GET", "/v1/projects", &[], b"").await);
    let (status, _, _) = http(web, "GET", "/v1/projects", &[("Authorization", "Bearer s3cret")], b"").await;
    assert_eq!(status, 200);
    assert!(http_get(web, "/metrics").await.starts_with("HTTP/1.1 200"), "metrics stay open to scrapers");
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_json_api_and_page_answer_as_grpc() {
    let (dir, all, _model) = vocabulary_repo("json");
    let mut cfg = config(&dir);
    cfg.max_doc_bytes = 20_000;
    cfg.max_request_docs = 4;
    let running = tagger_serve::start(cfg).await.unwrap();
    let web = running.metrics_addr.unwrap();
    let mut c = client(running.addr).await;
    let json = |s: &str| -> serde_json::Value { serde_json::from_str(s).unwrap() };
    let post = |path: &'static str, body: serde_json::Value| async move {
        let (status, ctype, body) = http(web, "POST", path, &[JSON], body.to_string().as_bytes()).await;
        assert_eq!(ctype, "application/json", "{body}");
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap())
    };

    // Tag: the same answer as gRPC's Tag for the same request, with the proto's field names.
    let text = all[210].text.clone();
    for (top_k, explain, language) in [(0, false, ""), (3, true, "en"), (2, false, "fi")] {
        let grpc = c
            .tag(pb::TagRequest { top_k, explain, language: language.into(), ..req("d1", &text) })
            .await
            .unwrap()
            .into_inner();
        let body =
            serde_json::json!({"id": "d1", "text": text, "top_k": top_k, "explain": explain, "language": language});
        let (status, r) = post("/v1/tag", body).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!((r["id"].as_str(), r["model"].as_str()), (Some("d1"), Some("yso")));
        assert_eq!(r["model_version"], grpc.model_version);
        let tags = r["tags"].as_array().unwrap();
        assert_eq!(tags.len(), grpc.tags.len());
        assert!(!tags.is_empty());
        for (j, g) in tags.iter().zip(&grpc.tags) {
            assert_eq!(j["label"], g.label);
            assert_eq!(j["uri"], g.uri);
            assert_eq!(j["notation"], g.notation);
            assert_eq!(j["score"].as_f64().unwrap() as f32, g.score);
            assert_eq!(j["evidence"].as_array().unwrap().len(), g.evidence.len());
            for (je, ge) in j["evidence"].as_array().unwrap().iter().zip(&g.evidence) {
                assert_eq!(je["term"], ge.term);
                let spans: Vec<(u64, u64)> = je["spans"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| (s["start"].as_u64().unwrap(), s["end"].as_u64().unwrap()))
                    .collect();
                let want: Vec<(u64, u64)> = ge.spans.iter().map(|s| (s.start.into(), s.end.into())).collect();
                assert_eq!(spans, want);
            }
        }
    }
    // protobuf's JSON names are accepted too; a batch answers each document as Tag does, in order.
    let (_, one) = post("/v1/tag", serde_json::json!({"text": text, "topK": 2, "minScore": 0.0})).await;
    let docs =
        serde_json::json!({"documents": [{"id": "a", "text": text, "top_k": 2}, {"id": "b", "text": "", "top_k": 2}]});
    let (status, batch) = post("/v1/tag-batch", docs).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["results"][0]["tags"], one["tags"]);
    assert_eq!(batch["results"][1]["id"], "b");
    assert_eq!(batch["results"][1]["tags"], serde_json::json!([]));

    // Models, as ListModels and GetModel give them.
    let (status, _, body) = http(web, "GET", "/v1/models", &[], b"").await;
    assert_eq!(status, 200);
    let models = json(&body);
    assert_eq!(models["default_model"], "yso");
    assert_eq!(models["models"][0]["name"], "yso");
    assert_eq!(models["models"][0]["labels"], serde_json::json!([]));
    assert_eq!(models["models"][0]["vocabulary_languages"], serde_json::json!(["fi", "en"]));
    let info = c.get_model(pb::GetModelRequest { name: "yso".into() }).await.unwrap().into_inner();
    let (_, _, body) = http(web, "GET", "/v1/models/yso", &[], b"").await;
    let m = json(&body);
    assert_eq!(m["labels"], serde_json::json!(info.labels));
    assert_eq!(m["label_count"], info.label_count);
    assert_eq!(m["training_metadata_json"], info.training_metadata_json);

    // Errors: the gRPC status the call would have had, under its HTTP status.
    let error = |expect: u16, grpc: &str, (status, body): (u16, serde_json::Value)| {
        assert_eq!(status, expect, "{body}");
        assert_eq!(body["error"]["code"], expect);
        assert_eq!(body["error"]["status"], grpc);
        body["error"]["message"].as_str().unwrap().to_owned()
    };
    let m = error(404, "NOT_FOUND", post("/v1/tag", serde_json::json!({"text": "x", "model": "nope"})).await);
    assert!(m.contains("nope"), "{m}");
    let m = error(400, "INVALID_ARGUMENT", post("/v1/tag", serde_json::json!({"text": "x", "min_score": 2})).await);
    assert!(m.contains("min_score"), "{m}");
    let m = error(400, "INVALID_ARGUMENT", post("/v1/tag", serde_json::json!({"text": "x", "top": 2})).await);
    assert!(m.contains("unknown field `top`"), "{m}");
    error(400, "INVALID_ARGUMENT", post("/v1/tag", serde_json::json!({"id": "no text"})).await);
    let big = "sana ".repeat(5_000);
    let m = error(400, "INVALID_ARGUMENT", post("/v1/tag", serde_json::json!({"text": big})).await);
    assert!(m.contains("--max-doc-bytes"), "{m}");
    let five = serde_json::json!({"documents": vec![serde_json::json!({"text": "x"}); 5]});
    let m = error(400, "INVALID_ARGUMENT", post("/v1/tag-batch", five).await);
    assert!(m.contains("--max-batch-docs"), "{m}");
    let (status, _, body) = http(web, "GET", "/v1/models/nope", &[], b"").await;
    error(404, "NOT_FOUND", (status, json(&body)));
    let (status, _, body) = http(web, "POST", "/v1/tag", &[("Content-Type", "text/plain")], b"x").await;
    error(415, "INVALID_ARGUMENT", (status, json(&body)));

    // The page: one self-contained HTML file that calls this API.
    let (status, ctype, page) = http(web, "GET", "/", &[], b"").await;
    assert_eq!((status, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains("/v1/tag") && page.contains("/v1/models"));
    assert!(!page.contains("http://") && !page.contains("https://"), "no external assets");

    // The calls are counted with the gRPC ones.
    let metrics = http_get(web, "/metrics").await;
    assert!(metrics.contains("tagger_requests_total{method=\"HttpTag\",code=\"OK\"}"), "{metrics}");
    assert!(metrics.contains("tagger_requests_total{method=\"HttpTagBatch\",code=\"OK\"} 1"), "{metrics}");
    running.shutdown().await.unwrap();

    // With an auth token, the API asks for it; the page stays open (it holds no data).
    let mut cfg = config(&dir);
    cfg.auth_token = Some("s3cret".into());
    let running = tagger_serve::start(cfg).await.unwrap();
    let web = running.metrics_addr.unwrap();
    assert_eq!(http(web, "POST", "/v1/tag", &[JSON], b"{\"text\": \"x\"}").await.0, 401);
    let auth = ("Authorization", "Bearer s3cret");
    assert_eq!(http(web, "POST", "/v1/tag", &[JSON, auth], b"{\"text\": \"x\"}").await.0, 200);
    assert_eq!(http(web, "GET", "/", &[], b"").await.0, 200);
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The JSON API takes a deadline as gateways pass it on (`grpc-timeout`): a document still waiting when it
/// passes is answered 504 DEADLINE_EXCEEDED, a generous one is answered, a malformed one is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_api_calls_keep_their_grpc_timeout() {
    let (dir, all) = repo("json-deadline");
    let mut cfg = config(&dir);
    // Batches wait out the full delay, so a queued document outlives a short deadline.
    cfg.batch_max_delay = Duration::from_millis(300);
    cfg.batch_cut_when_idle = false;
    let running = tagger_serve::start(cfg).await.unwrap();
    let web = running.metrics_addr.unwrap();
    let one = serde_json::json!({"text": all[0].text}).to_string();
    let two = serde_json::json!({"documents": [{"text": all[0].text}, {"text": all[1].text}]}).to_string();
    let call = |path: &'static str, timeout: &'static str, body: String| async move {
        let (status, _, body) = http(web, "POST", path, &[JSON, ("grpc-timeout", timeout)], body.as_bytes()).await;
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap())
    };
    for (path, body) in [("/v1/tag", &one), ("/v1/tag-batch", &two)] {
        let (status, r) = call(path, "50m", body.clone()).await;
        assert_eq!((status, r["error"]["status"].as_str()), (504, Some("DEADLINE_EXCEEDED")), "{path}: {r}");
        let (status, r) = call(path, "10S", body.clone()).await;
        assert_eq!(status, 200, "{path}: {r}");
        for bad in ["soon", "5", "m", "123456789m", "5s"] {
            let (status, r) = call(path, bad, body.clone()).await;
            assert_eq!((status, r["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")), "{path} {bad}: {r}");
            assert!(r["error"]["message"].as_str().unwrap().contains("grpc-timeout"), "{r}");
        }
    }
    running.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A call still unanswered when its `grpc-timeout` runs out (say, its large body still arriving) gets
/// DEADLINE_EXCEEDED from the server's layer, before tonic's own timer would answer CANCELLED; an answer that
/// comes in time passes through untouched.
#[tokio::test]
async fn a_call_unanswered_at_its_grpc_timeout_gets_deadline_exceeded() {
    use tower::{Layer, ServiceExt};
    type Answer = Result<http::Response<String>, std::convert::Infallible>;
    let with_timeout = || http::Request::builder().header("grpc-timeout", "50m").body(()).unwrap();
    let never = tower::service_fn(|_: http::Request<()>| std::future::pending::<Answer>());
    let started = std::time::Instant::now();
    let resp = tagger_serve::service::DeadlineLayer.layer(never).oneshot(with_timeout()).await.unwrap();
    assert_eq!(resp.headers()["grpc-status"], "4", "{resp:?}");
    // Not before the deadline less half its margin (2.5 ms of 50).
    assert!(started.elapsed() >= Duration::from_millis(47), "{:?}", started.elapsed());
    let quick = tower::service_fn(|_: http::Request<()>| async { Answer::Ok(http::Response::new("ok".into())) });
    let resp = tagger_serve::service::DeadlineLayer.layer(quick).oneshot(with_timeout()).await.unwrap();
    assert!(resp.headers().get("grpc-status").is_none());
    assert_eq!(resp.body(), "ok");
}
