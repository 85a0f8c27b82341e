//! `kp verify` over published transparency-dev probes (copies kept in
//! `schemas/tests/vectors/merkle/`): the exit code is the verdict a script
//! relies on, so each of 0, 1 and 2 is checked on a real file.

use std::path::PathBuf;
use std::process::{Command, Output};

fn probe(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/tests/vectors/merkle/transparency-dev/testdata")
        .join(rel)
}

fn kp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kp")).args(args).output().expect("run kp")
}

fn verify(kind: &str, path: &std::path::Path, json: bool) -> Output {
    let path = path.to_str().unwrap();
    if json { kp(&["verify", kind, path, "--json"]) } else { kp(&["verify", kind, path]) }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn valid_proofs_exit_0() {
    for (kind, rel) in [("inclusion", "inclusion/1/happy-path.json"), ("consistency", "consistency/1/happy-path.json")]
    {
        let out = verify(kind, &probe(rel), false);
        assert_eq!(out.status.code(), Some(0), "{rel}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).starts_with(&format!("valid {kind} proof: ")), "{}", stdout(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
    }
}

#[test]
fn invalid_proofs_exit_1() {
    for (kind, rel, code) in [
        ("inclusion", "inclusion/1/modified-proof[0]-bit-@3.json", "merkle.bad_proof"),
        ("inclusion", "inclusion/1/removed-component.json", "merkle.wrong_proof_length"),
        ("inclusion", "inclusion/single-entry/empty-leaf.json", "merkle.malformed"),
        ("consistency", "consistency/1/modified-proof@0-bit-@4.json", "merkle.bad_proof"),
        ("consistency", "consistency/1/wrong-root2.json", "merkle.malformed"),
        (
            "consistency",
            "consistency/additional/consistency-check-on-empty-tree-size1-is-zero-is-useless.json",
            "merkle.bad_sizes",
        ),
    ] {
        let out = verify(kind, &probe(rel), false);
        assert_eq!(out.status.code(), Some(1), "{rel}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).starts_with(&format!("invalid {kind} proof: {code}: ")), "{rel}: {}", stdout(&out));
    }
}

#[test]
fn json_verdicts() {
    let out = verify("inclusion", &probe("inclusion/1/happy-path.json"), true);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["kind"].as_str(), v["valid"].as_bool(), v["code"].is_null()), (Some("inclusion"), Some(true), true));

    let out = verify("consistency", &probe("consistency/1/swapped-roots.json"), true);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["valid"].as_bool(), v["code"].as_str()), (Some(false), Some("merkle.bad_proof")));
}

#[test]
fn unreadable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "{ leafIdx: 0").unwrap();
    let bad_base64 = dir.path().join("bad-base64.json");
    std::fs::write(&bad_base64, r#"{"leafIdx": 0, "treeSize": 1, "root": "not*base64", "leafHash": "", "proof": []}"#)
        .unwrap();
    for (kind, path) in [
        ("inclusion", dir.path().join("missing.json")),
        ("inclusion", not_json),
        ("inclusion", bad_base64),
        // A consistency probe read as an inclusion proof lacks its fields.
        ("inclusion", probe("consistency/1/happy-path.json")),
    ] {
        let out = verify(kind, &path, false);
        assert_eq!(out.status.code(), Some(2), "{}: {}{}", path.display(), stdout(&out), stderr(&out));
        assert!(stderr(&out).starts_with("error: client.bad_input: "), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}
