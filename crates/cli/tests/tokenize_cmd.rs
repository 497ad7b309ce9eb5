//! `tagger tokenize` end to end: JSON lines out, clear errors for bad files.

use std::process::Command;

fn tagger(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tagger")).args(args).output().unwrap()
}

#[test]
fn tokenize_prints_one_json_line_per_document() {
    let dir = std::env::temp_dir().join(format!("tagger-cli-tok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "%%%PEACE|ARMS CONTROL|\n\n安全 理事会 ， 2003年").unwrap();
    std::fs::write(dir.join("b.txt"), "Oil prices rose 5 pct.").unwrap();
    let out = tagger(&["tokenize", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines,
        [
            serde_json::json!({"id": "a.txt", "labels": ["PEACE", "ARMS CONTROL"], "tokens": ["安全", "理事会", "2003年"]}),
            serde_json::json!({"id": "b.txt", "labels": null, "tokens": ["oil", "prices", "rose", "<num>", "pct"]}),
        ]
    );

    std::fs::write(dir.join("c.txt"), b"%%%A||\n\nx").unwrap();
    let out = tagger(&["tokenize", dir.join("c.txt").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c.txt:1: label 2 of the %%% header is empty"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
