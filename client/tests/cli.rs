//! The `kp` binary as people and scripts meet it, without a node: exit
//! codes, messages and key files.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

/// Nothing listens on the discard port of loopback here, so a connection is
/// refused at once.
const DEAD_NODE: &str = "http://127.0.0.1:9";

fn kp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kp"))
        .args(args)
        .env_remove("KP_NODE")
        .env_remove("KP_KEY")
        .env_remove("KP_COOKIE")
        .output()
        .expect("run kp")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn keygen(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(name);
    let out = kp(&["keygen", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (path, stdout(&out).trim().to_string())
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let (path, public) = keygen(dir.path(), "miner.key");
    assert_eq!(public.len(), 64, "{public}");
    assert!(public.bytes().all(|b| b.is_ascii_hexdigit()));

    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["public"], public.as_str());
    assert_eq!(json["secret"].as_str().unwrap().len(), 64);

    let before = std::fs::read(&path).unwrap();
    let again = kp(&["keygen", "--out", path.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    let err = stderr(&again);
    assert!(err.starts_with("error: client.key_file: "), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let json_out = kp(&["--json", "keygen", "--out", dir.path().join("other.key").to_str().unwrap()]);
    assert!(json_out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["public"].as_str().unwrap().len(), 64);
}

#[test]
fn weight_with_three_decimals_is_refused_as_bad_input() {
    let out = kp(&[
        "--node",
        DEAD_NODE,
        "produce",
        "--lot",
        "CF/BER/1",
        "--site",
        "Pit 3",
        "--weight",
        "1.234",
        "--stones",
        "3",
        "--date",
        "2017-10-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("weight `1.234` has more than two decimals"), "{err}");

    let out = kp(&["transfer", "--in", "A=1.234", "--out", "B=1@00", "--date", "2017-10-01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("more than two decimals"));

    let out =
        kp(&["export", "--cert", "CF-1", "--to", "EU", "--consignee", "X", "--in", "A=1", "--hs", "7102.31=1@9.999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("value `9.999` has more than two decimals"), "{}", stderr(&out));
}

#[test]
fn bad_dates_and_keys_are_bad_input() {
    let out = kp(&[
        "zone",
        "declare",
        "--participant",
        "CF",
        "--zone",
        "BER",
        "--name",
        "Berberati",
        "--status",
        "compliant",
        "--effective",
        "2017-02-30",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a YYYY-MM-DD calendar date"));

    let out = kp(&["licensee", "show", "abcd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a public key"));
}

#[test]
fn unreachable_node_exits_3() {
    let out = kp(&["--node", DEAD_NODE, "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("error: client.unreachable: "), "{err}");
    assert!(err.contains("127.0.0.1:9"), "{err}");

    // A record needs the network id from the node first.
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "miner.key");
    let out = kp(&[
        "--node",
        DEAD_NODE,
        "--key",
        key.to_str().unwrap(),
        "produce",
        "--lot",
        "CF/BER/1",
        "--site",
        "Pit 3",
        "--zone",
        "BER",
        "--weight",
        "12.34",
        "--stones",
        "3",
        "--date",
        "2017-10-01",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));

    // Through the environment too.
    let out = Command::new(env!("CARGO_BIN_EXE_kp"))
        .args(["trail", "cert", "CF-000001"])
        .env("KP_NODE", DEAD_NODE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn missing_key_or_cookie_is_bad_input_before_any_request() {
    let out =
        kp(&["--node", DEAD_NODE, "lab", "--lot", "L", "--report-hash", &"ab".repeat(32), "--finding", "natural"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--key FILE"), "{}", stderr(&out));

    let out = kp(&["--node", DEAD_NODE, "governance", "suspend", "CF"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--cookie FILE"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.key");
    std::fs::write(&broken, "{}").unwrap();
    let out = kp(&[
        "--node",
        DEAD_NODE,
        "--key",
        broken.to_str().unwrap(),
        "produce",
        "--lot",
        "L",
        "--site",
        "S",
        "--weight",
        "1",
        "--stones",
        "1",
        "--date",
        "2017-10-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a key file"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(kp(&[]).status.code(), Some(2));
    let out = kp(&["trail", "lot", "CF", "L", "--dot", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be used with"), "{}", stderr(&out));
    let out = kp(&["attest", "--kind", "hold", "--note", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--lot"), "{}", stderr(&out));
    let out = kp(&["attest", "--lot", "CF/L", "--cert", "CF-1", "--kind", "hold", "--note", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("'--lot <PARTICIPANT/LOT>' cannot be used with '--cert <NUMBER>'"),
        "{}",
        stderr(&out)
    );
    let hash = "ab".repeat(32);
    let out = kp(&[
        "produce",
        "--lot",
        "L",
        "--site",
        "S",
        "--zone-status",
        &hash,
        "--weight",
        "1",
        "--stones",
        "1",
        "--date",
        "2017-10-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--zone"), "{}", stderr(&out));
    let out = kp(&["lab", "--lot", "L", "--report-hash", &hash, "--report", "f", "--finding", "natural"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be used with"), "{}", stderr(&out));
}

#[test]
fn well_formed_commands_get_as_far_as_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keygen(dir.path(), "k.key");
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, "token\n").unwrap();
    let (key, cookie) = (key.to_str().unwrap(), cookie.to_str().unwrap());
    let hash = "ab".repeat(32);
    let out_lot = format!("B=1.5@{public}");
    let commands: Vec<Vec<&str>> = vec![
        vec!["--key", key, "lab", "--lot", "L", "--report-hash", &hash, "--finding", "synthetic"],
        vec!["--key", key, "transfer", "--in", "A=1", "C=0.5", "--out", &out_lot, "--date", "2017-10-01"],
        vec![
            "--key",
            key,
            "export",
            "--cert",
            "CF-1",
            "--to",
            "EU",
            "--consignee",
            "X",
            "--in",
            "A=1",
            "--hs",
            "7102.31=1@100",
            "--parcels",
            "1",
            "--issued",
            "2017-10-01",
            "--expires",
            "2017-12-01",
        ],
        vec!["--cookie", cookie, "attest", "--lot", "CF/CF/BER/1", "--kind", "forged-certificate", "--note", "x"],
        vec![
            "--cookie", cookie, "licensee", "register", "--key-of", &public, "--name", "Mine", "--role", "miner",
            "--role", "trader", "--as", "CF",
        ],
        vec![
            "--cookie",
            cookie,
            "import",
            "confirm",
            "--cert",
            "CF-1",
            "--weight",
            "1",
            "--parcels",
            "1",
            "--lot",
            "EU/1",
            "--holder",
            &public,
            "--date",
            "2017-10-02",
        ],
        vec!["--cookie", cookie, "governance", "suspend", "CF", "--reason", "r"],
        vec!["log", "CF", "--from", "2", "--limit", "10"],
        vec!["zones", "--participant", "CF"],
        vec!["trail", "lot", "CF", "CF/BER/1", "--dot", "--today", "2018-01-01"],
    ];
    for args in commands {
        let mut full = vec!["--node", DEAD_NODE];
        full.extend(args.iter().copied());
        let out = kp(&full);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_lists_the_exit_codes() {
    let out = kp(&["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for line in [
        "Exit codes:",
        "0  success",
        "1  refused by a ledger rule",
        "2  bad input or usage",
        "3  node unreachable",
        "4  not found",
    ] {
        assert!(help.contains(line), "missing `{line}` in:\n{help}");
    }
    for cmd in ["keygen", "produce", "transfer", "export", "trail", "governance"] {
        assert!(help.contains(cmd), "missing `{cmd}`");
    }
}
