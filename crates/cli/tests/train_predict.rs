//! `tagger train`, `eval` and `predict` end to end on a generated corpus.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tagger_corpus::synth::{Synth, SynthConfig};
use tagger_corpus::write_document;

fn tagger(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tagger")).args(args).output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `docs` documents of the tests' one label world: 8 labels ("SUBJECT 0000" …), seed 1.
fn synth(docs: usize) -> Synth {
    Synth::new(SynthConfig {
        docs,
        labels: 8,
        labels_per_doc: 2.0,
        tokens_per_doc: 60,
        vocabulary: 2000,
        han: false,
        seed: 1,
        ..SynthConfig::default()
    })
}

/// One generated corpus (one seed = one vocabulary and label world), split into train and test directories;
/// test ids restart at 0.
fn write_corpus(train: &Path, test: &Path, n_train: usize, n_test: usize) {
    std::fs::create_dir_all(train).unwrap();
    std::fs::create_dir_all(test).unwrap();
    for (i, mut d) in synth(n_train + n_test).enumerate() {
        let dir = if i < n_train { train } else { test };
        if i >= n_train {
            d.id = format!("{:07}.txt", i - n_train);
        }
        write_document(&d, std::fs::File::create(dir.join(&d.id)).unwrap()).unwrap();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_eval_predict_round_trip() {
    let root: PathBuf = std::env::temp_dir().join(format!("tagger-cli-tep-{}", std::process::id()));
    let (train, test, model) = (root.join("train"), root.join("test"), root.join("m.tgm"));
    write_corpus(&train, &test, 300, 60);

    let out = tagger(&["train", "--corpus", s(&train), "--out", s(&model), "--quiet", "--threads", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("on 300 docs: 8 labels"), "{stderr}");

    let eval: serde_json::Value =
        serde_json::from_str(&ok(tagger(&["eval", "--model", s(&model), "--corpus", s(&test), "--json"]))).unwrap();
    for key in [
        "docs",
        "labels",
        "micro_f1",
        "macro_f1",
        "micro_precision",
        "micro_recall",
        "p_at_1",
        "p_at_3",
        "p_at_5",
        "ndcg_at_5",
    ] {
        assert!(eval.get(key).is_some(), "eval --json lacks {key}: {eval}");
    }
    for key in ["f1_at_5", "p_at_1", "p_at_3", "p_at_5", "r_at_5", "ndcg_at_5", "ndcg_at_10"] {
        let v = eval["annif"][key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "eval --json lacks annif.{key}: {eval}");
    }
    // Every test document has gold labels and five ranked tags: both definitions of P@5 agree.
    assert!((eval["annif"]["p_at_5"].as_f64().unwrap() - eval["p_at_5"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(eval["docs"], 60);
    assert!(eval["micro_f1"].as_f64().unwrap() > 0.6, "{eval}");
    let table = ok(tagger(&["eval", "--model", s(&model), "--corpus", s(&test)]));
    assert!(table.contains("micro") && table.contains("worst labels"), "{table}");

    // The report: one self-contained page with every chart inlined, each chart also as its own SVG file, and the
    // figures of the evaluation it was made from.
    let report = root.join("report");
    let args = ["eval", "--model", s(&model), "--corpus", s(&test), "--train", s(&train), "--report", s(&report)];
    let out = tagger(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    for chart in ["f1-by-frequency.svg", "threshold.svg", "reliability.svg", "ranking.svg"] {
        let svg = std::fs::read_to_string(report.join(chart)).unwrap();
        assert!(svg.starts_with("<svg") && html.contains(svg.trim_end()), "{chart}");
    }
    assert!(html.contains(&format!("{:.4}", eval["micro_f1"].as_f64().unwrap())), "the page shows the micro-F1");
    assert!(html.contains("Worst labels") && html.contains("Most confused pairs"));
    assert!(!html.contains("src=") && !html.contains("href="), "nothing is fetched from elsewhere");
    // Without the training corpus the frequency chart is left out; --train alone is refused.
    std::fs::remove_dir_all(&report).unwrap();
    ok(tagger(&["eval", "--model", s(&model), "--corpus", s(&test), "--report", s(&report)]));
    assert!(!report.join("f1-by-frequency.svg").exists() && report.join("threshold.svg").exists());
    assert!(!tagger(&["eval", "--model", s(&model), "--corpus", s(&test), "--train", s(&train)]).status.success());

    // Directory input: ids relative to the directory; scores sorted; one line per document.
    let lines: Vec<serde_json::Value> = ok(tagger(&["predict", "--model", s(&model), s(&test)]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 60);
    assert_eq!(lines[0]["id"], "0000000.txt");
    for l in &lines {
        let scores: Vec<f64> = l["tags"].as_array().unwrap().iter().map(|t| t["score"].as_f64().unwrap()).collect();
        assert!(!scores.is_empty() && scores.windows(2).all(|w| w[0] >= w[1]), "{l}");
    }
    // A single file's id is its name; --top-k returns exactly k; --explain gives spans into the text.
    let one = test.join("0000003.txt");
    let line: serde_json::Value = serde_json::from_str(
        ok(tagger(&["predict", "--model", s(&model), "--top-k", "3", "--explain", s(&one)])).trim(),
    )
    .unwrap();
    assert_eq!(line["id"], "0000003.txt");
    assert_eq!(line["tags"].as_array().unwrap().len(), 3);
    let text = tagger_corpus::read_document(&one).unwrap().text;
    let ex = line["explanation"].as_array().unwrap();
    assert_eq!(ex.len(), 3);
    let term = &ex[0]["terms"][0];
    let span = &term["spans"][0];
    let (a, b) = (span[0].as_u64().unwrap() as usize, span[1].as_u64().unwrap() as usize);
    assert_eq!(text[a..b].to_lowercase(), term["term"].as_str().unwrap());

    // Standard input: JSONL records, and one %%% document.
    let stdin = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tagger"))
            .args(["predict", "--model", s(&model), "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        ok(child.wait_with_output().unwrap())
    };
    let jsonl = format!(
        "{}\n\n{}\n",
        serde_json::json!({"id": "a", "text": text}),
        serde_json::json!({"id": "b", "text": "x"})
    );
    let ids: Vec<String> = stdin(&jsonl)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    assert_eq!(ids, ["\"a\"", "\"b\""]);
    // A byte-order mark before the first record is still JSONL.
    assert_eq!(stdin(&format!("\u{feff}{jsonl}")).lines().count(), 2);
    assert!(stdin(&text).contains("\"id\":\"-\""));

    // A reader that goes away (`tagger eval … | head`, `tagger predict … | head`): a quiet, successful end.
    for args in
        [vec!["eval", "--model", s(&model), "--corpus", s(&test)], vec!["predict", "--model", s(&model), s(&test)]]
    {
        let child = Command::new(env!("CARGO_BIN_EXE_tagger"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = child;
        drop(child.stdout.take()); // closed before the command writes anything
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !err.contains("panicked") && err.is_empty(), "{args:?}: {err}");
    }

    // Errors: unlabelled training document; damaged model.
    std::fs::write(train.join("zz-unlabelled.txt"), "no header here").unwrap();
    let out = tagger(&["train", "--corpus", s(&train), "--out", s(&root.join("x.tgm")), "-q"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"zz-unlabelled.txt\" has no labels"));
    let mut bytes = std::fs::read(&model).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(root.join("half.tgm"), bytes).unwrap();
    let out = tagger(&["predict", "--model", s(&root.join("half.tgm")), s(&one)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn cv_reports_held_out_figures_for_a_configuration() {
    let root: PathBuf = std::env::temp_dir().join(format!("tagger-cli-cv-{}", std::process::id()));
    let (train, test) = (root.join("train"), root.join("test"));
    write_corpus(&train, &test, 200, 1);
    let config = root.join("c.json");
    std::fs::write(&config, r#"{"classifier": {"c": 0.5}}"#).unwrap();
    let args = ["cv", "--corpus", s(&train), "--folds", "3", "--config", s(&config), "-q", "--json"];
    let v: serde_json::Value = serde_json::from_str(&ok(tagger(&args))).unwrap();
    assert_eq!((v["folds"].as_u64(), v["docs"].as_u64()), (Some(3), Some(200)), "{v}");
    assert_eq!(v["fold_micro_f1"].as_array().map(Vec::len), Some(3), "{v}");
    let micro = v["micro_f1"].as_f64().unwrap();
    assert!(micro > 0.5 && micro < 1.0, "{v}");
    let f1_at_5 = v["annif"]["f1_at_5"].as_f64().unwrap_or(-1.0);
    assert!(f1_at_5 > 0.0 && f1_at_5 <= 1.0, "cv --json gives Annif's figures too: {v}");
    let table = ok(tagger(&["cv", "--corpus", s(&train), "--folds", "2", "-q"]));
    assert!(table.contains("2-fold cross-validation on 200 documents") && table.contains("per fold"), "{table}");
    assert!(table.contains("as Annif   F1@5"), "{table}");

    std::fs::write(&config, r#"{"classifier": {"cee": 0.5}}"#).unwrap();
    let out = tagger(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("parsing training config") && err.contains("cee"), "{err}");
    let out = tagger(&["cv", "--corpus", s(&train), "--folds", "1", "-q"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 to 200 folds"));
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = tagger(&["cv", "--corpus", s(&empty), "-q"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("holds no documents"));
    std::fs::remove_dir_all(&root).unwrap();
}

/// A SKOS vocabulary for the 8 generated subjects ("SUBJECT 0000" …): concept `c/K` with notation `K`, Finnish
/// and English preferred labels, a Finnish alternative label; plus a deprecated concept replaced by `c/1`.
fn write_vocabulary(path: &Path) {
    let mut ttl = String::from(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n\
         @prefix dct: <http://purl.org/dc/terms/> .\n@prefix ex: <http://example.org/c/> .\n",
    );
    for k in 0..8 {
        ttl.push_str(&format!(
            "ex:{k} a skos:Concept ; skos:notation \"{k}\" ; skos:prefLabel \"aihe {k}\"@fi, \"topic {k}\"@en ; \
             skos:altLabel \"SUBJECT {k:04}\"@fi .\n"
        ));
    }
    ttl.push_str(
        "ex:old a skos:Concept ; skos:prefLabel \"vanha\"@fi ; owl:deprecated true ; dct:isReplacedBy ex:1 .\n",
    );
    std::fs::write(path, ttl).unwrap();
}

/// The generated corpus in Annif's formats: training documents as a document directory (subjects as `<URI>` in
/// `.tsv` files, as labels in `.key` files, one deprecated URI and one unknown subject), test documents as a
/// short-text TSV file.
fn write_annif_corpus(train: &Path, test_tsv: &Path) {
    std::fs::create_dir_all(train).unwrap();
    let uri = |label: &str| {
        format!("<http://example.org/c/{}>", label.trim_start_matches("SUBJECT ").parse::<u32>().unwrap())
    };
    let mut test = String::new();
    for (i, d) in synth(360).enumerate() {
        let labels = d.labels.clone().unwrap();
        if i < 300 {
            let name = format!("doc{i:03}");
            std::fs::write(train.join(format!("{name}.txt")), &d.text).unwrap();
            if i % 3 == 0 {
                // Subjects by label, as Annif's .key files give them.
                std::fs::write(train.join(format!("{name}.key")), labels.join("\n")).unwrap();
            } else {
                let mut lines: Vec<String> = labels.iter().map(|l| format!("{}\t{l}", uri(l))).collect();
                if i == 1 {
                    lines.push("<http://example.org/c/old>\tvanha".into());
                    lines.push("<http://example.org/c/unknown>\tei ole".into());
                }
                std::fs::write(train.join(format!("{name}.tsv")), lines.join("\n")).unwrap();
            }
        } else {
            let uris: Vec<String> = labels.iter().map(|l| uri(l)).collect();
            test.push_str(&format!("{}\t{}\n", d.text.replace(['\n', '\t'], " "), uris.join(" ")));
        }
    }
    std::fs::write(test_tsv, test).unwrap();
}

#[test]
fn issue_10_annif_corpora_and_a_vocabulary_give_answers_that_name_concepts() {
    let root: PathBuf = std::env::temp_dir().join(format!("tagger-cli-vocab-{}", std::process::id()));
    let (train, test, vocab, model) =
        (root.join("train"), root.join("test.tsv"), root.join("vocab.ttl"), root.join("m.tgm"));
    write_annif_corpus(&train, &test);
    write_vocabulary(&vocab);

    let summary: serde_json::Value = serde_json::from_str(&ok(tagger(&["vocab", s(&vocab), "--json"]))).unwrap();
    assert_eq!(summary["concepts"], 9);
    assert_eq!(summary["deprecated"], 1);
    assert_eq!(summary["main_language"], "fi");

    // --strict-subjects refuses a corpus with a subject outside the vocabulary, and says which.
    let out =
        tagger(&["train", "--corpus", s(&train), "--vocab", s(&vocab), "--strict-subjects", "--out", s(&model), "-q"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("<http://example.org/c/unknown>") && stderr.contains("--strict-subjects"), "{stderr}");
    assert!(!model.exists());

    let out =
        tagger(&["train", "--corpus", s(&train), "--vocab", s(&vocab), "--out", s(&model), "-q", "--threads", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 deprecated ones mapped to their replacement"), "{stderr}");
    assert!(stderr.contains("1 name no concept and were dropped"), "{stderr}");
    assert!(stderr.contains("in \"fi\" unless a request asks"), "{stderr}");

    // Answers carry the concept: URI, notation, and the label in the language asked for (default: Finnish).
    let first = root.join("first.txt");
    std::fs::write(&first, std::fs::read_to_string(train.join("doc000.txt")).unwrap()).unwrap();
    for (language, prefix) in [(None, "aihe "), (Some("en"), "topic "), (Some("sv"), "aihe ")] {
        let mut args = vec!["predict", "--model", s(&model), "--top-k", "3", s(&first)];
        if let Some(l) = language {
            args.extend(["--language", l]);
        }
        let line: serde_json::Value = serde_json::from_str(ok(tagger(&args)).trim()).unwrap();
        let tags = line["tags"].as_array().unwrap();
        assert_eq!(tags.len(), 3);
        for t in tags {
            let notation = t["notation"].as_str().unwrap();
            assert_eq!(t["uri"].as_str().unwrap(), format!("http://example.org/c/{notation}"));
            assert_eq!(t["label"].as_str().unwrap(), format!("{prefix}{notation}"), "{language:?}: {t}");
        }
    }

    // Gold subjects of the short-text TSV (URIs) resolve through the model's vocabulary.
    let eval: serde_json::Value =
        serde_json::from_str(&ok(tagger(&["eval", "--model", s(&model), "--corpus", s(&test), "--json"]))).unwrap();
    assert_eq!(eval["docs"], 60);
    assert!(eval["micro_f1"].as_f64().unwrap() > 0.6, "{eval}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn publish_installs_a_candidate_as_good_as_the_served_one_and_refuses_a_worse_one() {
    let root: PathBuf = std::env::temp_dir().join(format!("tagger-cli-publish-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (train, test) = (root.join("train"), root.join("heldout"));
    write_corpus(&train, &test, 300, 80);
    let (good, worse, repo) = (root.join("good.tgm"), root.join("worse.tgm"), root.join("models"));
    ok(tagger(&["train", "--corpus", s(&train), "--out", s(&good), "--quiet", "--threads", "2"]));
    // The worse candidate: trained on a tenth of the data.
    let tenth = root.join("tenth");
    std::fs::create_dir_all(&tenth).unwrap();
    for e in std::fs::read_dir(&train)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().trim_end_matches(".txt").parse::<u32>().unwrap() % 10 == 0)
    {
        std::fs::copy(&e, tenth.join(e.file_name().unwrap())).unwrap();
    }
    ok(tagger(&["train", "--corpus", s(&tenth), "--out", s(&worse), "--quiet", "--threads", "2"]));
    let publish = |candidate: &Path, extra: &[&str]| {
        let mut args = vec!["publish", "--candidate", s(candidate), "--models", s(&repo), "--name", "fixture"];
        args.extend(["--corpus", s(&test)]);
        args.extend(extra);
        tagger(&args)
    };
    let versions = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(repo.join("fixture"))
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };

    // An empty repository takes the first version; the same model again is not worse, so it becomes version 2.
    let out = ok(publish(&good, &[]));
    assert!(out.contains("published") && versions() == ["1"], "{out}");
    let out: serde_json::Value = serde_json::from_str(&ok(publish(&good, &["--json"]))).unwrap();
    assert_eq!((out["serving_version"].as_u64(), out["candidate_version"].as_u64()), (Some(1), Some(2)));
    assert_eq!(out["published"], true);
    assert_eq!(out["metrics"][0]["serving"], out["metrics"][0]["candidate"]);
    assert_eq!(versions(), ["1", "2"]);
    assert_eq!(std::fs::read(repo.join("fixture/2/model.tgm")).unwrap(), std::fs::read(&good).unwrap());

    // The worse candidate is refused with exit code 3, and nothing is installed (no version, no staging left).
    let out = publish(&worse, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("refused") && stdout.contains("micro_f1"), "{stdout}");
    assert_eq!(versions(), ["1", "2"]);
    // A tolerance as large as the drop lets it through in a dry run, which installs nothing either.
    let out = ok(publish(&worse, &["--tolerance", "1", "--dry-run"]));
    assert!(out.contains("would publish as") && versions() == ["1", "2"], "{out}");
    // Bad requests are errors (exit 1), not refusals: they say what is wrong.
    for extra in [&["--metric", "accuracy"][..], &["--tolerance=-1"][..]] {
        assert_eq!(publish(&good, extra).status.code(), Some(1));
    }
    let out = tagger(&[
        "publish",
        "--candidate",
        s(&test.join("0000000.txt")),
        "--models",
        s(&repo),
        "--name",
        "fixture",
        "--corpus",
        s(&test),
    ]);
    assert_eq!(out.status.code(), Some(1), "a file that is not a model is refused as an error");
    assert_eq!(versions(), ["1", "2"]);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn issue_12_train_shards_and_merge_write_the_file_train_writes() {
    let root: PathBuf = std::env::temp_dir().join(format!("tagger-cli-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let tagger_at = |args: &[&str]| -> Output {
        // One creation time for every step: the model file then depends on corpus, configuration and seed only.
        Command::new(env!("CARGO_BIN_EXE_tagger")).args(args).env("SOURCE_DATE_EPOCH", "1764547200").output().unwrap()
    };
    let read = |p: &Path| std::fs::read(p).unwrap();
    // 40 labels: three blocks of labels, so the shards get different ones.
    let corpus = root.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let docs = Synth::new(SynthConfig {
        docs: 400,
        labels: 40,
        labels_per_doc: 2.0,
        tokens_per_doc: 60,
        vocabulary: 2000,
        han: false,
        seed: 4,
        ..SynthConfig::default()
    });
    for d in docs {
        write_document(&d, std::fs::File::create(corpus.join(&d.id)).unwrap()).unwrap();
    }
    let whole = root.join("whole.tgm");
    ok(tagger_at(&["train", "--corpus", s(&corpus), "--out", s(&whole), "-q"]));
    for count in [1, 3] {
        let dir = root.join(format!("shards-{count}"));
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..count {
            let out = dir.join(format!("shard-{k}.tgs"));
            let spec = format!("{k}/{count}");
            let run = tagger_at(&["train", "--corpus", s(&corpus), "--shard", &spec, "--out", s(&out), "-q"]);
            let stderr = String::from_utf8_lossy(&run.stderr).to_string();
            assert!(run.status.success() && stderr.contains(&format!("shard {k} of {count} written")), "{stderr}");
        }
        let merged = root.join(format!("merged-{count}.tgm"));
        ok(tagger_at(&["merge", "--out", s(&merged), s(&dir), "-q"]));
        assert!(read(&merged) == read(&whole), "{count} shards merged differ from one training");
    }
    let shard = |k: usize| root.join(format!("shards-3/shard-{k}.tgs"));

    // What a merge refuses, with exit code 1 and a message that says why.
    let fails = |args: &[&str], expect: &str| {
        let out = tagger_at(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: expected {expect:?} in {stderr}");
    };
    let bad = root.join("bad.tgm");
    fails(&["merge", "--out", s(&bad), s(&shard(0)), s(&shard(2))], "shards 1 of 3 missing");
    fails(&["merge", "--out", s(&bad), s(&shard(0)), s(&shard(1)), s(&shard(1)), s(&shard(2))], "given twice");
    fails(&["merge", "--out", s(&bad), s(&whole)], "not a tagger shard file");
    fails(&["merge", "--out", s(&bad), s(&root)], "no shard files");
    // The corpus changed between the shards and the merge.
    std::fs::copy(corpus.join("0000007.txt"), corpus.join("extra.txt")).unwrap();
    fails(&["merge", "--out", s(&bad), s(&shard(0)), s(&shard(1)), s(&shard(2))], "fitted on other documents");
    assert!(!bad.exists(), "nothing written by a refused merge");
    let usage = tagger_at(&["train", "--corpus", s(&corpus), "--shard", "3/3", "--out", s(&bad)]);
    assert_eq!(usage.status.code(), Some(2), "a shard index beyond the count is a usage error");
    fails(&["train", "--corpus", "-", "--shard", "0/2", "--out", s(&bad)], "--shard needs a corpus path");

    // With a vocabulary (lexical backend and ensemble fitted by the merge): the recorded vocabulary is read again.
    let (train, test, vocab) = (root.join("annif"), root.join("test.tsv"), root.join("vocab.ttl"));
    write_annif_corpus(&train, &test);
    write_vocabulary(&vocab);
    let with_vocab = ["--corpus", s(&train), "--vocab", s(&vocab), "-q"];
    let whole = root.join("vocab-whole.tgm");
    ok(tagger_at(&[&["train", "--out", s(&whole)][..], &with_vocab].concat()));
    for k in 0..2 {
        let spec = format!("{k}/2");
        let out = root.join(format!("vocab-{k}.tgs"));
        ok(tagger_at(&[&["train", "--shard", &spec, "--out", s(&out)][..], &with_vocab].concat()));
    }
    let merged = root.join("vocab-merged.tgm");
    ok(tagger_at(&["merge", "--out", s(&merged), s(&root.join("vocab-0.tgs")), s(&root.join("vocab-1.tgs")), "-q"]));
    assert!(read(&merged) == read(&whole), "merged model with a vocabulary differs");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn issue_12_learn_updates_a_model_from_new_documents() {
    let root: PathBuf = std::env::temp_dir().join(format!("tagger-cli-learn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (train, new) = (root.join("train"), root.join("new"));
    write_corpus(&train, &new, 200, 100);
    let (model, learned) = (root.join("m.tgm"), root.join("learned.tgm"));
    ok(tagger(&["train", "--corpus", s(&train), "--out", s(&model), "-q"]));
    let out = tagger(&[
        "learn",
        "--model",
        s(&model),
        "--corpus",
        s(&new),
        "--replay-corpus",
        s(&train),
        "--replay",
        "50",
        "--out",
        s(&learned),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("learnt 100 new documents (+ 50 replayed)"), "{stderr}");
    let predicted = ok(tagger(&["predict", "--model", s(&learned), "--top-k", "2", s(&new.join("0000000.txt"))]));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(predicted.trim()).unwrap()["tags"].as_array().unwrap().len(),
        2
    );
    // Replaying needs the old documents; an unlabelled corpus cannot teach anything.
    let out = tagger(&["learn", "--model", s(&model), "--corpus", s(&new), "--replay", "5", "--out", s(&learned)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replay needs --replay-corpus"));
    std::fs::write(root.join("plain.txt"), "no header, no labels").unwrap();
    let out = tagger(&["learn", "--model", s(&model), "--corpus", s(&root.join("plain.txt")), "--out", s(&learned)]);
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&root).unwrap();
}

/// A file that cannot be opened is named with the system's reason, and the reason is said once (an io error
/// that is both in an error's message and its source was printed twice by the chain of causes).
#[test]
fn a_missing_file_is_named_with_its_reason_once() {
    let root = std::env::temp_dir().join(format!("tagger-missing-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let doc = root.join("doc.txt");
    std::fs::write(&doc, "%%%A|\n\nsome text\n").unwrap();
    let missing_model = root.join("no-such-model.tgm");
    let missing_vocab = root.join("no-such-vocab.tsv");
    let runs = [
        (tagger(&["predict", "--model", missing_model.to_str().unwrap(), doc.to_str().unwrap()]), "no-such-model.tgm"),
        (tagger(&["vocab", missing_vocab.to_str().unwrap()]), "no-such-vocab.tsv"),
    ];
    for (out, name) in runs {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains(name), "{err}");
        assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}
