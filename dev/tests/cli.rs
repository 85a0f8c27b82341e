//! The `kp-dev` binary as a developer runs it. Its integration tests are
//! also what makes `cargo test --workspace` build it for the end-to-end
//! tests, which start demo networks with it.

use std::path::Path;
use std::process::{Command, Output};

fn kp_dev(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kp-dev")).args(args).current_dir(dir).output().expect("run kp-dev")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_devnet_is_a_node_folder_that_kp_dev_node_opens_as_kp_node_would() {
    let dir = tempfile::tempdir().unwrap();
    let out = kp_dev(&["devnet", "--dir", "net"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let data = dir.path().join("net/node");
    for file in ["roster.json", "keys/chair.json", "keys/monitor-MT-CF.json", "keys/authority-CF.json"] {
        assert!(data.join(file).is_file(), "devnet lacks {file}");
    }
    assert!(dir.path().join("net/licensees/cf-miner.json").is_file());
    // `kp-dev node ARGS` is `kp-node ARGS`: it opens the store with the
    // devnet's roster and checks it.
    let out = kp_dev(&["node", "check", "--data", "net/node"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    // A folder it did not make is not replaced.
    std::fs::create_dir_all(dir.path().join("mine")).unwrap();
    std::fs::write(dir.path().join("mine/notes.txt"), "keep").unwrap();
    let out = kp_dev(&["devnet", "--dir", "mine"], dir.path());
    assert!(!out.status.success(), "replaced a folder the demo did not make");
    assert_eq!(std::fs::read_to_string(dir.path().join("mine/notes.txt")).unwrap(), "keep");
}

#[test]
fn kp_dev_node_answers_as_kp_node_including_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = kp_dev(&["node", "--help"], dir.path());
    assert!(out.status.success());
    assert!(text(&out).contains("kp-node"), "{}", text(&out));
    let out = kp_dev(&["node", "check", "--data", "nowhere"], dir.path());
    assert!(!out.status.success(), "a check of no store must fail: {}", text(&out));
}
